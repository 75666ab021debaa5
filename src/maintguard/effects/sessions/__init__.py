"""Ending sessions when maintenance starts, keeping administrators' sessions.

A ``SessionInvalidator`` deletes the sessions of everyone but administrators
and reports what it did as an ``InvalidationReport``. It never raises a
client-library error: an outage half-way returns ``complete=False`` with the
counts so far, and running it again finishes the job (it is idempotent and
never touches an administrator's session).

Session payloads are read by a chain of decoders (JSON, then Flask-Session's
msgpack). Nothing is ever unpickled: a pickled payload — and anything else the
chain cannot read — is not an administrator's, so it is invalidated. Session
ids are secrets: no log line carries a key, an id or a payload, only counts
(and, at DEBUG, a short one-way fingerprint of the key).

This module holds the ``SessionInvalidator`` protocol and the adapter for an
application's own function; ``payloads`` holds the report, the decoders and
what the stores share; ``redis`` and ``sql`` hold one store each.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Protocol

import attrs

from maintguard.effects.sessions.payloads import (
    DEFAULT_DECODERS,
    REASON,
    AdminPredicate,
    InvalidationReport,
    SessionDecoder,
    decode_json,
    decode_msgpack,
    decode_session,
    default_is_admin,
    fingerprint,
    is_pickle,
)
from maintguard.effects.sessions.redis import RedisSessionInvalidator
from maintguard.effects.sessions.sql import SQLSessionInvalidator
from maintguard.exceptions import ConfigurationError
from maintguard.logs import maintenance as log_line

__all__ = [
    "DEFAULT_DECODERS",
    "REASON",
    "AdminPredicate",
    "CallableSessionInvalidator",
    "InvalidationReport",
    "RedisSessionInvalidator",
    "SQLSessionInvalidator",
    "SessionDecoder",
    "SessionInvalidator",
    "decode_json",
    "decode_msgpack",
    "decode_session",
    "default_is_admin",
    "fingerprint",
    "is_pickle",
]


class SessionInvalidator(Protocol):
    """Ends non-admin sessions; ``dry_run`` only counts (test mode)."""

    def invalidate(
        self, keep_admins: bool = True, *, dry_run: bool = False
    ) -> InvalidationReport: ...


class CallableSessionInvalidator:
    """Adapts the application's own function.

    ``func(keep_admins, dry_run=...)``, ``func(keep_admins)`` or ``func()``
    — whichever its signature takes — returning the number of sessions ended
    (None counts as 0) or an ``InvalidationReport``. A function without a
    ``dry_run`` parameter is not called in a dry run (it could not simulate);
    the report then says ``complete=False``. A function that raises is logged
    (by exception type) and reported ``complete=False``.
    """

    def __init__(self, func: Callable[..., int | InvalidationReport | None]) -> None:
        if not callable(func):
            raise ConfigurationError("CallableSessionInvalidator needs a callable")
        self.func = func
        self._style = _call_style(func)

    def __repr__(self) -> str:
        return f"CallableSessionInvalidator({getattr(self.func, '__name__', self.func)!r})"

    def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> InvalidationReport:
        if dry_run and self._style != "both":
            log_line("Session invalidation not simulated", reason="the callable takes no dry_run")
            return InvalidationReport(0, 0, 0, complete=False, simulated=True)
        try:
            if self._style == "both":
                result = self.func(keep_admins, dry_run=dry_run)
            elif self._style == "one":
                result = self.func(keep_admins)
            else:
                result = self.func()
        except Exception as exc:
            log_line("Session invalidation failed", logging.ERROR, error=type(exc).__name__)
            return InvalidationReport(0, 0, 0, complete=False, simulated=dry_run)
        if isinstance(result, InvalidationReport):
            return attrs.evolve(result, simulated=result.simulated or dry_run)
        if result is None:
            result = 0
        if isinstance(result, bool) or not isinstance(result, int) or result < 0:
            log_line(
                "Session invalidation failed",
                logging.ERROR,
                error=f"the callable returned {type(result).__name__}, not a count",
            )
            return InvalidationReport(0, 0, 0, complete=False, simulated=dry_run)
        return InvalidationReport(result, 0, 0, complete=True, simulated=dry_run)


def _call_style(func: Callable[..., object]) -> str:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return "one"  # builtins without a signature: the documented one-argument form
    for style, args, kwargs in (
        ("both", (True,), {"dry_run": False}),
        ("one", (True,), {}),
        ("none", (), {}),
    ):
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            continue
        return style
    raise ConfigurationError(
        "the session callable must accept (keep_admins, dry_run=...), (keep_admins) or ()"
    )
