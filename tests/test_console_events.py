"""The events stream under real servers: gunicorn (WSGI, threaded workers)
and uvicorn (ASGI), over real HTTP and WebSocket, with changes made by
another process through Redis."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import pytest

from maintguard import MaintenanceService
from tests.console_server import AUTH, TOKEN, EventReader, serve

pytestmark = [pytest.mark.services, pytest.mark.slow]

KINDS = ["wsgi", "asgi"]


@pytest.fixture
def writer(redis_url: str) -> Iterator[MaintenanceService]:
    """Another process's service on the same store: it makes the changes."""
    service = MaintenanceService(redis_url)
    yield service
    service.close()


def _active(status: dict[str, object]) -> bool:
    return status["is_active"] is True


def _public_status(base: str) -> dict[str, object]:
    with urllib.request.urlopen(base + "/api/maintenance/status", timeout=5) as answer:
        document: dict[str, object] = json.load(answer)
    return document


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_reaches_a_subscribed_client(
    kind: str, redis_url: str, writer: MaintenanceService
) -> None:
    """A change made elsewhere arrives as a status event on an open stream."""
    with serve(kind, redis_url, workers=2) as base:
        reader = EventReader(base, AUTH)
        assert reader.next("status")["is_active"] is False
        writer.enable_maintenance("Database upgrade", message="Back soon")
        status = reader.next("status", where=_active)
        reader.close()
    assert ("Database upgrade", "Back soon") == (status["reason"], status["message"])


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_token_only_public_fields_arrive(
    kind: str, redis_url: str, writer: MaintenanceService
) -> None:
    """Anonymous streams carry what GET /status shows anyone, and only blocked
    counts; the per-minute history and store health need a token."""
    writer.enable_maintenance("Internal: disk swap", message="Short maintenance")
    with serve(kind, redis_url) as base:
        reader = EventReader(base)
        status = reader.next("status")
        counts = reader.next("counts")
        public = _public_status(base)
        reader.close()
    assert set(public) == set(status)
    assert {"blocked", "total"} == set(counts)


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_stream_carries_history_and_store_health(kind: str, redis_url: str) -> None:
    """With the token, counts bring the 60-minute history and the store's health."""
    with serve(kind, redis_url) as base:
        reader = EventReader(base, AUTH)
        counts = reader.next("counts")
        reader.close()
    assert 60 == len(counts["history"]["blocked"])
    assert counts["store"]["healthy"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_token_is_refused(kind: str, redis_url: str) -> None:
    """A token that is not ours gets 401, not a quietly reduced stream."""
    with serve(kind, redis_url) as base:
        reader = EventReader(base, {"Authorization": "Bearer not-the-token-at-all-000"})
        status = reader.response.status
        reader.close()
    assert 401 == status


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_resuming_with_the_current_id_is_not_sent_the_state_again(
    kind: str, redis_url: str
) -> None:
    """Last-Event-ID of the current state: the reconnect starts with counts."""
    with serve(kind, redis_url) as base:
        first = EventReader(base, AUTH)
        first.next("status")
        last_id = first.last_id
        first.close()
        assert last_id is not None
        again = EventReader(base, {**AUTH, "Last-Event-ID": last_id})
        kind_first, _ = again.events.get(timeout=10)
        again.close()
    assert "counts" == kind_first


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_ends_after_its_duration(kind: str, redis_url: str) -> None:
    """The stream is bounded (a sync worker is never held for ever), with
    heartbeats while nothing changes."""
    with serve(
        kind, redis_url, MAINTENANCE_EVENT_STREAM_DURATION="5", MAINTENANCE_EVENT_HEARTBEAT="1"
    ) as base:
        reader = EventReader(base)
        kinds = reader.kinds_until_closed()
        reader.close()
    assert "status" == kinds[0]
    assert reader.comments >= 2  # the opening comment and at least one heartbeat


def test_a_vanished_client_is_dropped_without_affecting_others_on_gunicorn(
    redis_url: str, writer: MaintenanceService
) -> None:
    """With three threads: two streams, one vanishes; the other still gets
    the change, and the vanished one's thread serves two new streams."""
    with serve("wsgi", redis_url, threads=3, MAINTENANCE_EVENT_STREAM_DURATION="120") as base:
        gone, stays = EventReader(base, AUTH), EventReader(base, AUTH)
        gone.next("status")
        stays.next("status")
        gone.vanish()
        writer.enable_maintenance("Deploy")
        assert _active(stays.next("status", where=_active))
        late = [EventReader(base, AUTH), EventReader(base, AUTH)]
        statuses = [reader.next("status", timeout=15) for reader in late]
        for reader in [stays, *late]:
            reader.close()
    assert [True, True] == [status["is_active"] for status in statuses]


def test_a_vanished_client_is_dropped_without_affecting_others_on_uvicorn(
    redis_url: str, writer: MaintenanceService
) -> None:
    """On ASGI a vanished client is dropped; another stream still gets the change."""
    with serve("asgi", redis_url) as base:
        gone, stays = EventReader(base, AUTH), EventReader(base, AUTH)
        gone.next("status")
        stays.next("status")
        gone.vanish()
        writer.enable_maintenance("Deploy")
        status = stays.next("status", where=_active)
        stays.close()
    assert "Deploy" == status["reason"]


async def _ws_events(url: str, headers: dict[str, str], change: object, count: int) -> list[dict]:
    from websockets.asyncio.client import connect

    got: list[dict] = []
    async with connect(url, additional_headers=headers, open_timeout=10) as socket:
        while len(got) < count:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if message["event"] != "status":
                continue
            got.append(message["data"])
            if len(got) == 1 and callable(change):
                await asyncio.to_thread(change)
    return got


def test_a_change_reaches_a_websocket_client_on_uvicorn(
    redis_url: str, writer: MaintenanceService
) -> None:
    """{prefix}/ws sends the same status events as JSON text messages."""
    with serve("asgi", redis_url) as base:
        url = base.replace("http://", "ws://") + "/api/maintenance/ws"
        statuses = asyncio.run(
            _ws_events(url, AUTH, lambda: writer.enable_maintenance("Over the socket"), 2)
        )
    assert [False, True] == [status["is_active"] for status in statuses]


def test_a_websocket_with_a_wrong_token_is_refused(redis_url: str) -> None:
    """The handshake with a wrong token is denied before accept."""
    from websockets.exceptions import InvalidStatus

    with serve("asgi", redis_url) as base:
        url = base.replace("http://", "ws://") + "/api/maintenance/ws"
        with pytest.raises(InvalidStatus) as refused:
            asyncio.run(_ws_events(url, {"Authorization": f"Bearer {TOKEN}-wrong"}, None, 1))
    assert refused.value.response.status_code in (401, 403)
