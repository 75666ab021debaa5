"""What an events stream sends: ``status``, ``progress`` and ``counts`` events.

``EventStream`` is sans-I/O: the adapters call ``poll`` when the feed
moves or a tick passes, and write what it returns (as Server-Sent Events
or as WebSocket text messages). It compares the documents it last sent
with the current ones, so a client that was slow or reconnects gets the
latest state, never a backlog.

The status document is the one ``GET {prefix}/status`` answers for the
same request (so a token, or its absence, gives the same fields there and
here); ``counts`` without a token carries only the blocked counts that
``GET {prefix}/blocked-operations`` shows anyone.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from typing import Any

import attrs

#: A client's Last-Event-ID is read only in the shape this module writes.
_ID_CHARS = frozenset("0123456789abcdef-")
_PROGRESS_FIELDS = ("progress", "active_jobs_count")


@attrs.frozen
class Event:
    kind: str
    data: Any
    id: str | None = None

    def sse(self) -> bytes:
        # json.dumps escapes newlines, so the data is always one line.
        lines = [f"event: {self.kind}"]
        if self.id is not None:
            lines.append(f"id: {self.id}")
        lines.append("data: " + json.dumps(self.data, separators=(",", ":")))
        return ("\n".join(lines) + "\n\n").encode("ascii")

    def text(self) -> str:
        message: dict[str, Any] = {"event": self.kind, "data": self.data}
        if self.id is not None:
            message["id"] = self.id
        return json.dumps(message, separators=(",", ":"))


def event_id(status: dict[str, Any]) -> str:
    """The status version and a digest of the document: equal ids, equal state."""
    digest = zlib.crc32(json.dumps(status, sort_keys=True).encode("ascii"))
    return f"{int(status.get('version') or 0):x}-{digest:08x}"


def clean_last_id(raw: str | None) -> str | None:
    if raw is None or not 0 < len(raw) <= 40 or not set(raw) <= _ID_CHARS:
        return None
    return raw


@attrs.define
class EventStream:
    """One client's stream; ``status`` and ``counts`` build the documents."""

    status: Callable[[], dict[str, Any]]
    counts: Callable[[], dict[str, Any]]
    last_id: str | None
    duration: float
    heartbeat: float
    #: Seconds between looks at the counts (which move without a change).
    tick: float = 1.0
    #: Called once when the stream ends (the adapter calls ``close``).
    release: Callable[[], None] | None = None
    _deadline: float = attrs.field(init=False, default=0.0)
    _quiet_since: float = attrs.field(init=False, default=0.0)
    _core: dict[str, Any] | None = attrs.field(init=False, default=None)
    _progress: dict[str, Any] | None = attrs.field(init=False, default=None)
    _counts: dict[str, Any] | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        now = time.monotonic()
        self._deadline = now + self.duration
        self._quiet_since = now

    def close(self) -> None:
        release, self.release = self.release, None
        if release is not None:
            release()

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._deadline

    @property
    def wait(self) -> float:
        """How long the adapter may wait before calling ``poll`` again."""
        return max(0.0, min(self.tick, self._deadline - time.monotonic()))

    def poll(self) -> list[Event]:
        """The events to send now (empty when nothing changed)."""
        events: list[Event] = []
        status = self.status()
        progress = {k: status[k] for k in _PROGRESS_FIELDS if k in status}
        core = {k: v for k, v in status.items() if k not in _PROGRESS_FIELDS}
        if core != self._core:
            ident = event_id(status)
            # A client resuming with the id of this very state has it already.
            if not (self._core is None and ident == self.last_id):
                events.append(Event("status", status, ident))
            self._core, self._progress = core, progress
        elif progress != self._progress:
            events.append(Event("progress", progress))
            self._progress = progress
        counts = self.counts()
        if counts != self._counts:
            events.append(Event("counts", counts))
            self._counts = counts
        if events:
            self._quiet_since = time.monotonic()
        return events

    def heartbeat_due(self) -> bool:
        """True (and the quiet time restarts) when a heartbeat should go out."""
        now = time.monotonic()
        if now - self._quiet_since < self.heartbeat:
            return False
        self._quiet_since = now
        return True

    def sse_chunk(self) -> bytes:
        """``poll`` as Server-Sent Events, or a heartbeat comment when due."""
        chunk = b"".join(event.sse() for event in self.poll())
        if not chunk and self.heartbeat_due():
            return b": heartbeat\n\n"
        return chunk


def sse_opening(retry_ms: int) -> bytes:
    """Tells the client how soon to reconnect once the stream ends."""
    return f"retry: {retry_ms}\n: maintguard events\n\n".encode("ascii")
