"""``{prefix}/events`` on WSGI: a Server-Sent Events stream of bounded length.

The response is a generator the server writes chunk by chunk. It waits on
the console's change feed (a change wakes it at once) or one tick for the
counts, sends a heartbeat comment when quiet, and ends after
``event_stream_duration``: a sync worker is held for that long at most, and
the client reconnects with ``Last-Event-ID``. A client that went away is
noticed at the next write, when the server closes the generator.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from maintguard.control.console.routes import RETRY_MS, SSE_HEADERS, Console
from maintguard.control.console.stream import EventStream, sse_opening
from maintguard.core.responses import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse

    from maintguard.core.decision import RequestInfo


def serve_events(
    console: Console, info: RequestInfo, start_response: StartResponse, status_line: str
) -> Iterable[bytes] | Response:
    """The stream, or the ``Response`` refusing it (for the adapter to send)."""
    opened = console.open(info)
    if isinstance(opened, Response):
        return opened
    try:
        start_response(status_line, list(SSE_HEADERS))
    except BaseException:
        opened.close()
        raise
    return _Events(console, opened)


class _Events:
    """The response iterable. ``close`` (which servers call even when they
    never started iterating, as when the client left at once) ends the
    stream; a plain generator's ``finally`` would not run then."""

    def __init__(self, console: Console, stream: EventStream) -> None:
        self._console = console
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        stream, feed = self._stream, self._console.feed
        seen = feed.generation
        yield sse_opening(RETRY_MS) + stream.sse_chunk()
        while not stream.expired:
            seen = feed.wait(seen, stream.wait)
            chunk = stream.sse_chunk()
            if chunk:
                yield chunk

    def close(self) -> None:
        self._stream.close()
