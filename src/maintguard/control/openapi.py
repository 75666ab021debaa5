"""The OpenAPI 3.1 description of the control API.

Kept true by the test suite, which fuzzes the running API from this
document (schemathesis) and checks every answer against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maintguard.core.operations import OperationType

_TIME = {"type": "string", "format": "date-time"}
_FUTURE = {
    "type": "string",
    "format": "date-time",
    "description": "in the future (within a year), with an explicit UTC offset",
}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 2592000}
_GRACE = {"type": "number", "minimum": 0, "maximum": 2592000}
_REASON = {"type": "string", "minLength": 1, "maxLength": 500}
_MESSAGE = {"type": "string", "minLength": 1, "maxLength": 2000}
_MODE = {"type": "string", "enum": ["normal", "emergency", "test"]}
_VERSION = {"type": "integer", "minimum": 0}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "current_version": {"type": "integer"},
    },
}

_STATUS = {
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
        "mode": _MODE,
        "reason": {"type": ["string", "null"]},
        "message": {"type": ["string", "null"]},
        "estimated_duration": {"type": ["number", "null"]},
        "started_at": _NULLABLE_TIME,
        "estimated_completion": _NULLABLE_TIME,
        "ends_at": _NULLABLE_TIME,
        "blocked_operations": {"type": "array", "items": {"type": "string"}},
        "active_jobs_count": {"type": "integer", "minimum": 0},
        "upcoming": {
            "type": ["object", "null"],
            "properties": {
                "reason": {"type": "string"},
                "message": {"type": "string"},
                "mode": _MODE,
                "starts_at": _TIME,
                "ends_at": _NULLABLE_TIME,
            },
        },
        "store": {"type": "string"},
        "version": _VERSION,
        "enabled_by": {"type": ["string", "null"]},
        "operations": {"type": ["array", "null"], "items": {"type": "string"}},
        "progress": {"type": "object"},
        "override": {"type": ["string", "null"]},
    },
}


_HEALTH = {
    "type": "object",
    "required": ["status", "components"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "components": {"type": "object"},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
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
    answers = {str(code): _json(_ERROR, text[code]) for code in codes}
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


def _body(
    properties: dict[str, Any],
    required: list[str],
    optional: bool = False,
    **rules: dict[str, Any],
) -> dict[str, Any]:
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
_EMERGENCY_RULE: dict[str, Any] = {
    "if": {"required": ["mode"], "properties": {"mode": {"const": "emergency"}}},
    "then": {"not": {"anyOf": [{"required": ["ends_at"]}, {"required": ["operations"]}]}},
}


_WRITE_ERRORS = (400, 401, 405, 409, 413, 415, 503)
_SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


def openapi_document(
    prefix: str, health_path: str, operation_types: Sequence[str] | None = None
) -> dict[str, Any]:
    """The document for a service mounted at ``prefix``.

    ``operation_types`` are the names a partial maintenance may list
    (default: every type registered now).
    """
    if operation_types is None:
        operation_types = [op.name for op in OperationType.all()]
    operations = {
        "type": "array",
        "items": {"type": "string", "enum": list(operation_types)},
        "minItems": 1,
    }
    status_ok = _json(_STATUS, "the maintenance status")
    paths: dict[str, Any] = {
        f"{prefix}/status": {
            "get": {
                "summary": "Current maintenance status (from the local snapshot, no I/O)",
                "operationId": "getStatus",
                "responses": {"200": status_ok, **_errors(405)},
            }
        },
        f"{prefix}/blocked-operations": {
            "get": {
                "summary": "Operation types the current maintenance blocks, with attempt counts",
                "operationId": "getBlockedOperations",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["blocked_operations"],
                            "properties": {
                                "blocked_operations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": [
                                            "operation_type",
                                            "description",
                                            "blocked_since",
                                            "attempt_count",
                                        ],
                                        "properties": {
                                            "operation_type": {"type": "string"},
                                            "description": {"type": "string"},
                                            "blocked_since": _NULLABLE_TIME,
                                            "attempt_count": {"type": "integer", "minimum": 0},
                                        },
                                    },
                                }
                            },
                        },
                        "blocked operation types",
                    ),
                    **_errors(405),
                },
            }
        },
        health_path: {
            "get": {
                "summary": "maintguard's own health: ok, or degraded while the store fails",
                "operationId": "getHealth",
                "parameters": [
                    {
                        "name": "strict",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "1, true or yes: answer 503 instead of 200 when degraded",
                    }
                ],
                "responses": {
                    "200": _json(
                        _HEALTH,
                        "ok, or degraded (still 200 so that a load "
                        "balancer never drops every server over a store blip)",
                    ),
                    "503": _json(_HEALTH, "degraded (only with strict=1)"),
                    **_errors(405),
                },
            }
        },
        f"{prefix}/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "getOpenAPI",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_errors(405)},
            }
        },
        f"{prefix}/enable": {
            "post": {
                "summary": "Enable (or update) maintenance",
                "operationId": "enable",
                "security": _SECURED,
                "requestBody": _body(
                    {
                        "reason": _REASON,
                        "duration": _SECONDS,
                        "mode": _MODE,
                        "message": _MESSAGE,
                        "ends_at": _FUTURE,
                        "operations": operations,
                        "expected_version": _VERSION,
                        "force": {"type": "boolean"},
                    },
                    ["reason"],
                    **_EMERGENCY_RULE,
                ),
                "responses": {
                    "200": status_ok,
                    "202": _json(_STATUS, "emergency accepted; side effects run in the background"),
                    **_errors(*_WRITE_ERRORS),
                },
            }
        },
        f"{prefix}/emergency": {
            "post": {
                "summary": "Emergency maintenance: protection at once, sessions and jobs after",
                "operationId": "emergency",
                "security": _SECURED,
                "requestBody": _body(
                    {
                        "reason": _REASON,
                        "message": _MESSAGE,
                        "duration": _SECONDS,
                        "terminate_jobs": {"type": "boolean"},
                        "grace_period": _GRACE,
                        "expected_version": _VERSION,
                    },
                    ["reason"],
                ),
                "responses": {"202": _json(_STATUS, "accepted"), **_errors(*_WRITE_ERRORS)},
            }
        },
        f"{prefix}/disable": {
            "post": {
                "summary": "Disable maintenance (a no-op when it is off)",
                "operationId": "disable",
                "security": _SECURED,
                "requestBody": _body(
                    {"expected_version": _VERSION, "force": {"type": "boolean"}},
                    [],
                    optional=True,
                ),
                "responses": {"200": status_ok, **_errors(*_WRITE_ERRORS)},
            }
        },
        f"{prefix}/schedule": {
            "post": {
                "summary": "Schedule a maintenance window",
                "operationId": "schedule",
                "security": _SECURED,
                "requestBody": _body(
                    {
                        "reason": _REASON,
                        "starts_at": _FUTURE,
                        "ends_at": _FUTURE,
                        "mode": _MODE,
                        "message": _MESSAGE,
                        "operations": operations,
                        "expected_version": _VERSION,
                    },
                    ["reason", "starts_at"],
                ),
                "responses": {"200": status_ok, **_errors(*_WRITE_ERRORS)},
            },
            "delete": {
                "summary": "Cancel the scheduled window",
                "operationId": "cancelSchedule",
                "security": _SECURED,
                "requestBody": _body({"expected_version": _VERSION}, [], optional=True),
                "responses": {"200": status_ok, **_errors(*_WRITE_ERRORS)},
            },
        },
        f"{prefix}/audit": {
            "get": {
                "summary": "The audit trail, newest first",
                "operationId": "getAudit",
                "security": _SECURED,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["records"],
                            "properties": {
                                "records": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": [
                                            "at",
                                            "actor",
                                            "action",
                                            "mode",
                                            "reason",
                                            "version",
                                        ],
                                        "properties": {
                                            "at": _TIME,
                                            "actor": {"type": "string"},
                                            "action": {"type": "string"},
                                            "mode": {"type": ["string", "null"]},
                                            "reason": {"type": "string"},
                                            "version": _VERSION,
                                            "details": {"type": "object"},
                                        },
                                    },
                                }
                            },
                        },
                        "audit records",
                    ),
                    **_errors(400, 401, 405, 503),
                },
            }
        },
        f"{prefix}/report": {
            "get": {
                "summary": "Test-mode report: would-be-blocked counts with sample paths",
                "operationId": "getReport",
                "security": _SECURED,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["mode", "is_active", "operations"],
                            "properties": {
                                "mode": {"type": ["string", "null"]},
                                "is_active": {"type": "boolean"},
                                "started_at": _NULLABLE_TIME,
                                "operations": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "report",
                    ),
                    **_errors(401, 405, 503),
                },
            }
        },
        f"{prefix}/bypass": {
            "post": {
                "summary": "Set the signed admin bypass cookie for the current maintenance",
                "operationId": "bypass",
                "security": _SECURED,
                "requestBody": _body({}, [], optional=True),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["cookie", "expires_at"],
                            "properties": {"cookie": {"type": "string"}, "expires_at": _TIME},
                        },
                        "cookie set",
                    ),
                    **_errors(400, 401, 404, 405, 409, 413, 415, 503),
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "maintguard control API",
            "version": "1",
            "description": "Switch maintenance on and off, and see what it blocks.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "one of the configured admin tokens (MAINTENANCE_ADMIN_TOKENS)",
                }
            }
        },
    }
