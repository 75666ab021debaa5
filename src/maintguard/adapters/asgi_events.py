"""``{prefix}/events`` (Server-Sent Events) and ``{prefix}/ws`` (WebSocket) on ASGI.

Both wait on the console's change feed without holding a thread, watch
``receive`` so a client that went away is dropped at once, and end after
``event_stream_duration`` (clients reconnect; a revoked token stops
working then). A slow client only slows its own ``send``: nothing is
queued for it, it gets the latest documents when it catches up.
"""

from __future__ import annotations

import asyncio
import contextlib

from maintguard.adapters.asgi_messages import Receive, Send, raw_headers, send_response
from maintguard.control.console.routes import RETRY_MS, SSE_HEADERS, Console
from maintguard.control.console.stream import EventStream, sse_opening
from maintguard.core.decision import RequestInfo
from maintguard.core.responses import Response

_SSE_START = [
    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SSE_HEADERS
]
_HEARTBEAT = '{"event":"heartbeat"}'


async def _watch(receive: Receive, gone: asyncio.Event, ending: str) -> None:
    while True:
        message = await receive()
        if message.get("type") == ending:
            gone.set()
            return


async def _wait(console: Console, seen: int, timeout: float, gone: asyncio.Event) -> int:
    """The feed's next generation, or sooner when the client leaves."""
    change = asyncio.ensure_future(console.feed.wait_async(seen, timeout))
    leaving = asyncio.ensure_future(gone.wait())
    done, pending = await asyncio.wait({change, leaving}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return change.result() if change in done else console.feed.generation


async def serve_events(console: Console, info: RequestInfo, receive: Receive, send: Send) -> None:
    opened = console.open(info)
    if isinstance(opened, Response):
        await send_response(opened, send)
        return
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_START})
    except BaseException:
        opened.close()
        raise
    gone = asyncio.Event()
    watcher = asyncio.ensure_future(_watch(receive, gone, "http.disconnect"))
    try:
        chunk = sse_opening(RETRY_MS) + opened.sse_chunk()
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        seen = console.feed.generation
        while not opened.expired and not gone.is_set():
            seen = await _wait(console, seen, opened.wait, gone)
            chunk = opened.sse_chunk()
            if chunk and not gone.is_set():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        return  # the client went away mid-write
    finally:
        opened.close()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher


async def serve_websocket(
    console: Console, info: RequestInfo, receive: Receive, send: Send
) -> None:
    """The same events as JSON text messages ``{"event", "data", "id"?}``."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    opened = console.open(info)
    if isinstance(opened, Response):
        await _refuse(info, opened, send)
        return
    try:
        await send({"type": "websocket.accept"})
    except BaseException:
        opened.close()
        raise
    gone = asyncio.Event()
    watcher = asyncio.ensure_future(_watch(receive, gone, "websocket.disconnect"))
    try:
        seen = console.feed.generation
        await _send_events(opened, send)
        while not opened.expired and not gone.is_set():
            seen = await _wait(console, seen, opened.wait, gone)
            if not gone.is_set():
                await _send_events(opened, send)
        if not gone.is_set():
            await send({"type": "websocket.close", "code": 1000})
    except OSError:
        return
    finally:
        opened.close()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher


async def _send_events(stream: EventStream, send: Send) -> None:
    events = stream.poll()
    for event in events:
        await send({"type": "websocket.send", "text": event.text()})
    if not events and stream.heartbeat_due():
        await send({"type": "websocket.send", "text": _HEARTBEAT})


async def _refuse(info: RequestInfo, response: Response, send: Send) -> None:
    """Deny the handshake: the 401 itself where the server can send it."""
    scope = info.native
    extensions = (scope.get("extensions") or {}) if isinstance(scope, dict) else {}
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
        await send({"type": "websocket.close", "code": 1008})


async def refuse_websocket(receive: Receive, send: Send) -> None:
    """A WebSocket to a control API path other than ``ws``: refused."""
    message = await receive()
    if message.get("type") == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})
