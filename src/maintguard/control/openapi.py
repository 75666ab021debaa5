"""The OpenAPI 3.1 description of the control API.

Kept true by the test suite, which fuzzes the running API from this
document (schemathesis) and checks every answer against it. The shared
schemas and the response helpers live in
:mod:`maintguard.control.openapi_schemas`; this module lays out the paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from maintguard.control.openapi_console import console_paths
from maintguard.control.openapi_schemas import (
    EMERGENCY_RULE,
    ERROR,
    FUTURE,
    GRACE,
    HEALTH,
    MESSAGE,
    MODE,
    NULLABLE_TIME,
    REASON,
    SECONDS,
    SECURED,
    STATUS,
    TIME,
    VERSION,
    WRITE_ERRORS,
    answer,
    errors,
    request_body,
)
from maintguard.core.operations import OperationType

#: ``notify``: the notifiers also tell users (the event's ``notice``).
NOTIFY = {
    "type": "boolean",
    "description": "also tell users (maintenance scheduled, services resumed)",
}


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
    status_ok = answer(STATUS, "the maintenance status")
    paths: dict[str, Any] = {
        f"{prefix}/status": {
            "get": {
                "summary": "Current maintenance status (from the local snapshot, no I/O)",
                "operationId": "getStatus",
                "responses": {"200": status_ok, **errors(405)},
            }
        },
        f"{prefix}/blocked-operations": {
            "get": {
                "summary": "Operation types the current maintenance blocks, with attempt counts",
                "operationId": "getBlockedOperations",
                "responses": {
                    "200": answer(
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
                                            "blocked_since": NULLABLE_TIME,
                                            "attempt_count": {"type": "integer", "minimum": 0},
                                        },
                                    },
                                }
                            },
                        },
                        "blocked operation types",
                    ),
                    **errors(405),
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
                    "200": answer(
                        HEALTH,
                        "ok, or degraded (still 200 so that a load "
                        "balancer never drops every server over a store blip)",
                    ),
                    "503": answer(HEALTH, "degraded (only with strict=1)"),
                    **errors(405),
                },
            }
        },
        f"{prefix}/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "getOpenAPI",
                "responses": {"200": answer({"type": "object"}, "OpenAPI 3.1"), **errors(405)},
            }
        },
        f"{prefix}/enable": {
            "post": {
                "summary": "Enable (or update) maintenance",
                "operationId": "enable",
                "security": SECURED,
                "requestBody": request_body(
                    {
                        "reason": REASON,
                        "duration": SECONDS,
                        "mode": MODE,
                        "message": MESSAGE,
                        "ends_at": FUTURE,
                        "operations": operations,
                        "expected_version": VERSION,
                        "force": {"type": "boolean"},
                        "notify": NOTIFY,
                    },
                    ["reason"],
                    **EMERGENCY_RULE,
                ),
                "responses": {
                    "200": status_ok,
                    "202": answer(STATUS, "emergency accepted; side effects run in the background"),
                    **errors(*WRITE_ERRORS),
                },
            }
        },
        f"{prefix}/emergency": {
            "post": {
                "summary": "Emergency maintenance: protection at once, sessions and jobs after",
                "operationId": "emergency",
                "security": SECURED,
                "requestBody": request_body(
                    {
                        "reason": REASON,
                        "message": MESSAGE,
                        "duration": SECONDS,
                        "terminate_jobs": {"type": "boolean"},
                        "grace_period": GRACE,
                        "expected_version": VERSION,
                        "notify": NOTIFY,
                    },
                    ["reason"],
                ),
                "responses": {"202": answer(STATUS, "accepted"), **errors(*WRITE_ERRORS)},
            }
        },
        f"{prefix}/disable": {
            "post": {
                "summary": "Disable maintenance (a no-op when it is off)",
                "operationId": "disable",
                "security": SECURED,
                "requestBody": request_body(
                    {"expected_version": VERSION, "force": {"type": "boolean"}, "notify": NOTIFY},
                    [],
                    optional=True,
                ),
                "responses": {"200": status_ok, **errors(*WRITE_ERRORS)},
            }
        },
        f"{prefix}/schedule": {
            "post": {
                "summary": "Schedule a maintenance window",
                "operationId": "schedule",
                "security": SECURED,
                "requestBody": request_body(
                    {
                        "reason": REASON,
                        "starts_at": FUTURE,
                        "ends_at": FUTURE,
                        "mode": MODE,
                        "message": MESSAGE,
                        "operations": operations,
                        "expected_version": VERSION,
                        "notify": NOTIFY,
                    },
                    ["reason", "starts_at"],
                ),
                "responses": {"200": status_ok, **errors(*WRITE_ERRORS)},
            },
            "delete": {
                "summary": "Cancel the scheduled window",
                "operationId": "cancelSchedule",
                "security": SECURED,
                "requestBody": request_body({"expected_version": VERSION}, [], optional=True),
                "responses": {"200": status_ok, **errors(*WRITE_ERRORS)},
            },
        },
        f"{prefix}/audit": {
            "get": {
                "summary": "The audit trail, newest first",
                "operationId": "getAudit",
                "security": SECURED,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    }
                ],
                "responses": {
                    "200": answer(
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
                                            "at": TIME,
                                            "actor": {"type": "string"},
                                            "action": {"type": "string"},
                                            "mode": {"type": ["string", "null"]},
                                            "reason": {"type": "string"},
                                            "version": VERSION,
                                            "details": {"type": "object"},
                                        },
                                    },
                                }
                            },
                        },
                        "audit records",
                    ),
                    **errors(400, 401, 405, 503),
                },
            }
        },
        f"{prefix}/report": {
            "get": {
                "summary": "Test-mode report: would-be-blocked counts with sample paths",
                "operationId": "getReport",
                "security": SECURED,
                "responses": {
                    "200": answer(
                        {
                            "type": "object",
                            "required": ["mode", "is_active", "operations"],
                            "properties": {
                                "mode": {"type": ["string", "null"]},
                                "is_active": {"type": "boolean"},
                                "started_at": NULLABLE_TIME,
                                "operations": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "report",
                    ),
                    **errors(401, 405, 503),
                },
            }
        },
        f"{prefix}/bypass": {
            "get": {
                "summary": "Redeem a one-time bypass link: sets the cookie, redirects to /",
                "operationId": "bypassLink",
                "parameters": [
                    {"name": "link", "in": "query", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "303": {"description": "cookie set; redirect to /"},
                    "403": answer(ERROR, "the link is wrong, expired or already used"),
                    **errors(404, 503),
                },
            },
            "post": {
                "summary": "Set the signed admin bypass cookie for the current maintenance",
                "operationId": "bypass",
                "security": SECURED,
                "requestBody": request_body({}, [], optional=True),
                "responses": {
                    "200": answer(
                        {
                            "type": "object",
                            "required": ["cookie", "expires_at"],
                            "properties": {"cookie": {"type": "string"}, "expires_at": TIME},
                        },
                        "cookie set",
                    ),
                    **errors(400, 401, 404, 405, 409, 413, 415, 503),
                },
            },
        },
    }
    paths.update(console_paths(prefix))
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
