"""The console's paths in the OpenAPI document: dashboard, events, ws,
banner.js and metrics (see :mod:`maintguard.control.console`)."""

from __future__ import annotations

from typing import Any

from maintguard.control.openapi_schemas import answer, errors

_TEXT = {"type": "string"}

#: What a ``status`` event's data holds: the status document (as GET
#: /status answers the same caller); ``counts`` and ``progress`` below.
COUNTS = {
    "type": "object",
    "required": ["blocked", "total"],
    "properties": {
        "blocked": {"type": "object", "additionalProperties": {"type": "integer"}},
        "total": {"type": "integer"},
        "simulated": {"type": "object", "additionalProperties": {"type": "integer"}},
        "history": {
            "type": "object",
            "description": "per-minute counts of the last 60 minutes (token only)",
            "properties": {
                "start": {"type": "string", "format": "date-time"},
                "blocked": {"type": "array", "items": {"type": "integer"}},
                "simulated": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "store": {"type": "object", "description": "store health (token only)"},
    },
}


def _content(media: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": _TEXT}}}


def console_paths(prefix: str) -> dict[str, Any]:
    unauthorized = errors(401)
    return {
        f"{prefix}/dashboard": {
            "get": {
                "summary": "The operator console: one self-contained HTML page (its calls need "
                "the token, sent as a bearer header)",
                "operationId": "getDashboard",
                "responses": {
                    "200": _content("text/html", "the page, with a Content-Security-Policy"),
                    **errors(405),
                },
            }
        },
        f"{prefix}/events": {
            "get": {
                "summary": "Server-Sent Events: status, progress and counts; public fields "
                "without a token, everything with one; heartbeat comments; honours "
                "Last-Event-ID; ends after event_stream_duration (clients reconnect)",
                "operationId": "getEvents",
                "parameters": [
                    {"name": "Last-Event-ID", "in": "header", "required": False, "schema": _TEXT}
                ],
                "responses": {
                    "200": {
                        "description": "the stream; each event's data is JSON: status (the "
                        "status document), progress, counts",
                        "content": {"text/event-stream": {"schema": _TEXT}},
                    },
                    **unauthorized,
                    **errors(405),
                },
            }
        },
        f"{prefix}/ws": {
            "get": {
                "summary": "WebSocket (ASGI): the events as JSON text messages "
                '{"event", "data", "id"?}; a plain HTTP request answers 426',
                "operationId": "getEventsWebSocket",
                "responses": {
                    "426": answer(
                        {"type": "object", "properties": {"error": _TEXT}}, "use a WebSocket"
                    ),
                    **errors(405),
                },
            }
        },
        f"{prefix}/banner.js": {
            "get": {
                "summary": "A script pages include to show upcoming and active maintenance",
                "operationId": "getBanner",
                "responses": {
                    "200": _content("text/javascript", "the banner script"),
                    **errors(405),
                },
            }
        },
        f"{prefix}/metrics": {
            "get": {
                "summary": "Prometheus text exposition (maintguard[metrics]); a bearer token "
                "or an allowed address",
                "operationId": "getMetrics",
                "responses": {
                    "200": _content("text/plain", "the metrics"),
                    **unauthorized,
                    **errors(404, 405),
                },
            }
        },
    }
