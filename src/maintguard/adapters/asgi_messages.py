"""ASGI message plumbing for the ASGI adapter.

The ASGI callable types, and the few message exchanges the middleware does
itself: sending a ``Response``, adding headers to the app's own response,
and reading a request body with a size limit. Nothing here judges a
request; :mod:`maintguard.adapters.asgi` decides what to send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from maintguard.core.responses import Response, encode_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def raw_headers(response: Response) -> list[tuple[bytes, bytes]]:
    return encode_headers(response.headers)


async def send_response(response: Response, send: Send) -> None:
    """Send ``response`` as a complete HTTP response."""
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": raw_headers(response),
        }
    )
    await send({"type": "http.response.body", "body": response.body})


def adding_headers(send: Send, extra: list[tuple[str, str]]) -> Send:
    """``send``, with ``extra`` appended to the response's (or handshake's) headers."""
    # Encoded once here rather than on each message.
    raw = encode_headers(extra)

    async def wrapped(message: Message) -> None:
        if message["type"] in ("http.response.start", "websocket.accept"):
            # A copy, so that the app's own message stays as it sent it.
            message = dict(message)
            message["headers"] = [*message.get("headers", ()), *raw]
        await send(message)

    return wrapped


class Disconnected(Exception):
    """The client went away before its body was complete."""


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """At most ``limit`` bytes; ``None`` as soon as the body exceeds it.

    Raises ``Disconnected`` when the client leaves mid-body: a partial
    body must never be applied, even if it happens to parse.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
