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

from maintguard.adapters.asgi_connections import (
    OpenConnections,
    StreamWatch,
    Tracked,
    asks_for_stream,
)
from maintguard.adapters.asgi_events import refuse_websocket, serve_events, serve_websocket
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
from maintguard.adapters.plain import PlainScope, remembers
from maintguard.control.api import ControlAPI, Pending
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.paths import route_path
from maintguard.core.responses import Response, Verdict
from maintguard.service import MaintenanceService
from maintguard.stores.snapshot import View

__all__ = ["MaintenanceMiddleware", "request_info", "resolve_admin"]

#: Reads that touch the store (audit) run in a thread, like writes.
_BLOCKING_READS = frozenset({"audit", "bypass"})  # bypass: GET claims a link


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
        self,
        app: ASGIApp,
        service: MaintenanceService,
        *,
        track_event_streams: bool = True,
        defer_resolver: bool = False,
    ) -> None:
        self.app = app
        self.service = service
        #: Set by ``maintguard.starlette.install``: an HTTP request only the
        #: ``is_admin`` resolver could let through goes on with
        #: ``scope["maintguard.pending"]``, decided where the app's user is
        #: known (inside every middleware, or by a FastAPI dependency).
        self.defer_resolver = defer_resolver
        # Reading each request's Accept header to find event streams costs
        # about 0.2 µs; an app without them may switch it off.
        self.track_event_streams = track_event_streams
        self.api = ControlAPI(service)
        self._api_paths = frozenset(self.api.endpoints)
        self._snapshot = service.snapshot
        # Frozen settings: what of ``service.memoizable`` cannot change.
        self._memoizable = remembers(service)
        self._declared = bool(service.settings.resolver_headers)
        self._enabled = service.settings.maintenance_mode_enabled
        self._plain = PlainScope(service)
        self._connections = OpenConnections(request_info, self._found_late)
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
            # Inline rather than through _plain_http: one coroutine frame less.
            watch = StreamWatch(self._connections, scope, scope["path"], receive, send)
            try:
                await self.app(scope, watch.receive, watch.send)
            finally:
                if watch.tracked is not None:
                    self._connections.forget(watch.tracked)
            return
        await self._dispatch(scope, receive, send)

    async def _plain_http(self, scope: Scope, path: str, receive: Receive, send: Send) -> None:
        """Call the app; a response that is an event stream is tracked (an
        emergency ends it) even when the request did not ask for one."""
        if not self.track_event_streams:
            await self.app(scope, receive, send)
            return
        watch = self._connections.watch(scope, path, receive, send)
        try:
            await self.app(scope, watch.receive, watch.send)
        finally:
            if watch.tracked is not None:
                self._connections.forget(watch.tracked)

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
        if stream and path in self._api_paths:
            info = request_info(scope, path)
            if self.api.endpoints[path].name == "ws":
                await serve_websocket(self.api.console, info, receive, send)
            else:
                await refuse_websocket(receive, send)
            return
        plain, accept = False, None
        if kind == "http":
            if path in self._api_paths:
                await self._api(scope, path, receive, send)
                return
            # One pass over the headers answers both questions when plain.
            plain, accept = self._plain(scope)  # type: ignore[arg-type]
            if plain:
                stream = (
                    self.track_event_streams
                    and accept is not None
                    and "text/event-stream" in accept
                )
            else:
                stream = self.track_event_streams and asks_for_stream(scope)
        service = self.service
        view = self._snapshot.view()
        if not view.state.active or not self._enabled:
            if stream:
                await self._connections.serve(
                    self.app, kind, scope, request_info(scope, path), receive, send
                )
                return
            if kind == "http":
                await self._plain_http(scope, path, receive, send)
                return
            await self.app(scope, receive, send)
            return
        answers = service.responder(view)
        key = None
        if (
            plain
            and not stream
            and self._memoizable
            and (self._declared or service.decider.resolver is None)
        ):
            key = (scope.get("method") or "GET", path, accept)
            verdict = answers.verdicts.get(key)
            if verdict is not None:
                scope["maintguard.decision"] = verdict.decision
                response = verdict.response
                if response is None:
                    await self._plain_http(scope, path, receive, send)
                    return
                service.attempts.tally(verdict, view)
                raw = answers.raw_headers_now(verdict)
                await send({"type": "http.response.start", "status": 503, "headers": raw})
                await send({"type": "http.response.body", "body": response.body})
                return
        info = request_info(scope, path)
        if key is not None:
            decision = service.decide(info, plain=True)
        elif self.defer_resolver and not stream:
            decision, pending = service.judge(info)
            if pending:
                scope["maintguard.pending"] = (info, decision)
                await self.app(scope, receive, send)
                return
        else:
            decision = await self.decide(info)
        scope["maintguard.decision"] = decision
        if decision.action is Action.BLOCK:
            service.record(info, decision)
            response = service.blocked_response(
                info, decision, as_json=True if kind == "websocket" else None
            )
            if key is not None:
                answers.remember(key, service.attempts.verdict(decision, response, path, view))
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
        if decision.admin is None and kind == "http":
            await self._plain_http(scope, path, receive, send)
            return
        await self.app(scope, receive, send)

    async def decide(self, info: RequestInfo) -> Decision:
        service = self.service
        decision, pending = service.judge(info)
        if pending:
            decision = service.finish(info, decision, await self._resolve(info))
        return decision

    async def _resolve(self, info: RequestInfo) -> str | None:
        return await resolve_admin(self.service, info)

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
        if endpoint.name == "events" and info.method == "GET":
            await serve_events(self.api.console, info, receive, send)
            return
        # The status asks a job terminator (a queue) at most once a second.
        blocking = endpoint.name == "status" and self.service.job_terminator is not None
        if endpoint.name in _BLOCKING_READS or blocking:
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

    def _found_late(self, tracked: Tracked) -> None:
        """An event stream found once its body began: a state that came in
        meanwhile did not see it, so it is judged now (on its own loop)."""
        if not self._snapshot.idle:
            self._connections.judge(tracked, self._blocks)

    async def _blocks(self, info: RequestInfo) -> bool:
        # As a new request is judged: the resolver may still vouch for an admin.
        decision = await self.decide(info)
        return decision.action is Action.BLOCK


async def resolve_admin(service: MaintenanceService, info: RequestInfo) -> str | None:
    """Ask the service's ``is_admin`` resolver (awaited, or run on the
    service's own bounded pool), bounded by ``resolver_timeout``; a failure
    or a timeout means not admin."""
    resolver = service.is_admin_resolver
    if resolver is None:
        return None
    try:
        if _is_async(resolver):
            pending: Awaitable[object] = resolver(info)  # type: ignore[assignment]
            answer = await asyncio.wait_for(pending, service.settings.resolver_timeout)
            return "resolver" if answer is True else None
        # Never on the loop's shared executor, which the control API's
        # writes use: a hung resolver must not starve them.
        return await service.resolvers.call_async(info)
    except Exception as exc:  # timeout or failure: not admin
        service.decider.failures.report(type(exc).__name__)
        return None


def _is_async(function: object) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one."""
    call = type(function).__call__ if not inspect.isroutine(function) else function
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call)
