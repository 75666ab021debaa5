"""Exit statuses of the ``maintguard`` command, and the error that carries one.

Every part of the command raises ``CLIError`` for a failure it can name;
``main`` turns it (and the library's own errors) into one stderr line and
the status chosen here.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A failure to report in one line, with the exit status to use."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code
