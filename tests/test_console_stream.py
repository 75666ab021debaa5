"""What an events stream writes, whatever the state holds: one well-formed
Server-Sent Event per document, the data read back exactly, and a client's
Last-Event-ID taken only in the shape the stream itself writes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from maintguard.control.console.stream import Event, EventStream, clean_last_id, event_id

# Reasons and messages are operator-written and may hold anything.
TEXT = st.text(st.characters(codec="utf-8"), max_size=80)
DOCUMENTS = st.dictionaries(
    st.sampled_from(["reason", "message", "mode", "progress"]),
    st.one_of(TEXT, st.integers(), st.booleans(), st.none()),
)


def _parse(frame: bytes) -> list[dict[str, str]]:
    """Events as an EventSource reads them (blank line ends an event)."""
    events, current = [], {}
    for line in frame.decode("ascii").split("\n"):
        if not line:
            if current:
                events.append(current)
            current = {}
            continue
        field, _, value = line.partition(": ")
        current[field] = current.get(field, "") + value
    return events


@given(kind=st.sampled_from(["status", "progress", "counts"]), data=DOCUMENTS, ident=st.booleans())
def test_any_document_is_one_event_that_reads_back_the_same(
    kind: str, data: dict[str, Any], ident: bool
) -> None:
    """A reason with newlines or "event:" inside cannot start another event."""
    frame = Event(kind, data, event_id({"version": 3, **data}) if ident else None).sse()
    [event] = _parse(frame)
    assert kind == event["event"]
    assert data == json.loads(event["data"])


@given(raw=st.text(max_size=60))
def test_a_last_event_id_is_taken_only_as_the_stream_writes_it(raw: str) -> None:
    kept = clean_last_id(raw)
    assert kept is None or (kept == raw and set(raw) <= set("0123456789abcdef-"))


def test_the_stream_ids_are_accepted_back() -> None:
    ident = event_id({"version": 12, "reason": "x"})
    assert ident == clean_last_id(ident)


def test_a_client_with_an_unknown_id_is_sent_the_state() -> None:
    """Only the id of the current state skips the first status event."""
    stream = EventStream(
        status=lambda: {"version": 1, "is_active": False},
        counts=lambda: {"blocked": {}, "total": 0},
        last_id="0-00000000",
        duration=10,
        heartbeat=10,
    )
    assert ["status", "counts"] == [event.kind for event in stream.poll()]


def test_nothing_is_sent_again_until_something_changes() -> None:
    documents = {"version": 1, "is_active": False}
    stream = EventStream(
        status=lambda: dict(documents),
        counts=lambda: {"blocked": {}, "total": 0},
        last_id=None,
        duration=10,
        heartbeat=10,
    )
    stream.poll()
    quiet = stream.poll()
    documents["is_active"] = True
    changed = stream.poll()
    assert [] == quiet
    assert ["status"] == [event.kind for event in changed]


def test_only_progress_moving_sends_a_progress_event() -> None:
    documents: dict[str, Any] = {"version": 1, "progress": {}, "active_jobs_count": 2}
    stream = EventStream(
        status=lambda: dict(documents),
        counts=lambda: {"blocked": {}, "total": 0},
        last_id=None,
        duration=10,
        heartbeat=10,
    )
    stream.poll()
    documents["active_jobs_count"] = 0
    events = stream.poll()
    assert [("progress", {"progress": {}, "active_jobs_count": 0})] == [
        (event.kind, event.data) for event in events
    ]
