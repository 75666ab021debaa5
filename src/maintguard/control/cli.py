"""The ``maintguard`` command (also ``python -m maintguard``).

``maintguard VERB [options]``: ``status``, ``enable``, ``emergency``,
``disable``, ``schedule``, ``audit``, ``init-db``, ``explain``,
``lint-rules``. The state lives in the store every worker reads, so a change
made here is seen by every running instance within its refresh interval.

Side effects (ending sessions, stopping jobs, notifications) run where a
change is made. With ``--app module:attr`` the command loads the
application's configured ``MaintenanceService`` and runs them; without it,
only the state changes, and the command says so.

Exit status: 0 on success, 1 when the operation failed (store, conflict,
rule problems), 2 for wrong arguments, configuration or input, 130 when
interrupted. A failure prints exactly one line on stderr, never a traceback,
and never a password.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn, TextIO, cast
from urllib.parse import urlsplit

from maintguard import __version__
from maintguard.control.status import MaintenanceStatus
from maintguard.core.classifier import OperationClassifier
from maintguard.core.decision import RequestInfo
from maintguard.core.state import AuditRecord, Mode, format_time, parse_time
from maintguard.exceptions import (
    ConfigurationError,
    ConflictError,
    MaintGuardError,
    StoreError,
    ValidationError,
)
from maintguard.logs import redact
from maintguard.service import MaintenanceService
from maintguard.settings import Settings
from maintguard.stores import store_from_url

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_NO_SIDE_EFFECTS = (
    "note: no side effects ran (sessions, jobs, notifications): "
    "pass --app module:service to run them"
)
#: ``scheme://user:password@`` anywhere in a message.


class CLIError(Exception):
    """A failure to report in one line, with the exit status to use."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other failure."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see {self.prog} --help)", EXIT_USAGE)


# ------------------------------------------------------------------ arguments


def _time(value: str) -> datetime:
    try:
        return parse_time(value, "time")
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(f"{value[:64]!r}: {exc}") from None


def _operations(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError("operations are names separated by commas")
    return names


def _limit(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 1000:
        raise argparse.ArgumentTypeError("limit must be an integer between 1 and 1000")
    return int(value)


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # The options are accepted before and after the verb; the verb's copy
    # must not overwrite a value given before it, hence SUPPRESS there.
    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--store",
        metavar="URL",
        default=default(None),
        help="the shared state store (default: MAINTENANCE_STORE_URL)",
    )
    parser.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        default=default(None),
        help="the application's MaintenanceService (or a callable returning one); "
        "its side effects and rules apply",
    )
    parser.add_argument("--json", action="store_true", default=default(False), help="print JSON")
    parser.add_argument(
        "--actor",
        metavar="NAME",
        default=default(None),
        help="who acts, for the audit trail (default: cli:$USER)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="maintguard",
        description="Put an application into maintenance mode, and see what it blocks.",
    )
    parser.add_argument("--version", action="version", version=f"maintguard {__version__}")
    _common(parser, top=True)
    common = _Parser(add_help=False)
    _common(common, top=False)
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, parents=[common], help=help, description=help)

    verb("status", "show the maintenance status")
    enable = verb("enable", "switch maintenance on (or update the one in force)")
    enable.add_argument("--reason", required=True)
    enable.add_argument("--duration", type=float, metavar="S", help="estimate, seconds")
    enable.add_argument("--mode", choices=("normal", "emergency", "test"), default="normal")
    enable.add_argument("--message", help="what users see (default: the reason)")
    enable.add_argument("--ends-at", type=_time, metavar="T", help="ISO-8601 with offset")
    enable.add_argument(
        "--operations", type=_operations, metavar="A,B", help="block only these types"
    )
    enable.add_argument(
        "--force", action="store_true", help="allow downgrading an emergency to this mode"
    )
    emergency = verb("emergency", "emergency maintenance: block everything but admins")
    emergency.add_argument("--reason", required=True)
    emergency.add_argument("--message", help="what users see (default: the reason)")
    emergency.add_argument("--duration", type=float, metavar="S", help="estimate, seconds")
    emergency.add_argument(
        "--no-terminate-jobs",
        dest="terminate_jobs",
        action="store_false",
        help="leave running jobs alone",
    )
    emergency.add_argument("--grace-period", type=float, metavar="S")
    disable = verb("disable", "switch maintenance off")
    disable.add_argument(
        "--force",
        action="store_true",
        help="also drop a scheduled window, and replace a corrupt stored state",
    )
    schedule = verb("schedule", "plan a maintenance window, or cancel it")
    schedule.add_argument("--reason")
    schedule.add_argument("--starts-at", type=_time, metavar="T")
    schedule.add_argument("--ends-at", type=_time, metavar="T")
    schedule.add_argument("--mode", choices=("normal", "emergency", "test"), default="normal")
    schedule.add_argument("--message")
    schedule.add_argument("--cancel", action="store_true", help="cancel the scheduled window")
    audit = verb("audit", "show the audit trail, newest first")
    audit.add_argument("--limit", type=_limit, default=20)
    verb("init-db", "create the store's tables (SQL stores; idempotent)")
    explain = verb("explain", "say what maintguard does with a request, and why")
    explain.add_argument("method")
    explain.add_argument("path")
    verb("lint-rules", "check the classification rules for mistakes")
    return parser


