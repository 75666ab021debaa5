"""Pure ASGI adapter: ``MaintenanceMiddleware(app, service)``.

Lifespan and unknown scope types pass through untouched. HTTP requests
and WebSocket handshakes are judged by the core; a blocked handshake is
denied before accept (a 503 through the denial-response extension where the
server offers it, else a close, which the client sees as 403). Blocking
calls (store writes, a sync ``is_admin`` resolver) run in a worker thread
with ``sync_to_async(thread_sensitive=False)``.

Connections that stay open — WebSockets and event streams — are tracked;
when a new state forbids one (an emergency), it is closed for non-admins
(:mod:`maintguard.adapters.asgi_connections`). The ASGI types and message
helpers are in :mod:`maintguard.adapters.asgi_messages`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable

from asgiref.sync import sync_to_async

from maintguard.adapters.asgi_connections import OpenConnections
from maintguard.adapters.asgi_messages import (
    ASGIApp,
    Disconnected,
    Receive,
    Scope,
    Send,
    adding_headers,
    raw_headers,
    read_body,
    send_response,
)

# Unused here, but importable from this module as the other ASGI types are.
from maintguard.adapters.asgi_messages import Message as Message
from maintguard.adapters.headers import ASGIHeaders, LazyCookies
from maintguard.control.api import ControlAPI, Pending
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.judge import log_resolver_failure
from maintguard.core.paths import route_path
from maintguard.core.responses import Response, Verdict
from maintguard.service import MaintenanceService
from maintguard.stores.snapshot import View

__all__ = ["MaintenanceMiddleware", "request_info"]

#: Reads that touch the store (audit) run in a thread, like writes.
_BLOCKING_READS = frozenset({"audit"})


def request_info(scope: Scope, path: str) -> RequestInfo:
    headers = ASGIHeaders(scope.get("headers") or ())
    client = scope.get("client")
    method = scope.get("method") or "GET"
    query = scope.get("query_string") or b""
    return RequestInfo(
        method=method.upper() if scope["type"] == "http" else "GET",
        path=path,
        headers=headers,
        client=client[0] if client else None,
        scheme=scope.get("scheme") or "http",
        query_string=query.decode("latin-1"),
        cookies=LazyCookies(headers.get("cookie")),
        native=scope,
    )


class MaintenanceMiddleware:
    """Protects an ASGI app with a ``MaintenanceService``."""

    def __init__(
        self, app: ASGIApp, service: MaintenanceService, *, track_event_streams: bool = True
    ) -> None:
        self.app = app
        self.service = service
        # Reading each request's Accept header to find event streams costs
        # about 0.2 µs; an app without them may switch it off.
        self.track_event_streams = track_event_streams
        self.api = ControlAPI(service)
        self._api_paths = frozenset(self.api.endpoints)
        self._snapshot = service.snapshot
        # Headers that keep a request off remembered verdicts; the
        # configuration they follow is fixed at start-up.
        self._identity_names = frozenset(name.encode() for name in service.identity_headers())
        self._connections = OpenConnections()
        service.on_view_change(self._state_changed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Maintenance off and nothing scheduled: only the control API and
        # connections that stay open (tracked in case an emergency starts)
        # need more than this.
        if (
            self._snapshot.idle
            and scope["type"] == "http"
            and scope["path"] not in self._api_paths
            and not scope.get("root_path")
        ):
            if not self.track_event_streams:
                await self.app(scope, receive, send)
                return
            # Event streams are tracked, so that a later emergency can end
            # them. Written inline: this loop is every request's cost while
            # maintenance is off, and a helper call would add a third to it.
            for name, value in scope.get("headers") or ():
                if name == b"accept" and b"text/event-stream" in value:
                    break
            else:
                await self.app(scope, receive, send)
                return
        await self._dispatch(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path")
        path = scope.get("path") or "/"
        if root or not path.startswith("/"):
            path = route_path(path, root or "")
        stream = kind == "websocket"
        accept, plain = None, False
        if kind == "http":
            if path in self._api_paths:
                await self._api(scope, path, receive, send)
                return
            accept, plain = self._scan(scope)
            # The joined Accept holds the media type iff one of its fields does.
            stream = (
                self.track_event_streams and accept is not None and b"text/event-stream" in accept
            )
        service = self.service
        view = service.view()
        if not view.state.active or not service.enabled:
            if stream:
                await self._connections.serve(
                    self.app, kind, scope, request_info(scope, path), receive, send
                )
                return
            await self.app(scope, receive, send)
            return
        answers = service.responder(view)
        key = None
        if plain and not stream and service.memoizable:
            # Keyed by the method and Accept bytes as sent (judged as the
            # upper-case method and the decoded Accept they always give);
            # bytes never equal the WSGI adapters' str keys.
            key = (scope.get("method") or "GET", path, accept)
            verdict = answers.verdicts.get(key)
            if verdict is not None:
                decision, response, raw = verdict
                scope["maintguard.decision"] = decision
                if response is None:
                    await self.app(scope, receive, send)
                    return
                service.attempts.record(decision, path, None, view)
                headers = list(raw)  # a new list: an outer middleware may append
                after = answers.retry_after()
                if after is not None:
                    headers.append((b"retry-after", after.encode("ascii")))
                await send({"type": "http.response.start", "status": 503, "headers": headers})
                await send({"type": "http.response.body", "body": response.body})
                return
        info = request_info(scope, path)
        decision = await self.decide(info)
        scope["maintguard.decision"] = decision
        if decision.action is Action.BLOCK:
            service.record(info, decision)
            response = service.blocked_response(
                info, decision, as_json=True if kind == "websocket" else None
            )
            if key is not None:
                answers.remember(key, Verdict.of(decision, response))
            await self._deny(kind, info, answers.with_retry_after(response), receive, send)
            return
        if decision.action is Action.SIMULATE:
            service.record(info, decision)
        extra = service.answers.extra_headers(decision)
        if extra:
            send = adding_headers(send, extra)
        elif key is not None and decision.admin is None:
            answers.remember(key, Verdict.of(decision))
        if decision.admin is None and stream:
            await self._connections.serve(self.app, kind, scope, info, receive, send)
            return
        await self.app(scope, receive, send)

    def _scan(self, scope: Scope) -> tuple[bytes | None, bool]:
        """(Accept, plain) in one pass over the headers. Accept fields are
        joined as ``RequestInfo`` joins them; plain when the request carries
        no header that could make its sender an admin or change the answer
        (``identity_headers``: see ``BlockedResponder.verdicts``)."""
        identity = self._identity_names
        accept: bytes | None = None
        plain = True
        for name, value in scope.get("headers") or ():
            if name == b"accept":
                accept = value if accept is None else accept + b", " + value
            elif name in identity:
                plain = False
        return accept, plain

    async def decide(self, info: RequestInfo) -> Decision:
        service = self.service
        decision, pending = service.judge(info)
        if pending:
            decision = service.finish(info, decision, await self._resolve(info))
        return decision

    async def _resolve(self, info: RequestInfo) -> str | None:
        service = self.service
        resolver = service.is_admin_resolver
        if resolver is None:
            return None
        try:
            if _is_async(resolver):
                pending: Awaitable[object] = resolver(info)  # type: ignore[assignment]
                answer = await asyncio.wait_for(pending, service.settings.resolver_timeout)
                return "resolver" if answer is True else None
            call = sync_to_async(service.decider.resolve_admin, thread_sensitive=False)
            return await asyncio.wait_for(call(info), service.settings.resolver_timeout)
        except Exception as exc:  # timeout or failure: not admin
            log_resolver_failure(exc)
            return None

    # ------------------------------------------------------------- answers

    async def _deny(
        self, kind: str, info: RequestInfo, response: Response, receive: Receive, send: Send
    ) -> None:
        if kind == "http":
            await send_response(response, send)
            return
        message = await receive()  # the handshake: websocket.connect
        if message.get("type") != "websocket.connect":
            return
        scope = info.native
        extensions = scope.get("extensions") or {} if isinstance(scope, dict) else {}
        if "websocket.http.response" in extensions:
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": response.status,
                    "headers": raw_headers(response),
                }
            )
            await send({"type": "websocket.http.response.body", "body": response.body})
        else:
            await send({"type": "websocket.close", "code": 1013})

    async def _api(self, scope: Scope, path: str, receive: Receive, send: Send) -> None:
        info = request_info(scope, path)
        endpoint = self.api.endpoints[path]
        if endpoint.name in _BLOCKING_READS:
            answer = await sync_to_async(self.api.route, thread_sensitive=False)(info)
        else:
            answer = self.api.route(info)
        if isinstance(answer, Pending):
            try:
                body = await read_body(receive, answer.limit)
            except Disconnected:
                return  # nobody to answer, and nothing half-read is applied
            handle = sync_to_async(self.api.handle, thread_sensitive=False)
            answer = await handle(answer, info, body)
        await send_response(answer, send)

    # ----------------------------------------------------- open connections

    def _state_changed(self, view: View) -> None:
        """Called from whichever thread changed the snapshot."""
        if not view.state.active:
            return
        self._connections.close_blocked(self._blocks)

    def _blocks(self, info: RequestInfo) -> bool:
        decision, _ = self.service.judge(info)
        return decision.action is Action.BLOCK


def _is_async(function: object) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one."""
    call = type(function).__call__ if not inspect.isroutine(function) else function
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call)
