"""Validation of the values a change carries; errors name the field.

Shared by the service (code callers) and, through it, the control API and
the command line, so every entry point refuses the same things.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from maintguard.core.operations import OperationType
from maintguard.core.state import Mode
from maintguard.exceptions import ValidationError

MAX_REASON = 500
MAX_MESSAGE = 2000
#: Durations beyond this are a typo, not a plan (30 days).
MAX_DURATION = 30 * 86400.0


#: Longest actor name every store keeps (SQL columns are VARCHAR(255)).
MAX_ACTOR = 255


def _check_text(value: str, field: str) -> None:
    # NUL cannot be stored by PostgreSQL; refuse it everywhere alike.
    if "\x00" in value:
        raise ValidationError(f"{field} must not contain NUL characters", field)
    if not _is_utf8(value):
        raise ValidationError(f"{field} must be valid Unicode text", field)


def _is_utf8(text: str) -> bool:
    """False for lone surrogates (JSON's "\\ud83d" alone), which no store or
    answer can encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_reason(reason: object, field: str = "reason") -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError(f"{field} must be a non-empty string", field)
    if len(reason) > MAX_REASON:
        raise ValidationError(f"{field} must be at most {MAX_REASON} characters", field)
    _check_text(reason, field)
    return reason.strip()


def validate_actor(actor: object) -> str:
    """The name recorded in the audit trail (``system`` when unnamed)."""
    if actor is None:
        return "system"
    if not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR:
        raise ValidationError(f"the actor must be 1 to {MAX_ACTOR} characters", "actor")
    if not actor.isprintable():
        raise ValidationError("the actor must not contain control characters", "actor")
    _check_text(actor, "actor")
    return actor.strip()


def validate_message(message: object) -> str | None:
    if message is None:
        return None
    if not isinstance(message, str) or not message.strip():
        raise ValidationError("message must be a non-empty string", "message")
    if len(message) > MAX_MESSAGE:
        raise ValidationError(f"message must be at most {MAX_MESSAGE} characters", "message")
    _check_text(message, "message")
    return message.strip()


def validate_duration(value: object, field: str = "duration") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{field} must be a number of seconds", field)
    try:
        seconds = float(value)
    except OverflowError:  # an integer too large for a float
        raise ValidationError(
            f"{field} must be between 0 and {MAX_DURATION:g} seconds", field
        ) from None
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_DURATION:
        raise ValidationError(f"{field} must be between 0 and {MAX_DURATION:g} seconds", field)
    return seconds


def validate_future(value: datetime | None, field: str, now: datetime) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(f"{field} must be a time with a UTC offset", field)
    if value <= now:
        raise ValidationError(f"{field} must be in the future", field)
    if value - now > timedelta(days=366):
        raise ValidationError(f"{field} must be within a year", field)
    return value.astimezone(timezone.utc)


def validate_operations(values: object) -> frozenset[OperationType] | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError("operations must be a list of operation types", "operations")
    found: set[OperationType] = set()
    for value in values:
        if not isinstance(value, str):
            raise ValidationError("operations must be a list of operation types", "operations")
        operation = OperationType.get(value)
        if operation is None:
            raise ValidationError(f"unknown operation type {value[:64]!r}", "operations")
        found.add(operation)
    if not found:
        raise ValidationError("operations must not be empty", "operations")
    return frozenset(found)


def validate_mode(value: object) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise ValidationError("mode must be one of normal, emergency, test", "mode") from None
