"""Which ``MaintenanceService`` a command works with, and as whom.

Either the application's own service (``--app module:attr``), which brings
its store, rules and side effects, or a bare service on ``--store`` /
``MAINTENANCE_STORE_URL`` that changes the state only. Also the ``--actor``
for the audit trail, and a read of the store that fails on an outage.
"""

from __future__ import annotations

import argparse
import contextvars
import getpass
import importlib
import os
import sys
from typing import Any, TextIO

from maintguard.config import Settings
from maintguard.control.cli.errors import EXIT_USAGE, CLIError
from maintguard.exceptions import MaintGuardError, StoreError
from maintguard.logs import redact
from maintguard.service import MaintenanceService
from maintguard.stores import store_from_url

_NO_SIDE_EFFECTS = (
    "note: no side effects ran (sessions, jobs, notifications): "
    "pass --app module:service to run them"
)


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


#: The application's service when a framework's command runs this CLI
#: (``flask maintguard``, ``manage.py maintguard``): it stands for ``--app``.
given_service: contextvars.ContextVar[tuple[MaintenanceService, str] | None] = (
    contextvars.ContextVar("given_service", default=None)
)


def _session(args: argparse.Namespace) -> _Session:
    given = given_service.get()
    if given is not None and not args.app and not args.store:
        service, label = given
        if service.store.name == "memory":
            raise CLIError(
                f"{label} keeps its state in memory, inside each server process: configure "
                "a shared store (MAINTENANCE_STORE_URL) to switch it from a command",
                EXIT_USAGE,
            )
        return _Session(service, True, label)
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
