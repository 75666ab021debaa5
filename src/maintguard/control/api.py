"""The control API as a pure function of a request.

Adapters call ``ControlAPI.route`` with the method, path and headers; it
answers at once (404, 405, 401, 413, 415, or a read endpoint served from the
snapshot) or says how many body bytes to read, after which
``ControlAPI.handle`` parses the body strictly and makes the change.
A rejected request never reaches the service, so it changes nothing.

This module routes and authenticates, and maps errors to answers; bodies
are decoded in :mod:`maintguard.control.bodies` and the endpoints' work is
done in :mod:`maintguard.control.endpoints`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

# ``parse_body`` and ``check_fields`` stay importable from here, where they
# were first defined.
from maintguard.control.bodies import (
    Unsupported,
    ascii_digits,
    check_fields,
    media_type,
    parse_body,
)
from maintguard.control.bypass_links import redeem_link
from maintguard.control.console.routes import Console
from maintguard.control.endpoints import Handlers
from maintguard.core.identity import AdminToken, bearer_token, match_token
from maintguard.core.responses import Response, error_response, json_response
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
        # GET redeems a one-time link (no token: the link is the credential).
        f"{prefix}/bypass": Endpoint("bypass", ("GET", "POST"), True, True),
        # The console (maintguard.control.console): each checks its own token.
        f"{prefix}/dashboard": Endpoint("dashboard", ("GET", "HEAD"), False, False),
        f"{prefix}/banner.js": Endpoint("banner", ("GET", "HEAD"), False, False),
        f"{prefix}/events": Endpoint("events", ("GET",), False, False),
        f"{prefix}/ws": Endpoint("ws", ("GET",), False, False),
        f"{prefix}/metrics": Endpoint("metrics", ("GET", "HEAD"), False, False),
    }


class ControlAPI:
    """Serves ``{prefix}/…`` and the health path for one service."""

    def __init__(self, service: MaintenanceService) -> None:
        self.service = service
        self.endpoints = _endpoints(service.settings.prefix, service.settings.health_path)
        self.handlers = Handlers(service)
        self.console = Console(service, self.handlers.reads["status"])
        self.handlers.reads.update(self.console.reads)

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
        if endpoint.name == "bypass" and method == "GET":
            return redeem_link(self.service, info)  # blocking: claims the link in the store
        presented = self._token(info)
        token = match_token(self.service.decider.tokens, presented)
        if token is None:
            self.service.unauthorized.rejected(info.path, info.client)
            headers = _UNAUTHORIZED if presented is None else _INVALID_TOKEN
            return error_response(401, "a valid bearer token is required", None, headers)
        if not endpoint.body:
            return self._read(endpoint, info, head=method == "HEAD", token=token)
        # Checked before the body is read, so a refused body is never read.
        media = media_type(info.header("content-type"))
        if media not in (None, "", "application/json", "application/x-www-form-urlencoded"):
            return error_response(415, "send the body as application/json", None)
        length = info.header("content-length")
        limit = self.service.settings.max_body
        if length is not None:
            if not ascii_digits(length.strip()):
                return error_response(400, "Content-Length is not a number", None)
            if int(length) > limit:
                return error_response(413, f"body larger than {limit} bytes", None)
        return Pending(endpoint, method, token, limit)

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
            return self.handlers.write(key, data, pending.token, info)
        except Unsupported:
            return error_response(415, "a form body must be a JSON object", None)
        except ValidationError as exc:
            return error_response(400, str(exc), exc.field)
        except ConflictError as exc:
            # The field to fix: a stale pinned version, or the missing force.
            expected = data.get("expected_version")
            stale = expected is not None and expected != exc.current_version
            field = "expected_version" if stale else "force"
            return json_response(
                409, {"error": str(exc), "field": field, "current_version": exc.current_version}
            )
        except StoreError:
            return error_response(503, "the maintenance state store is unavailable", None)

    def _read(
        self, endpoint: Endpoint, info: RequestInfo, *, head: bool, token: AdminToken | None = None
    ) -> Response:
        handler = self.handlers.reads[endpoint.name]
        try:
            response = handler(info)
        except ValidationError as exc:
            response = error_response(400, str(exc), exc.field)
        except StoreError:
            response = error_response(503, "the maintenance state store is unavailable", None)
        if head:
            # Same status and headers (Content-Length included) as the GET.
            return attrs.evolve(response, body=b"")
        return response
