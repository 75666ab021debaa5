"""What each control API endpoint does, once the request got past routing.

``ControlAPI`` (in :mod:`maintguard.control.api`) checks the method, the
token and the body; ``Handlers`` then does the endpoint's work on the
service and builds the answer. Errors are raised (``ValidationError``,
``ConflictError``, ``StoreError``) for ``ControlAPI`` to turn into answers,
so every endpoint maps them the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from maintguard.control.bodies import ascii_digits
from maintguard.control.console.history import minute_history
from maintguard.control.openapi import openapi_document
from maintguard.control.status import public_status
from maintguard.core.identity import AdminToken, bearer_token, match_token
from maintguard.core.responses import Response, error_response, json_response
from maintguard.core.state import format_time, format_timestamp, parse_time
from maintguard.exceptions import ValidationError

if TYPE_CHECKING:
    from maintguard.core.decision import RequestInfo
    from maintguard.service import MaintenanceService


class Handlers:
    """The endpoints of one service: reads by name in ``reads``, and ``write``."""

    def __init__(self, service: MaintenanceService) -> None:
        self.service = service
        # Built on the first request, so that it lists the operation types
        # registered by then, and served as the same bytes afterwards.
        self._openapi_cache: bytes | None = None
        #: Endpoint name -> handler, for the endpoints that read no body.
        self.reads: dict[str, Callable[[RequestInfo], Response]] = {
            "status": self._status,
            "blocked": self._blocked,
            "openapi": self._openapi,
            "health": self._health,
            "audit": self._audit,
            "report": self._report,
        }

    # ------------------------------------------------------------------ writes

    def write(
        self, key: str, data: dict[str, Any], token: AdminToken, info: RequestInfo
    ) -> Response:
        """Make the change ``key`` (``schedule:POST``, …) asks for, as the token's holder."""
        service = self.service
        actor = token.label
        if key == "enable":
            mode = data.get("mode") or "normal"
            status = service.enable_maintenance(
                data["reason"],
                duration=data.get("duration"),
                mode=mode,
                enabled_by=actor,
                message=data.get("message"),
                ends_at=_time(data, "ends_at"),
                operations=data.get("operations"),
                expected_version=data.get("expected_version"),
                force=bool(data.get("force")),
                notify=bool(data.get("notify")),
            )
            # An emergency's side effects (sessions, jobs) run in the background.
            return json_response(202 if mode == "emergency" else 200, status.to_dict())
        if key == "emergency":
            status = service.enable_emergency(
                data["reason"],
                terminate_jobs=data.get("terminate_jobs", True),
                grace_period=data.get("grace_period"),
                enabled_by=actor,
                message=data.get("message"),
                duration=data.get("duration"),
                expected_version=data.get("expected_version"),
                notify=bool(data.get("notify")),
            )
            return json_response(202, status.to_dict())
        if key == "disable":
            status = service.disable_maintenance(
                actor,
                expected_version=data.get("expected_version"),
                force=bool(data.get("force")),
                notify=bool(data.get("notify")),
            )
            return json_response(200, status.to_dict())
        if key == "schedule:POST":
            starts = _time(data, "starts_at")
            if starts is None:
                raise ValidationError("starts_at is required", "starts_at")
            status = service.schedule_maintenance(
                data["reason"],
                starts,
                ends_at=_time(data, "ends_at"),
                mode=data.get("mode") or "normal",
                message=data.get("message"),
                scheduled_by=actor,
                operations=data.get("operations"),
                expected_version=data.get("expected_version"),
                notify=bool(data.get("notify")),
            )
            return json_response(200, status.to_dict())
        if key == "schedule:DELETE":
            status = service.cancel_schedule(actor, expected_version=data.get("expected_version"))
            return json_response(200, status.to_dict())
        return self._bypass(info)

    def _bypass(self, info: RequestInfo) -> Response:
        service = self.service
        if service.bypass.signer is None:
            return error_response(404, "the bypass cookie is not configured", None)
        if not service.view().state.active:
            return error_response(409, "maintenance is not active", None)
        name, value, expires = service.bypass_cookie(info)
        secure = service.bypass.is_https(info)
        cookie = (
            f"{name}={value}; Path=/; Max-Age={int(service.settings.bypass_cookie_lifetime)}; "
            f"HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"
        )
        expires_at = format_timestamp(expires)
        return json_response(
            200, {"cookie": name, "expires_at": expires_at}, [("Set-Cookie", cookie)]
        )

    # ------------------------------------------------------------------- reads

    def _status(self, info: RequestInfo) -> Response:
        body = self.service.get_maintenance_status().to_dict()
        if self.service.settings.public_status == "minimal" and not self._has_token(info):
            body = public_status(body)
        return json_response(200, body)

    def _has_token(self, info: RequestInfo) -> bool:
        presented = bearer_token(info.header("authorization"))
        return match_token(self.service.decider.tokens, presented) is not None

    def _blocked(self, info: RequestInfo) -> Response:
        service = self.service
        view = service.view()
        counts = service.attempt_counts()
        since = format_time(view.state.started_at)
        items = [
            {
                "operation_type": op.name,
                "description": op.description,
                "blocked_since": since,
                "attempt_count": int(counts.blocked.get(op.name, 0)),
            }
            for op in service.blocked_operations(view)
        ]
        return json_response(200, {"blocked_operations": items})

    def _health(self, info: RequestInfo) -> Response:
        service = self.service
        snapshot = service.snapshot
        store_ok = snapshot.healthy
        body = {
            "status": "ok" if store_ok else "degraded",
            "components": {
                "store": {
                    "status": "ok" if store_ok else "degraded",
                    "backend": service.store.name,
                    "policy": snapshot.on_store_error,
                    "last_refresh": format_timestamp(snapshot.last_refresh),
                },
                "maintenance": {
                    "is_active": service.view().state.active,
                    "override": service.view().override,
                },
            },
        }
        # Degraded is still 200 unless asked: a load balancer that drops every
        # server over a store blip would turn it into an outage.
        strict = parse_qs(info.query_string).get("strict", ["0"])[-1] in ("1", "true", "yes")
        return json_response(503 if strict and not store_ok else 200, body)

    def _openapi_json(self) -> bytes:
        if self._openapi_cache is None:
            self._openapi_cache = json.dumps(
                openapi_document(self.service.settings.prefix, self.service.settings.health_path)
            ).encode("utf-8")
        return self._openapi_cache

    def _openapi(self, info: RequestInfo) -> Response:
        body = self._openapi_json()
        return Response(
            200, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body
        )

    def _audit(self, info: RequestInfo) -> Response:
        limit = _limit(info.query_string)
        records = self.service.get_audit_log(limit)
        return json_response(200, {"records": [r.to_dict() for r in records]})

    def _report(self, info: RequestInfo) -> Response:
        service = self.service
        view = service.view()
        counts = service.attempt_counts()
        operations = sorted(set(counts.simulated) | set(counts.blocked))
        return json_response(
            200,
            {
                "mode": view.state.mode.value if view.state.active else None,
                "is_active": view.state.active,
                "started_at": format_time(view.state.started_at),
                "per_minute": minute_history(counts),
                "operations": [
                    {
                        "operation_type": op,
                        "would_block_count": int(counts.simulated.get(op, 0)),
                        "blocked_count": int(counts.blocked.get(op, 0)),
                        "sample_paths": list(counts.samples.get(op, ())),
                    }
                    for op in operations
                ],
            },
        )


def _time(data: Mapping[str, Any], field: str) -> Any:
    value = data.get(field)
    return None if value is None else parse_time(value, field)


def _limit(query: str) -> int:
    values = parse_qs(query).get("limit")
    if not values:
        return 100
    raw = values[-1]
    if not ascii_digits(raw) or not 1 <= int(raw) <= 1000:
        raise ValidationError("limit must be an integer between 1 and 1000", "limit")
    return int(raw)
