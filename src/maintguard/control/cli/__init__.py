"""The ``maintguard`` command (also ``python -m maintguard``).

``maintguard VERB [options]``: ``status``, ``enable``, ``emergency``,
``disable``, ``schedule``, ``audit``, ``init-db``, ``explain``,
``lint-rules``, ``bypass-link``. The state lives in the store every worker reads, so a change
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

# The command is split by concern: errors (exit statuses), parser (argv),
# session (which service a command works with), output (how results print),
# one module per verb group, and app (main: dispatch and the one-line error
# report). This package only re-exports, so `maintguard.control.cli:main`
# (the console script) and every name imported from here keep working.
from maintguard.control.cli.app import Handler, main
from maintguard.control.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
)
from maintguard.control.cli.parser import build_parser
from maintguard.control.cli.session import import_service

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CLIError",
    "Handler",
    "build_parser",
    "import_service",
    "main",
]
