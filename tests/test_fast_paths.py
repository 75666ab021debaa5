"""The request path's short cuts answer, count and log exactly as the long way.

A flood of one anonymous blocked request is answered from a remembered
verdict and counted by a lock-free tally; a plain request while maintenance
is off passes through a watcher that reads no header unless the answer's
body goes on. These tests hold them to what an operator sees: the counts,
the samples, the log lines, and the event streams an emergency ends.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from maintguard import MaintenanceService
from maintguard.asgi import MaintenanceMiddleware as AsgiMiddleware
from maintguard.stores.counters import TALLY_LIMIT, AttemptCounters
from maintguard.stores.memory import MemoryStore
from maintguard.wsgi import MaintenanceMiddleware as WsgiMiddleware
from tests.clients import ASGIClient, WSGIClient
from tests.test_asgi import _scope


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _post(middleware: WsgiMiddleware, path: str) -> str:
    seen: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "HTTP_ACCEPT": "application/json",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.url_scheme": "http",
    }
    list(middleware(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0]


def test_a_threaded_flood_of_remembered_blocks_is_counted_exactly() -> None:
    """8 threads of 400 blocked uploads of one path: every one is counted,
    in its operation and in the current minute, and the path is sampled."""
    service = MaintenanceService()
    middleware = WsgiMiddleware(_app, service)
    service.enable_maintenance("Upgrade")

    def flood() -> None:
        for _ in range(400):
            assert _post(middleware, "/upload/photo").startswith("503")

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    totals = service.attempt_counts()
    assert {"IMAGE_PROCESSING": 3200} == totals.blocked
    assert 3200 == sum(totals.blocked_minutes.values())
    assert ["/upload/photo"] == totals.samples["IMAGE_PROCESSING"]
    service.close()


def test_remembered_blocks_reach_the_store_and_are_not_counted_twice() -> None:
    """Flushed counts are the store's; reading the totals again adds nothing."""
    store = MemoryStore()
    service = MaintenanceService(store)
    middleware = WsgiMiddleware(_app, service)
    service.enable_maintenance("Upgrade")
    for _ in range(30):
        _post(middleware, "/upload/photo")
    epoch = service.view().epoch
    service.counters.flush(store, epoch)
    assert 30 == store.read_attempts(epoch).blocked["IMAGE_PROCESSING"]
    assert 30 == service.attempt_counts().blocked["IMAGE_PROCESSING"]
    for _ in range(5):
        _post(middleware, "/upload/photo")
    service.counters.flush(store, epoch)
    service.counters.flush(store, epoch)
    assert 35 == store.read_attempts(epoch).blocked["IMAGE_PROCESSING"]
    service.close()


def test_a_new_maintenance_starts_its_remembered_counts_at_zero() -> None:
    service = MaintenanceService()
    middleware = WsgiMiddleware(_app, service)
    service.enable_maintenance("First")
    for _ in range(7):
        _post(middleware, "/upload/photo")
    service.disable_maintenance()
    service.enable_maintenance("Second")
    for _ in range(3):
        _post(middleware, "/upload/photo")
    assert {"IMAGE_PROCESSING": 3} == service.attempt_counts().blocked
    service.close()


