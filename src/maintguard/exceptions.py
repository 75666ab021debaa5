"""maintguard's own exceptions.

Client-library errors (redis, SQLAlchemy, sockets) are wrapped in these so
that callers handle one family of errors, and so that no driver message that
might carry a URL with a password leaks into an answer.
"""

from __future__ import annotations

import importlib
from typing import Any


class MaintGuardError(Exception):
    """Base class of every error maintguard raises on purpose."""


class ConfigurationError(MaintGuardError, ValueError):
    """A setting is wrong; the message names the setting.

    Raised at start-up (construction, ``Settings.from_env``, rule
    registration), never on the request path.
    """


class MissingExtraError(ConfigurationError, ImportError):
    """An optional backend was asked for without its extra installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"this feature needs the optional dependency {module!r}: "
            f"install it with `pip install 'maintguard[{extra}]'`"
        )
        self.extra = extra


def import_extra(module: str, extra: str, *, package: str | None = None) -> Any:
    """Import an optional dependency, or say which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(extra, package or module) from None


class StoreError(MaintGuardError):
    """The state store could not be read or written (outage, timeout)."""


class CorruptStateError(StoreError):
    """The stored state could not be understood (corrupt or old format)."""


class DataRefusedError(StoreError):
    """The store answered but refused what was sent (a value its column or
    driver cannot hold): retrying the same data would fail forever."""


class StateMissingError(StoreError):
    """The store answers but holds no state record (a SQL row or table gone).

    Before any state was written it means "set the store up"; after a state
    was seen it is store loss, which the snapshot repairs.
    """


class ConflictError(MaintGuardError):
    """A change lost against the current state.

    ``current_version`` is the version the store holds now.
    """

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class ValidationError(MaintGuardError, ValueError):
    """An input value is invalid; ``field`` names it (for 400 answers)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
