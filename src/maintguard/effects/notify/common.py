"""What both notifiers share: the header names, the error, the signature, checks.

``sign`` is public so that receivers (and tests) compute the signature the
webhook sends. ``_describe`` names an error by its kind only, because an
error's text may echo the webhook URL, whose path can be a token.
"""

from __future__ import annotations

import hashlib
import hmac
import math

from maintguard.exceptions import ConfigurationError, MaintGuardError

SIGNATURE_HEADER = "X-Maintguard-Signature"
EVENT_HEADER = "X-Maintguard-Event"


class NotificationError(MaintGuardError):
    """A notification could not be delivered (after its retries)."""


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``X-Maintguard-Signature`` value: ``sha256=`` + hex HMAC of the exact body."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _seconds(value: float, name: str, *, zero: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        kind = "non-negative" if zero else "positive"
        raise ConfigurationError(f"{name} must be a {kind} number")
    return float(value)


def _no_line_breaks(value: str, name: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise ConfigurationError(f"{name} must not contain line breaks")
    return value


def _describe(reason: object) -> str:
    """An error's kind, never its text (it may echo a URL)."""
    if isinstance(reason, OSError) and reason.strerror:
        return f"{type(reason).__name__}: {reason.strerror}"
    if isinstance(reason, BaseException):
        return type(reason).__name__
    return "unreachable"