# -------------------------------------------------------------------- service


class _Session:
    """The service a command works with, and whether it is the app's own."""

    def __init__(self, service: MaintenanceService, from_app: bool, label: str) -> None:
        self.service = service
        self.from_app = from_app
        self.label = label

    def settle(self, err: TextIO) -> None:
        """Wait for side effects; without the app's service, say none ran."""
        service = self.service
        if not self.from_app:
            print(f"maintguard: {_NO_SIDE_EFFECTS}", file=err)
            return
        service.effects.wait()
        if service.events.listeners:
            service.events.drain(timeout=30.0)


def _store_url(args: argparse.Namespace) -> str:
    url = args.store or os.environ.get("MAINTENANCE_STORE_URL", "").strip()
    if not url:
        raise CLIError(
            "no store: pass --store URL or set MAINTENANCE_STORE_URL "
            "(an in-memory store would live and die with this command)",
            EXIT_USAGE,
        )
    if url.split("://", 1)[0].lower() == "memory":
        raise CLIError(
            "memory:// lives inside one process, so no application would see this "
            "command's change: pass the store the application uses",
            EXIT_USAGE,
        )
    return str(url)


def _session(args: argparse.Namespace) -> _Session:
    if args.app:
        if args.store:
            raise CLIError(
                "--store and --app exclude each other: the app's service brings its store",
                EXIT_USAGE,
            )
        service = import_service(args.app)
        if service.store.name == "memory":
            raise CLIError(
                f"--app {args.app!r} keeps its state in memory, inside the application's own "
                "process: configure a shared store (MAINTENANCE_STORE_URL) to use this command",
                EXIT_USAGE,
            )
        return _Session(service, True, args.app)
    url = _store_url(args)
    settings = Settings.from_env()
    service = MaintenanceService(store_from_url(url), settings=settings)
    return _Session(service, False, redact(url))


