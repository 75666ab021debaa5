"""Request bodies of the control API: decoding them and checking their fields.

A body is a JSON object, sent as ``application/json``, without a
Content-Type, or as ``application/x-www-form-urlencoded`` (curl's default for
``-d``). This module turns the raw bytes into that object and checks the
names and JSON types of its fields; the values are the service's to judge.
Everything here raises ``ValidationError`` (a 400) or ``Unsupported`` (a
415) and never touches the service, so a rejected body changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from maintguard.core.state import Mode
from maintguard.exceptions import ValidationError

# Fields each body may carry, with their JSON types (validated again by the service).
_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "enable": {
        "reason": (str,),
        "duration": (int, float),
        "mode": (str,),
        "message": (str,),
        "ends_at": (str,),
        "operations": (list,),
        "expected_version": (int,),
        "force": (bool,),
        "notify": (bool,),
    },
    "emergency": {
        "reason": (str,),
        "message": (str,),
        "duration": (int, float),
        "terminate_jobs": (bool,),
        "grace_period": (int, float),
        "expected_version": (int,),
        "notify": (bool,),
    },
    "disable": {"expected_version": (int,), "force": (bool,), "notify": (bool,)},
    "schedule:POST": {
        "reason": (str,),
        "starts_at": (str,),
        "ends_at": (str,),
        "mode": (str,),
        "message": (str,),
        "operations": (list,),
        "expected_version": (int,),
        "notify": (bool,),
    },
    "schedule:DELETE": {"expected_version": (int,)},
    "bypass": {},
}
_MODES = frozenset(m.value for m in Mode)
_REQUIRED = {
    "enable": ("reason",),
    "emergency": ("reason",),
    "schedule:POST": ("reason", "starts_at"),
}
#: ``enable`` fields an emergency cannot honour: it never ends by itself and
#: blocks everything, so accepting them would silently drop them.
_NOT_IN_EMERGENCY = ("ends_at", "operations")

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}


class Unsupported(Exception):
    """A form body that is not a JSON object: 415."""


def media_type(content_type: str | None) -> str | None:
    """The lower-case media type of a Content-Type header, without parameters."""
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def ascii_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _constant(name: str) -> float:
    # NaN and Infinity are not JSON, but Python's parser reads them; keep the
    # value so that the field check can name the field it was sent in.
    return float(name)


class _DuplicateField(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would otherwise keep its last value silently, and two
    # parsers in front of the API could disagree on which one counts.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateField(key[:64])
        result[key] = value
    return result


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """A JSON object from the body, by DESIGN.md's rules (see ``ControlAPI.route``)."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_constant=_constant, object_pairs_hook=_no_duplicates)
    except _DuplicateField as exc:
        raise ValidationError(f"duplicate field {exc.field!r}", exc.field) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        # A real form body (``a=1&b=2``) is the wrong type, not broken JSON.
        if media_type(content_type) == "application/x-www-form-urlencoded":
            raise Unsupported from None
        raise ValidationError("body is not valid JSON", None) from None
    if not isinstance(data, dict):
        if media_type(content_type) == "application/x-www-form-urlencoded":
            raise Unsupported
        raise ValidationError("body must be a JSON object", None)
    return data


def check_fields(key: str, data: Mapping[str, Any]) -> None:
    """Names and JSON types of a body's fields (values are the service's to judge).

    ``null`` is no value for any field: leave a field out to omit it.
    """
    allowed = _FIELDS[key]
    for name, value in data.items():
        if name not in allowed:
            raise ValidationError(f"unknown field {name[:64]!r}", name[:64])
        types = allowed[name]
        wanted = "a number" if float in types else _TYPE_NAMES[types[0]]
        # ``bool`` is an ``int`` to Python, but true is no number in JSON.
        if value is None or (isinstance(value, bool) and bool not in types):
            raise ValidationError(f"{name} must be {wanted}", name)
        if not isinstance(value, types):
            raise ValidationError(f"{name} must be {wanted}", name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"{name} must be a finite number", name)
        if name == "mode" and value not in _MODES:
            raise ValidationError("mode must be one of normal, emergency, test", "mode")
        if name == "expected_version" and isinstance(value, int) and value < 0:
            raise ValidationError("expected_version must not be negative", name)
    for name in _REQUIRED.get(key, ()):
        if name not in data:
            raise ValidationError(f"{name} is required", name)
    if key == "enable" and data.get("mode") == "emergency":
        for name in _NOT_IN_EMERGENCY:
            if name in data:
                raise ValidationError(f"{name} does not apply to an emergency", name)
