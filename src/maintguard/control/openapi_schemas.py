"""Building blocks of the control API's OpenAPI document.

The schemas shared by several paths (status, error, health, the field
rules of the request bodies) and the helpers that wrap them into responses
and request bodies. :mod:`maintguard.control.openapi` assembles the paths
from these; keeping them apart lets a field rule be read, and changed, in
one place for every endpoint that takes it.
"""

from __future__ import annotations

from typing import Any

TIME = {"type": "string", "format": "date-time"}
FUTURE = {
    "type": "string",
    "format": "date-time",
    "description": "in the future (within a year), with an explicit UTC offset",
}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 2592000}
GRACE = {"type": "number", "minimum": 0, "maximum": 2592000}
REASON = {"type": "string", "minLength": 1, "maxLength": 500}
MESSAGE = {"type": "string", "minLength": 1, "maxLength": 2000}
MODE = {"type": "string", "enum": ["normal", "emergency", "test"]}
VERSION = {"type": "integer", "minimum": 0}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "current_version": {"type": "integer"},
    },
}

STATUS = {
    "type": "object",
    "required": [
        "is_active",
        "mode",
        "reason",
        "message",
        "estimated_duration",
        "started_at",
        "estimated_completion",
        "ends_at",
        "blocked_operations",
        "active_jobs_count",
        "upcoming",
        "store",
        "version",
    ],
    "properties": {
        "is_active": {"type": "boolean"},
        "mode": MODE,
        "reason": {"type": ["string", "null"]},
        "message": {"type": ["string", "null"]},
        "estimated_duration": {"type": ["number", "null"]},
        "started_at": NULLABLE_TIME,
        "estimated_completion": NULLABLE_TIME,
        "ends_at": NULLABLE_TIME,
        "blocked_operations": {"type": "array", "items": {"type": "string"}},
        "active_jobs_count": {"type": "integer", "minimum": 0},
        "upcoming": {
            "type": ["object", "null"],
            "properties": {
                "reason": {"type": "string"},
                "message": {"type": "string"},
                "mode": MODE,
                "starts_at": TIME,
                "ends_at": NULLABLE_TIME,
            },
        },
        "store": {"type": "string"},
        "version": VERSION,
        "enabled_by": {"type": ["string", "null"]},
        "operations": {"type": ["array", "null"], "items": {"type": "string"}},
        "progress": {"type": "object"},
        "override": {"type": ["string", "null"]},
    },
}


HEALTH = {
    "type": "object",
    "required": ["status", "components"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "components": {"type": "object"},
    },
}


def answer(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A JSON response with ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    """The error responses ``codes``, with the headers the API sends on 401 and 405."""
    text = {
        400: "invalid input (the body names the field)",
        401: "missing or invalid bearer token",
        404: "not available",
        405: "method not allowed",
        409: "version conflict, or an emergency that needs force",
        413: "body too large",
        415: "unsupported content type",
        503: "the state store is unavailable",
    }
    answers = {str(code): answer(ERROR, text[code]) for code in codes}
    for code, header, meaning in (
        (
            "401",
            "WWW-Authenticate",
            'Bearer realm="maintguard" (with error="invalid_token" when a token was sent)',
        ),
        ("405", "Allow", "the methods this path serves"),
    ):
        if code in answers:
            answers[code]["headers"] = {
                header: {"description": meaning, "required": True, "schema": {"type": "string"}}
            }
    return answers


_BODY_TYPES = (
    "A JSON object. Sent as application/json, without a Content-Type, or as "
    "application/x-www-form-urlencoded (curl's default) when the body is a JSON object; "
    "any other type is 415. A field may not be null: leave it out instead."
)


def request_body(
    properties: dict[str, Any],
    required: list[str],
    optional: bool = False,
    **rules: dict[str, Any],
) -> dict[str, Any]:
    """A JSON object body of exactly ``properties``; ``rules`` add schema keywords."""
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        **rules,
    }
    return {
        "required": not optional,
        "description": _BODY_TYPES,
        "content": {"application/json": {"schema": schema}},
    }


#: An emergency never ends by itself and blocks everything: ``enable`` with
#: mode emergency takes neither an end nor a list of operations.
EMERGENCY_RULE: dict[str, Any] = {
    "if": {"required": ["mode"], "properties": {"mode": {"const": "emergency"}}},
    "then": {"not": {"anyOf": [{"required": ["ends_at"]}, {"required": ["operations"]}]}},
}


WRITE_ERRORS = (400, 401, 405, 409, 413, 415, 503)
SECURED: list[dict[str, list[str]]] = [{"bearer": []}]
