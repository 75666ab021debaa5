"""The control API as a pure function of a request.

Adapters call ``ControlAPI.route`` with the method, path and headers; it
answers at once (404, 405, 401, 413, 415, or a read endpoint served from the
snapshot) or says how many body bytes to read, after which
``ControlAPI.handle`` parses the body strictly and makes the change.
A rejected request never reaches the service, so it changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import attrs

from maintguard.control.openapi import openapi_document
from maintguard.core.identity import AdminToken, bearer_token, match_token
from maintguard.core.responses import Response, error_response, json_response
from maintguard.core.state import Mode, format_time, format_timestamp, parse_time
from maintguard.exceptions import ConflictError, StoreError, ValidationError

if TYPE_CHECKING:
    from maintguard.core.decision import RequestInfo
    from maintguard.service import MaintenanceService

_REALM = 'Bearer realm="maintguard"'
_UNAUTHORIZED = [("WWW-Authenticate", _REALM)]
#: RFC 6750: a token was presented but is not one of ours.
_INVALID_TOKEN = [("WWW-Authenticate", f'{_REALM}, error="invalid_token"')]


@attrs.frozen
class Endpoint:
    name: str
    methods: tuple[str, ...]
    write: bool  # needs a bearer token
    body: bool  # reads a JSON body


@attrs.frozen
class Pending:
    """The request needs its body (at most ``limit`` bytes) before ``handle``."""

    endpoint: Endpoint
    method: str
    token: AdminToken
    limit: int


def _endpoints(prefix: str, health: str) -> dict[str, Endpoint]:
    return {
        f"{prefix}/status": Endpoint("status", ("GET", "HEAD"), False, False),
        f"{prefix}/blocked-operations": Endpoint("blocked", ("GET", "HEAD"), False, False),
        f"{prefix}/openapi.json": Endpoint("openapi", ("GET", "HEAD"), False, False),
        health: Endpoint("health", ("GET", "HEAD"), False, False),
        f"{prefix}/enable": Endpoint("enable", ("POST",), True, True),
        f"{prefix}/emergency": Endpoint("emergency", ("POST",), True, True),
        f"{prefix}/disable": Endpoint("disable", ("POST",), True, True),
        f"{prefix}/schedule": Endpoint("schedule", ("POST", "DELETE"), True, True),
        f"{prefix}/audit": Endpoint("audit", ("GET", "HEAD"), True, False),
        f"{prefix}/report": Endpoint("report", ("GET", "HEAD"), True, False),
        f"{prefix}/bypass": Endpoint("bypass", ("POST",), True, True),
    }


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
    },
    "emergency": {
        "reason": (str,),
        "message": (str,),
        "duration": (int, float),
        "terminate_jobs": (bool,),
        "grace_period": (int, float),
        "expected_version": (int,),
    },
    "disable": {"expected_version": (int,), "force": (bool,)},
    "schedule:POST": {
        "reason": (str,),
        "starts_at": (str,),
        "ends_at": (str,),
        "mode": (str,),
        "message": (str,),
        "operations": (list,),
        "expected_version": (int,),
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


def _constant(name: str) -> float:
    # NaN and Infinity are not JSON, but Python's parser reads them; keep the
    # value so that the field check can name the field it was sent in.
    return float(name)


class _DuplicateField(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateField(key[:64])
        result[key] = value
    return result


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """A JSON object from the body, by DESIGN.md's rules (see ``route``)."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_constant=_constant, object_pairs_hook=_no_duplicates)
    except _DuplicateField as exc:
        raise ValidationError(f"duplicate field {exc.field!r}", exc.field) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        if _media_type(content_type) == "application/x-www-form-urlencoded":
            raise _Unsupported from None
        raise ValidationError("body is not valid JSON", None) from None
    if not isinstance(data, dict):
        if _media_type(content_type) == "application/x-www-form-urlencoded":
            raise _Unsupported
        raise ValidationError("body must be a JSON object", None)
    return data


class _Unsupported(Exception):
    """A form body that is not a JSON object: 415."""


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}


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


