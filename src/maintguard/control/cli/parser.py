"""The ``maintguard`` command's arguments: verbs, options and their checks.

Option values are checked while parsing (times, operation lists, limits), so
a wrong value is a usage error (exit 2) before any store is touched.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import NoReturn

from maintguard import __version__
from maintguard.control.cli.errors import EXIT_USAGE, CLIError
from maintguard.core.state import parse_time
from maintguard.exceptions import ValidationError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line like every other failure."""

    def error(self, message: str) -> NoReturn:
        raise CLIError(f"{message} (see {self.prog} --help)", EXIT_USAGE)


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
    link = verb("bypass-link", "print a one-time link that gives a browser the admin bypass cookie")
    link.add_argument(
        "--base-url", default="", metavar="URL", help="the site's address, e.g. https://example.com"
    )
    link.add_argument(
        "--lifetime", type=float, default=600.0, metavar="S", help="seconds it stays valid"
    )
    return parser
