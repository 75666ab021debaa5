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
from collections.abc import Callable

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

    def close_blocked(self, blocks: Callable[[RequestInfo], bool]) -> None:
        """End every open connection whose request ``blocks``; from any thread."""
        # A copy, judged outside the lock: connections that open or end
        # meanwhile neither wait for the judging nor change the set under it.
        with self._lock:
            open_now = list(self._open)
        for tracked in open_now:
            if blocks(tracked.info) and not tracked.closed:
                # The event belongs to the connection's loop, not this thread.
                tracked.loop.call_soon_threadsafe(tracked.event.set)


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