def import_service(spec: str) -> MaintenanceService:
    """The ``MaintenanceService`` that ``module:attr`` names (or returns)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CLIError("--app must be module:attribute, such as myapp.maint:service", EXIT_USAGE)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: the project's own modules
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise CLIError(f"cannot import --app module {module_name!r}: {exc}", EXIT_USAGE) from None
    except MaintGuardError:
        raise
    except Exception as exc:
        raise CLIError(
            f"importing --app module {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise CLIError(f"--app: {module_name!r} has no attribute {attribute!r}", EXIT_USAGE)
        target = getattr(target, part)
    if not isinstance(target, MaintenanceService) and callable(target):
        try:
            target = target()
        except MaintGuardError:
            raise
        except Exception as exc:
            raise CLIError(f"--app {spec!r} failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(target, MaintenanceService):
        raise CLIError(
            f"--app {spec!r} is neither a MaintenanceService nor a callable returning one",
            EXIT_USAGE,
        )
    return target


def _actor(args: argparse.Namespace) -> str:
    """``--actor``, else ``cli:$USER`` (the service validates either)."""
    if args.actor is not None:
        if not str(args.actor).isprintable():
            # The audit trail is read line by line: no line breaks or controls.
            raise CLIError("--actor must be printable text on one line", EXIT_USAGE)
        return str(args.actor)
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"cli:{user}"


def _checked_view(session: _Session) -> None:
    """Read the store now; an outage is an error here, not a stale answer."""
    service = session.service
    service.view()
    snapshot = service.snapshot
    if not snapshot.healthy:
        raise StoreError(snapshot.last_error or f"the {service.store.name} store is unavailable")


# -------------------------------------------------------------------- output


def _show_status(status: MaintenanceStatus, as_json: bool, out: TextIO) -> None:
    data = status.to_dict()
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False), file=out)
        return
    rows: list[tuple[str, object]] = [
        ("maintenance", f"ON ({data['mode']})" if data["is_active"] else "off"),
    ]
    if data["is_active"]:
        rows += [
            ("reason", data["reason"]),
            ("message", data["message"]),
            ("started at", data["started_at"]),
            ("estimated completion", data["estimated_completion"]),
            ("ends at", data["ends_at"]),
            ("enabled by", data["enabled_by"]),
            ("blocks", ", ".join(data["blocked_operations"]) or "nothing"),
        ]
        if data["progress"]:
            rows.append(("side effects", json.dumps(data["progress"], sort_keys=True)))
    upcoming = data["upcoming"]
    if upcoming is not None:
        until = f" until {upcoming['ends_at']}" if upcoming["ends_at"] else ""
        rows.append(
            (
                "scheduled",
                f"{upcoming['mode']} from {upcoming['starts_at']}{until}: {upcoming['reason']}",
            )
        )
    if data["override"]:
        rows.append(("override", data["override"]))
    rows.append(("store", f"{data['store']} (version {data['version']})"))
    for label, value in rows:
        if value is not None:
            print(f"{label + ':':<22}{value}", file=out)


def _show_audit(records: list[AuditRecord], as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps({"records": [r.to_dict() for r in records]}, indent=2), file=out)
        return
    if not records:
        print("no audit records", file=out)
    for record in records:
        mode = record.mode.value if record.mode is not None else "-"
        reason = json.dumps(record.reason, ensure_ascii=False) if record.reason else ""
        print(
            f"{format_time(record.at)}  v{record.version:<5} {record.action:<16} {mode:<9} "
            f"{_printable(record.actor)}  {reason}".rstrip(),
            file=out,
        )


def _printable(text: str) -> str:
    """``text``, quoted and escaped when it holds line breaks or controls."""
    return text if text.isprintable() else json.dumps(text)


# ---------------------------------------------------------------------- verbs

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def _status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    session = _session(args)
    try:
        _checked_view(session)
        _show_status(session.service.get_maintenance_status(), args.json, out)
    finally:
        session.service.close()
    return EXIT_OK


def _change(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    make: Callable[[MaintenanceService, str], MaintenanceStatus],
) -> int:
    """Make one change as ``--actor``, let its side effects settle, show the status."""
    actor = _actor(args)
    session = _session(args)
    service = session.service
    try:
        status = make(service, actor)
        session.settle(err)
        _show_status(
            service.get_maintenance_status() if session.from_app else status, args.json, out
        )
    finally:
        service.close()
    return EXIT_OK


def _enable(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.mode == "emergency" and (args.ends_at or args.operations):
        raise CLIError("--ends-at and --operations do not apply to an emergency", EXIT_USAGE)
    return _change(
        args,
        out,
        err,
        lambda service, actor: service.enable_maintenance(
            args.reason,
            duration=args.duration,
            mode=args.mode,
            enabled_by=actor,
            message=args.message,
            ends_at=args.ends_at,
            operations=args.operations,
            force=args.force,
        ),
    )


def _emergency(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return _change(
        args,
        out,
        err,
        lambda service, actor: service.enable_emergency(
            args.reason,
            terminate_jobs=args.terminate_jobs,
            grace_period=args.grace_period,
            enabled_by=actor,
            message=args.message,
            duration=args.duration,
            background=False,  # this process ends soon: run sessions and jobs now
        ),
    )


def _disable(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return _change(
        args, out, err, lambda service, actor: service.disable_maintenance(actor, force=args.force)
    )


def _schedule(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    given = [name for name in ("reason", "starts_at", "ends_at", "message") if getattr(args, name)]
    if args.cancel and given:
        raise CLIError("--cancel takes no window options", EXIT_USAGE)
    if not args.cancel and (args.reason is None or args.starts_at is None):
        raise CLIError("schedule needs --reason and --starts-at (or --cancel)", EXIT_USAGE)
    if args.cancel:
        return _change(args, out, err, lambda service, actor: service.cancel_schedule(actor))
    return _change(
        args,
        out,
        err,
        lambda service, actor: service.schedule_maintenance(
            args.reason,
            args.starts_at,
            ends_at=args.ends_at,
            mode=args.mode,
            message=args.message,
            scheduled_by=actor,
        ),
    )


def _audit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    session = _session(args)
    try:
        _show_audit(session.service.get_audit_log(args.limit), args.json, out)
    finally:
        session.service.close()
    return EXIT_OK


def _init_db(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    session = _session(args)
    store = session.service.store
    try:
        create_schema = getattr(store, "create_schema", None)
        if create_schema is None:
            print(f"the {store.name} store needs no schema: nothing to do", file=out)
            return EXIT_OK
        create_schema()
        print(f"schema ready ({session.label})", file=out)
    finally:
        session.service.close()
    return EXIT_OK


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    method = args.method.upper()
    path = args.path.split("?", 1)[0]
    if not method.isalpha() or not path.startswith("/"):
        raise CLIError("explain takes a METHOD and a PATH starting with '/'", EXIT_USAGE)
    if not args.app and not (args.store or os.environ.get("MAINTENANCE_STORE_URL", "").strip()):
        return _explain_every_mode(method, path, args.json, out)
    session = _session(args)
    try:
        _checked_view(session)
        decision = session.service.decide(RequestInfo(method=method, path=path))
    finally:
        session.service.close()
    if args.json:
        data = {
            "action": decision.action.value,
            "operation": decision.operation.name,
            "mode": decision.mode.value if decision.mode is not None else None,
            "why": decision.why,
            "explanation": decision.explain(),
        }
        print(json.dumps(data, indent=2, ensure_ascii=False), file=out)
    else:
        print(decision.explain(), file=out)
    return EXIT_OK


def _explain_every_mode(method: str, path: str, as_json: bool, out: TextIO) -> int:
    """Without a store there is no current state: explain the request under
    each mode in turn, with the default rules, on a throwaway service."""
    info = RequestInfo(method=method, path=path)
    decisions = []
    logger = logging.getLogger("maintguard")
    quiet, logger.disabled = logger.disabled, True  # its "activated" lines are no news here
    try:
        for mode in Mode:
            service = MaintenanceService(settings=Settings.from_env())
            service.enable_maintenance("explain", mode=mode)
            decisions.append((mode, service.decide(info)))
            service.close()
    finally:
        logger.disabled = quiet
    if as_json:
        data = {
            mode.value: {
                "action": decision.action.value,
                "operation": decision.operation.name,
                "why": decision.why,
                "explanation": decision.explain(),
            }
            for mode, decision in decisions
        }
        print(json.dumps(data, indent=2, ensure_ascii=False), file=out)
    else:
        for mode, decision in decisions:
            print(f"if {mode.value}: {decision.explain()}", file=out)
    return EXIT_OK


def _lint_rules(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    lint = _lint_function()
    classifier = import_service(args.app).classifier if args.app else OperationClassifier()
    problems = list(lint(classifier))
    for problem in problems:
        print(problem, file=out)
    if problems:
        raise CLIError(f"{len(problems)} problem(s) in the classification rules", EXIT_FAILED)
    print(f"{len(classifier.rules)} rules, no problems", file=out)
    return EXIT_OK


def _lint_function() -> Callable[[OperationClassifier], Sequence[str]]:
    try:
        module = importlib.import_module("maintguard.testing")
    except ModuleNotFoundError as exc:
        if exc.name in ("maintguard.testing", None):
            raise CLIError("lint-rules needs maintguard.testing, which is not installed") from None
        raise CLIError(
            f"lint-rules needs {exc.name!r}: pip install 'maintguard[testing]'"
        ) from None
    return cast("Callable[[OperationClassifier], Sequence[str]]", module.lint_rules)


_VERBS: dict[str, Handler] = {
    "status": _status,
    "enable": _enable,
    "emergency": _emergency,
    "disable": _disable,
    "schedule": _schedule,
    "audit": _audit,
    "init-db": _init_db,
    "explain": _explain,
    "lint-rules": _lint_rules,
}


# ----------------------------------------------------------------------- main


def _one_line(message: str, secrets: Sequence[str]) -> str:
    return " ".join(redact(message, secrets).split())[:1000]


def _secrets(argv: Sequence[str]) -> list[str]:
    """Passwords the command line or environment hold, to keep out of messages."""
    urls = [os.environ.get("MAINTENANCE_STORE_URL", ""), *argv]
    found: list[str] = []
    for url in urls:
        url = url.split("=", 1)[-1] if url.startswith("--") else url  # --store=URL
        try:
            password = urlsplit(url).password if "://" in url else None
        except ValueError:
            password = None
        if password:
            found.append(password)
    return found


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run one command; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    # With nothing configured, Python would print maintguard's warnings on
    # stderr; the command's own output says what happened.
    library_logger = logging.getLogger("maintguard")
    if not any(isinstance(h, logging.NullHandler) for h in library_logger.handlers):
        library_logger.addHandler(logging.NullHandler())
    try:
        args = build_parser().parse_args(arguments)
        return _VERBS[args.verb](args, out, err)
    except CLIError as exc:
        message, code = str(exc), exc.code
    except ConflictError as exc:
        message = f"{exc} (the state is at version {exc.current_version})"
        code = EXIT_FAILED
        if "force" in str(exc):
            message = f"{exc} (pass --force)"
    except (ConfigurationError, ValidationError) as exc:
        message, code = str(exc), EXIT_USAGE
    except (StoreError, MaintGuardError) as exc:
        message, code = str(exc), EXIT_FAILED
    except KeyboardInterrupt:
        message, code = "interrupted", EXIT_INTERRUPTED
    except Exception as exc:  # never a traceback: one line, then a failure status
        message, code = f"unexpected error: {type(exc).__name__}: {exc}", EXIT_FAILED
    print(f"maintguard: error: {_one_line(message, _secrets(arguments))}", file=err)
    return code
