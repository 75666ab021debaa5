"""``main``: run one ``maintguard`` command and report a failure in one line.

Parses the arguments, dispatches to the verb's handler, and turns any error
into exactly one stderr line (never a traceback, never a password) and the
exit status ``errors`` defines.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO
from urllib.parse import urlsplit

from maintguard.control.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CLIError,
)
from maintguard.control.cli.link_verbs import _bypass_link
from maintguard.control.cli.parser import build_parser
from maintguard.control.cli.rules_verbs import _explain, _lint_rules
from maintguard.control.cli.session import given_service
from maintguard.control.cli.state_verbs import (
    _audit,
    _disable,
    _emergency,
    _enable,
    _schedule,
    _status,
)
from maintguard.control.cli.store_verbs import _init_db
from maintguard.exceptions import (
    ConfigurationError,
    ConflictError,
    MaintGuardError,
    StoreError,
    ValidationError,
)
from maintguard.logs import redact
from maintguard.service import MaintenanceService

#: A verb's handler: the parsed arguments, stdout and stderr; returns the status.
Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]

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
    "bypass-link": _bypass_link,
}


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
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    service: MaintenanceService | None = None,
    label: str = "the application",
) -> int:
    """Run one command; returns the exit status. ``service`` is the
    application's own (a framework's command passes it): it stands for
    ``--app``, side effects included."""
    if service is not None:
        token = given_service.set((service, label))
        try:
            return main(argv, out=out, err=err)
        finally:
            given_service.reset(token)
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
