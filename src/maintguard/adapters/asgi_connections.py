"""Connections that stay open — WebSockets and event streams — for the ASGI adapter.

Such a connection outlives the state it was admitted under. Each one is
registered while the app serves it; when a new state would block it (an
emergency), it is ended: a WebSocket gets a 1012 close, an event stream the
end of its body, and the app's next ``receive`` answers a disconnect so
that it stops. Which connections to end is the middleware's call, passed in
as a callable.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from maintguard.adapters.asgi_messages import ASGIApp, Message, Receive, Scope, Send
from maintguard.core.decision import RequestInfo


class Tracked:
    """An open WebSocket or event stream that a later state may close."""

    __slots__ = ("closed", "event", "info", "kind", "loop", "started")

    def __init__(self, kind: str, info: RequestInfo, loop: asyncio.AbstractEventLoop) -> None:
        self.kind = kind
        self.info = info
        self.loop = loop
        self.event = asyncio.Event()
        self.closed = False
        self.started = False


class OpenConnections:
    """The connections one middleware is serving now."""

    def __init__(self) -> None:
        # Touched from event loops and from the thread that changes the state.
        self._open: set[Tracked] = set()
        self._lock = threading.Lock()
        self._judging: set[asyncio.Future[None]] = set()

    async def serve(
        self, app: ASGIApp, kind: str, scope: Scope, info: RequestInfo, receive: Receive, send: Send
    ) -> None:
        """Run ``app`` on the connection, registered until it returns."""
        tracked = Tracked(kind, info, asyncio.get_running_loop())
        with self._lock:
            self._open.add(tracked)
        try:
            await app(scope, _closing_receive(tracked, receive, send), _closing_send(tracked, send))
        finally:
            with self._lock:
                self._open.discard(tracked)

    async def serve_detecting(
        self,
        app: ASGIApp,
        scope: Scope,
        info: Callable[[], RequestInfo],
        receive: Receive,
        send: Send,
    ) -> None:
        """Run ``app`` on a plain HTTP request; should its response turn out
        to be an event stream (``Content-Type: text/event-stream``, whatever
        the request's Accept said), track it from then on."""
        late: list[Any] = []  # [tracked, closing send, closing receive] once detected

        async def detecting_send(message: Message) -> None:
            if late:
                await late[1](message)
                return
            if message["type"] == "http.response.start" and _declares_stream(message):
                tracked = Tracked("http", info(), asyncio.get_running_loop())
                tracked.started = True
                closing_receive = _closing_receive(tracked, receive, send)
                late.extend([tracked, _closing_send(tracked, send), closing_receive])
                with self._lock:
                    self._open.add(tracked)
            await send(message)

        async def detecting_receive() -> Message:
            if late:
                return await late[2]()  # type: ignore[no-any-return]
            return await receive()

        try:
            await app(scope, detecting_receive, detecting_send)
        finally:
            if late:
                with self._lock:
                    self._open.discard(late[0])

    def close_blocked(self, blocks: Callable[[RequestInfo], Awaitable[bool]]) -> None:
        """End every open connection whose request ``blocks``; from any thread.

        Each is judged on its own loop, so that the application's ``is_admin``
        resolver is asked as for a new request: an admin it vouches for
        stays connected."""
        # A copy, judged outside the lock: connections that open or end
        # meanwhile neither wait for the judging nor change the set under it.
        with self._lock:
            open_now = list(self._open)
        for tracked in open_now:
            if not tracked.closed:
                # The event belongs to the connection's loop, not this thread.
                tracked.loop.call_soon_threadsafe(self._judge, tracked, blocks)

    def _judge(self, tracked: Tracked, blocks: Callable[[RequestInfo], Awaitable[bool]]) -> None:
        async def judge() -> None:
            if await blocks(tracked.info) and not tracked.closed:
                tracked.event.set()

        task = asyncio.ensure_future(judge())
        self._judging.add(task)  # a reference, so the task is not collected
        task.add_done_callback(self._judging.discard)


def _declares_stream(start: Message) -> bool:
    for name, value in start.get("headers") or ():
        if name.lower() == b"content-type" and value.lower().startswith(b"text/event-stream"):
            return True
    return False


async def _close(tracked: Tracked, send: Send) -> None:
    """End a started connection once: a 1012 close, or the stream's end."""
    if tracked.closed or not tracked.started:
        return
    tracked.closed = True
    if tracked.kind == "websocket":
        await send({"type": "websocket.close", "code": 1012, "reason": "maintenance"})
    else:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _closing_receive(tracked: Tracked, receive: Receive, send: Send) -> Receive:
    disconnect: Message = (
        {"type": "websocket.disconnect", "code": 1012}
        if tracked.kind == "websocket"
        else {"type": "http.disconnect"}
    )

    async def wrapped() -> Message:
        if tracked.event.is_set():
            return disconnect
        # Wait for the client or for the close, whichever comes first.
        receiving = asyncio.ensure_future(receive())
        closing = asyncio.ensure_future(tracked.event.wait())
        done, _ = await asyncio.wait({receiving, closing}, return_when=asyncio.FIRST_COMPLETED)
        if receiving in done:
            closing.cancel()
            return receiving.result()
        receiving.cancel()
        await _close(tracked, send)
        return disconnect

    return wrapped


def _closing_send(tracked: Tracked, send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        kind = message["type"]
        if tracked.closed:
            return  # the connection was closed for maintenance; drop the rest
        if tracked.event.is_set() and tracked.started:
            await _close(tracked, send)
            return
        if kind in ("websocket.accept", "http.response.start"):
            tracked.started = True
        elif kind == "websocket.close" or (
            kind == "http.response.body" and not message.get("more_body", False)
        ):
            tracked.closed = True
        await send(message)

    return wrapped