def test_folded_lines_of_remembered_blocks_add_up_to_the_counter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The log of a remembered flood still adds up: five lines, then one
    summary for the rest, sharing the limit with blocks judged in full."""
    service = MaintenanceService()
    middleware = WsgiMiddleware(_app, service)
    service.enable_maintenance("Upgrade")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        for _ in range(40):
            _post(middleware, "/upload/photo")
        service.limiter.flush(now=float("inf"))
    lines = [r.getMessage() for r in caplog.records if "Operation blocked" in r.getMessage()]
    folded = [int(m.group(1)) for line in lines if (m := re.search(r"\(\+(\d+) more in", line))]
    assert [35] == folded
    assert 40 == len(lines) - len(folded) + sum(folded)
    assert 'endpoint="/upload/photo"' in lines[0]
    service.close()


def test_past_the_tally_limit_blocks_are_still_counted() -> None:
    """A flood of distinct paths outgrows the tallies; the rest are counted
    the locked way, none lost."""
    counters = AttemptCounters()
    made = [counters.tally_for("e1", "IMAGE_PROCESSING", f"/p/{i}") for i in range(TALLY_LIMIT)]
    assert all(tally is not None for tally in made)
    assert counters.tally_for("e1", "IMAGE_PROCESSING", "/one/too/many") is None
    for tally in made[:10]:
        assert tally is not None
        tally.hit()
    counters.record("e1", "IMAGE_PROCESSING", "/one/too/many", False)
    assert 11 == counters.totals("e1").blocked["IMAGE_PROCESSING"]


def test_a_forked_worker_counts_only_its_own_remembered_blocks() -> None:
    """After a fork the parent's unflushed hits stay the parent's."""
    counters = AttemptCounters()
    tally = counters.tally_for("e1", "IMAGE_PROCESSING", "/upload")
    assert tally is not None
    for _ in range(5):
        tally.hit()
    counters.after_fork()
    tally.hit()
    tally.hit()
    assert {"IMAGE_PROCESSING": 2} == counters.totals("e1").blocked


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_emergency_between_a_stream_s_headers_and_its_body_still_ends_it(
    anyio_backend: str,
) -> None:
    """A stream is found once its body goes on; an emergency that began
    after its request came in (maintenance off then) is applied to it at once."""
    service = MaintenanceService()
    go = asyncio.Event()
    released = asyncio.Event()

    async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await go.wait()
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        assert (await receive())["type"] == "http.disconnect"
        released.set()

    communicator = ApplicationCommunicator(AsgiMiddleware(stream, service), _scope("http", "/feed"))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert 200 == (await communicator.receive_output(2))["status"]
    await asyncio.get_running_loop().run_in_executor(None, service.enable_emergency, "Incident")
    go.set()
    assert b"data: 1\n\n" == (await communicator.receive_output(2))["body"]
    final = await communicator.receive_output(2)
    assert (b"", False) == (final["body"], final.get("more_body", False))
    await asyncio.wait_for(released.wait(), 2)
    await communicator.wait(2)
    service.close()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_long_download_is_passed_on_and_never_tracked(anyio_backend: str) -> None:
    """A body in many parts that is not an event stream is passed on part by
    part and not tracked, so an emergency never cuts a download short."""
    service = MaintenanceService()
    go = asyncio.Event()

    async def download(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"application/octet-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"a", "more_body": True})
        await go.wait()
        for chunk in (b"b", b"c"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    middleware = AsgiMiddleware(download, service)
    communicator = ApplicationCommunicator(middleware, _scope("http", "/download"))
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert 200 == (await communicator.receive_output(2))["status"]
    assert b"a" == (await communicator.receive_output(2))["body"]
    assert [] == list(middleware._connections._open)
    await asyncio.get_running_loop().run_in_executor(None, service.enable_emergency, "Incident")
    go.set()
    bodies = [(await communicator.receive_output(2))["body"] for _ in range(3)]
    assert [b"b", b"c", b""] == bodies
    await communicator.wait(2)
    service.close()


# ---------------------------------------------------- resolver_headers


def _counting_resolver(asked: list[str]) -> Any:
    def is_admin(info: Any) -> bool:
        asked.append(info.path)
        return info.header("cookie") == "session=staff"

    return is_admin


@pytest.mark.parametrize("kind", [WSGIClient, ASGIClient])
def test_declared_resolver_headers_spare_the_resolver_a_flood(kind: Any) -> None:
    """``resolver_headers=("cookie",)``: requests without a cookie are blocked
    without asking ``is_admin`` (and answered from memory); one with the
    staff cookie is asked about, and passes."""
    asked: list[str] = []
    service = MaintenanceService(is_admin=_counting_resolver(asked), resolver_headers=("Cookie",))
    client = kind(service)
    service.enable_emergency("Incident")
    statuses = [client.request("POST", "/upload").status for _ in range(20)]
    assert ([503] * 20, []) == (statuses, asked)
    assert 20 == sum(service.attempt_counts().blocked.values())
    staff = client.request("POST", "/upload", headers={"Cookie": "session=staff"})
    other = client.request("POST", "/upload", headers={"Cookie": "session=alice"})
    assert (200, 503, ["/upload", "/upload"]) == (staff.status, other.status, asked)
    service.close()


@pytest.mark.parametrize("kind", [WSGIClient, ASGIClient])
def test_without_declared_headers_the_resolver_is_asked_every_time(kind: Any) -> None:
    """The resolver may read anything (a header of the app's own): unless
    told otherwise, every request it could admit is asked about."""
    asked: list[str] = []
    service = MaintenanceService(is_admin=_counting_resolver(asked))
    client = kind(service)
    service.enable_emergency("Incident")
    for _ in range(5):
        assert 503 == client.request("POST", "/upload").status
    assert 5 == len(asked)
    service.close()


@pytest.mark.parametrize("value", ["bad header", "x:y", ""])
def test_a_resolver_header_that_is_no_header_name_is_refused_naming_it(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from maintguard import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="resolver_headers"):
        Settings(resolver_headers=(value,))
    monkeypatch.setenv("MAINTENANCE_RESOLVER_HEADERS", f"cookie,{value or '='}")
    with pytest.raises(ConfigurationError, match="MAINTENANCE_RESOLVER_HEADERS"):
        Settings.from_env()


def test_a_line_folded_as_its_window_closes_is_still_reported() -> None:
    """A thread that looked at a full window just before it closed folds its
    line into it afterwards; the next flush reports it, so the log adds up."""
    from maintguard.logs import LineLimiter

    reported: list[tuple[tuple[str, ...], int]] = []
    limiter = LineLimiter(lambda key, n: reported.append((key, n)), burst=1, window=60.0)
    key = ("IMAGE_PROCESSING", "normal")
    assert [True, False, False] == [limiter.allow_key(key, now=t) for t in (0.0, 1.0, 2.0)]
    looked_at = limiter._keys[key]  # what the late thread holds
    assert limiter.allow_key(key, now=61.0)  # a new window: the old one is reported
    looked_at.folded.hit()  # the late thread's line
    limiter.flush(now=62.0)
    limiter.flush(now=63.0)
    assert [(key, 2), (key, 1)] == reported
