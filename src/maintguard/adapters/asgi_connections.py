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

    def __init__(
        self,
        describe: Callable[[Scope, str], RequestInfo],
        found_late: Callable[[Tracked], None],
    ) -> None:
        #: Builds the request's ``RequestInfo`` (once a stream is found).
        self.describe = describe
        #: Told of a stream found only once its body began (``StreamWatch``).
        self.found_late = found_late
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

    def watch(self, scope: Scope, path: str, receive: Receive, send: Send) -> StreamWatch:
        """The ``receive`` and ``send`` to run a plain HTTP request with;
        should its answer turn out to be an event stream, it is tracked from
        then on. The caller ends it with ``forget(watch)`` once the app returns."""
        return StreamWatch(self, scope, path, receive, send)

    def forget(self, tracked: Tracked) -> None:
        with self._lock:
            self._open.discard(tracked)

    def add_late(self, tracked: Tracked) -> None:
        with self._lock:
            self._open.add(tracked)
        self.found_late(tracked)

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
                tracked.loop.call_soon_threadsafe(self.judge, tracked, blocks)

    def judge(self, tracked: Tracked, blocks: Callable[[RequestInfo], Awaitable[bool]]) -> None:
        """End ``tracked`` if it ``blocks``; on the connection's own loop."""

        async def judge() -> None:
            if await blocks(tracked.info) and not tracked.closed:
                tracked.event.set()

        task = asyncio.ensure_future(judge())
        self._judging.add(task)  # a reference, so the task is not collected
        task.add_done_callback(self._judging.discard)


class StreamWatch:
    """A plain HTTP request's ``send`` and ``receive``, watching for an event stream.

    Every request maintenance leaves alone passes through here, so the
    common answer costs two attribute checks: a response whose first body
    message is also its last (``more_body`` false) is over before any state
    could end it, and its headers are never read. Only a body that goes on
    is looked at: it is an event stream when its start declares
    ``text/event-stream``, or the request asked for one. Such a stream is
    tracked from then on (``OpenConnections.found_late`` judges it at once
    should the state have changed since the request came in). Both methods
    hand back the server's own awaitable instead of awaiting it in a frame
    of their own.
    """

    __slots__ = ("_closing_receive", "_closing_send", "_connections", "_path", "_receive",
                 "_scope", "_send", "_start", "tracked")  # fmt: skip

    def __init__(
        self, connections: OpenConnections, scope: Scope, path: str, receive: Receive, send: Send
    ) -> None:
        self._connections = connections
        self._scope = scope
        self._path = path
        self._receive = receive
        self._send = send
        self._start: Message | None = None
        self.tracked: Tracked | None = None
        self._closing_send: Send = send
        self._closing_receive: Receive = receive

    def send(self, message: Message) -> Awaitable[None]:
        if self.tracked is not None:
            return self._closing_send(message)
        if message.get("more_body") and message["type"] == "http.response.body":
            start = self._start
            if start is not None and (_declares_stream(start) or asks_for_stream(self._scope)):
                self._track()
                return self._closing_send(message)
            self._start = None  # looked at once: a long download is not a stream
        elif message["type"] == "http.response.start":
            self._start = message
        return self._send(message)

    def receive(self) -> Awaitable[Message]:
        if self.tracked is not None:
            return self._closing_receive()
        return self._receive()

    def _track(self) -> None:
        connections = self._connections
        info = connections.describe(self._scope, self._path)
        tracked = Tracked("http", info, asyncio.get_running_loop())
        tracked.started = True
        self._closing_receive = _closing_receive(tracked, self._receive, self._send)
        self._closing_send = _closing_send(tracked, self._send)
        self.tracked = tracked
        connections.add_late(tracked)


def asks_for_stream(scope: Scope) -> bool:
    """Whether any of the request's Accept headers names ``text/event-stream``."""
    for name, value in scope.get("headers") or ():
        if name == b"accept" and b"text/event-stream" in value:
            return True
    return False


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