class ControlAPI:
    """Serves ``{prefix}/…`` and the health path for one service."""

    def __init__(self, service: MaintenanceService) -> None:
        self.service = service
        self.endpoints = _endpoints(service.prefix, service.health_path)
        self._openapi_cache: bytes | None = None

    def matches(self, path: str) -> bool:
        return path in self.endpoints

    def route(self, info: RequestInfo) -> Response | Pending:
        """Answer now, or say the body is needed (writes, after auth)."""
        endpoint = self.endpoints[info.path]
        method = info.method.upper()
        if method not in endpoint.methods:
            allow = ", ".join(endpoint.methods)
            return error_response(
                405, f"method {method[:16]} not allowed", None, [("Allow", allow)]
            )
        if not endpoint.write:
            return self._read(endpoint, info, head=method == "HEAD")
        presented = self._token(info)
        token = match_token(self.service.tokens, presented)
        if token is None:
            headers = _UNAUTHORIZED if presented is None else _INVALID_TOKEN
            return error_response(401, "a valid bearer token is required", None, headers)
        if not endpoint.body:
            return self._read(endpoint, info, head=method == "HEAD", token=token)
        media = _media_type(info.header("content-type"))
        if media not in (None, "", "application/json", "application/x-www-form-urlencoded"):
            return error_response(415, "send the body as application/json", None)
        length = info.header("content-length")
        if length is not None:
            if not _digits(length.strip()):
                return error_response(400, "Content-Length is not a number", None)
            if int(length) > self.service.max_body:
                return error_response(413, f"body larger than {self.service.max_body} bytes", None)
        return Pending(endpoint, method, token, self.service.max_body)

    @staticmethod
    def _token(info: RequestInfo) -> bytes | None:
        headers = info.headers
        getlist = getattr(headers, "getlist", None)
        if getlist is not None and len(getlist("authorization")) > 1:
            return None  # two Authorization headers: ambiguous, refuse
        return bearer_token(info.header("authorization"))

    def handle(self, pending: Pending, info: RequestInfo, body: bytes | None) -> Response:
        """Parse the body and make the change. Blocking: stores do I/O.

        ``body`` is ``None`` when the adapter stopped reading past the limit.
        """
        if body is None or len(body) > pending.limit:
            return error_response(413, f"body larger than {pending.limit} bytes", None)
        key = pending.endpoint.name
        if key == "schedule":
            key = f"schedule:{pending.method}"
        data: dict[str, Any] = {}
        try:
            data = parse_body(body, info.header("content-type"))
            check_fields(key, data)
            return self._write(key, data, pending.token, info)
        except _Unsupported:
            return error_response(415, "a form body must be a JSON object", None)
        except ValidationError as exc:
            return error_response(400, str(exc), exc.field)
        except ConflictError as exc:
            expected = data.get("expected_version")
            stale = expected is not None and expected != exc.current_version
            field = "expected_version" if stale else "force"
            return json_response(
                409, {"error": str(exc), "field": field, "current_version": exc.current_version}
            )
        except StoreError:
            return error_response(503, "the maintenance state store is unavailable", None)

    # ------------------------------------------------------------------ writes

    def _write(
        self, key: str, data: dict[str, Any], token: AdminToken, info: RequestInfo
    ) -> Response:
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
            )
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
            )
            return json_response(202, status.to_dict())
        if key == "disable":
            status = service.disable_maintenance(
                actor, expected_version=data.get("expected_version"), force=bool(data.get("force"))
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
            )
            return json_response(200, status.to_dict())
        if key == "schedule:DELETE":
            status = service.cancel_schedule(actor, expected_version=data.get("expected_version"))
            return json_response(200, status.to_dict())
        return self._bypass(info)

    def _bypass(self, info: RequestInfo) -> Response:
        service = self.service
        if service.signer is None:
            return error_response(404, "the bypass cookie is not configured", None)
        if not service.view().state.active:
            return error_response(409, "maintenance is not active", None)
        name, value, expires = service.bypass_cookie(info)
        secure = service.is_https(info)
        cookie = (
            f"{name}={value}; Path=/; Max-Age={int(service.bypass_cookie_lifetime)}; "
            f"HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"
        )
        expires_at = format_timestamp(expires)
        return json_response(
            200, {"cookie": name, "expires_at": expires_at}, [("Set-Cookie", cookie)]
        )

    # ------------------------------------------------------------------- reads

    def _read(
        self, endpoint: Endpoint, info: RequestInfo, *, head: bool, token: AdminToken | None = None
    ) -> Response:
        handler: Callable[[RequestInfo], Response] = getattr(self, f"_{endpoint.name}")
        try:
            response = handler(info)
        except ValidationError as exc:
            response = error_response(400, str(exc), exc.field)
        except StoreError:
            response = error_response(503, "the maintenance state store is unavailable", None)
        if head:
            return attrs.evolve(response, body=b"")
        return response

    def _status(self, info: RequestInfo) -> Response:
        return json_response(200, self.service.get_maintenance_status().to_dict())

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
        strict = parse_qs(info.query_string).get("strict", ["0"])[-1] in ("1", "true", "yes")
        return json_response(503 if strict and not store_ok else 200, body)

    def _openapi_json(self) -> bytes:
        if self._openapi_cache is None:
            self._openapi_cache = json.dumps(
                openapi_document(self.service.prefix, self.service.health_path)
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


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _time(data: Mapping[str, Any], field: str) -> Any:
    value = data.get(field)
    return None if value is None else parse_time(value, field)


def _limit(query: str) -> int:
    values = parse_qs(query).get("limit")
    if not values:
        return 100
    raw = values[-1]
    if not _digits(raw) or not 1 <= int(raw) <= 1000:
        raise ValidationError("limit must be an integer between 1 and 1000", "limit")
    return int(raw)
