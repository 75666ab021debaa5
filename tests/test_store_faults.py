"""Stores under faults: outages, frozen servers, forks, several processes.

The time bounds here are fault bounds (a call must not hang), not
performance benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

import maintguard.core.state
from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.exceptions import StoreError
from maintguard.stores import StateStore
from maintguard.stores.redis import RedisStore, _Subscription
from maintguard.stores.sql import SQLStore
from tests import servers
from tests.test_store_contract import change, enabled, open_store

#: Where ``maintguard`` lives, for the Python processes these tests start.
SOURCE = Path(maintguard.core.state.__file__).resolve().parents[1]


@pytest.fixture
def fast_store(own_redis: servers.RedisServer) -> Iterator[RedisStore]:
    """A store on the test's own Redis with a short timeout."""
    store = RedisStore.from_url(own_redis.url, timeout=0.3)
    try:
        yield store
    finally:
        store.close()


# -- Redis outages --------------------------------------------------------------------


def test_redis_stopped_raises_store_error_then_recovers(
    own_redis: servers.RedisServer, fast_store: RedisStore
) -> None:
    """With Redis down a call raises StoreError (not a redis error); once
    Redis is back on the same port the same store works again."""
    change(fast_store, 1)
    own_redis.stop()
    with pytest.raises(StoreError) as raised:
        fast_store.load()
    assert type(raised.value) is StoreError
    own_redis.start()  # an empty server: the state is gone with the old one
    assert fast_store.load() == MaintenanceState()
    assert change(fast_store, 1)


@pytest.mark.parametrize("warm", [True, False], ids=["pooled-connection", "new-connection"])
def test_redis_paused_call_fails_within_the_timeout(
    own_redis: servers.RedisServer, fast_store: RedisStore, warm: bool
) -> None:
    """A frozen server makes a call fail with StoreError after about the
    timeout (0.3 s here), whether a connection was pooled or not."""
    if warm:
        fast_store.ping()
    own_redis.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreError):
            fast_store.load()
        elapsed = time.monotonic() - started
    finally:
        own_redis.resume()
    assert elapsed < 2.0


def test_redis_after_a_timeout_the_next_call_reads_its_own_reply(
    own_redis: servers.RedisServer, fast_store: RedisStore
) -> None:
    """A reply that arrives after its call timed out is never read by the
    next call: after resume, load returns the state, not the late audit list."""
    change(fast_store, 1)
    own_redis.pause()
    try:
        with pytest.raises(StoreError):
            fast_store.read_audit()
    finally:
        own_redis.resume()
    assert fast_store.load() == enabled(1)
    assert [r.version for r in fast_store.read_audit()] == [1]


def test_redis_error_reply_is_a_store_error(fast_store: RedisStore) -> None:
    """A server error reply (here WRONGTYPE on the audit key) is StoreError."""
    fast_store.client.set("maintguard:audit", "not a stream")
    with pytest.raises(StoreError):
        fast_store.read_audit()


def test_redis_subscriber_reconnects_after_a_restart(
    own_redis: servers.RedisServer, fast_store: RedisStore
) -> None:
    """After Redis restarts the subscriber reconnects, reports a possible
    change (it may have missed some), and hears later changes again."""
    heard = threading.Event()
    stop = fast_store.subscribe(heard.set)
    assert stop is not None
    try:
        assert heard.wait(5), "never subscribed"
        own_redis.stop()
        heard.clear()
        own_redis.start()
        assert heard.wait(15), "no notification after reconnecting"
        heard.clear()
        change(fast_store, 1)
        assert heard.wait(1.0)
    finally:
        stop()


def test_redis_subscriber_notices_a_frozen_server(
    own_redis: servers.RedisServer, fast_store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that stops answering (no error, no close) is found by the
    keepalive PING; after it resumes the subscriber reconnects and reports."""
    monkeypatch.setattr(_Subscription, "KEEPALIVE", 0.3)
    heard = threading.Event()
    stop = fast_store.subscribe(heard.set)
    assert stop is not None
    try:
        assert heard.wait(5), "never subscribed"
        heard.clear()
        own_redis.pause()
        try:
            # keepalive + PING timeout + poll, with room to spare
            time.sleep(1.5)
        finally:
            own_redis.resume()
        assert heard.wait(15), "no notification after the server came back"
        heard.clear()
        change(fast_store, 1)
        assert heard.wait(1.0)
    finally:
        stop()


# -- secrets stay out of errors --------------------------------------------------------


def test_redis_error_never_shows_the_password() -> None:
    """A connection error's message and repr omit the URL's password."""
    url = f"redis://user:s3cr3t-pw@127.0.0.1:{servers.free_port()}/0"
    store = RedisStore.from_url(url, timeout=0.3)
    try:
        with pytest.raises(StoreError) as raised:
            store.load()
    finally:
        store.close()
    assert "s3cr3t-pw" not in f"{raised.value} {raised.value!r} {store!r}"
    assert raised.value.__cause__ is None


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_sql_error_never_shows_the_password(scheme: str) -> None:
    """A SQL connection error's message and repr omit the URL's password."""
    url = f"{scheme}://user:s3cr3t-pw@127.0.0.1:{servers.free_port()}/db"
    store = SQLStore.from_url(url, timeout=0.5)
    try:
        with pytest.raises(StoreError) as raised:
            store.load()
    finally:
        store.close()
    assert "s3cr3t-pw" not in f"{raised.value} {raised.value!r} {store!r}"
    assert raised.value.__cause__ is None


# -- fork ---------------------------------------------------------------------------------


def connection_identity(store: StateStore) -> object:
    """Which server-side connection served this call (None for SQLite)."""
    if isinstance(store, RedisStore):
        return store.client.client_id()
    if isinstance(store, SQLStore) and store.name == "postgresql":
        with store.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    return None


def child_work(store: StateStore, parent_connection: object) -> int:
    """In the child: new connections only, many calls, one change."""
    if parent_connection is not None and connection_identity(store) == parent_connection:
        return 3
    for _ in range(100):
        if store.load().version not in (1, 2):
            return 4
    return 0 if store.compare_and_set(1, enabled(2), change_record(2)) else 5


def change_record(version: int) -> AuditRecord:
    return AuditRecord(
        at=datetime.now(timezone.utc),
        actor="child",
        action="enable",
        mode=None,
        reason="",
        version=version,
    )


@pytest.mark.parametrize("kind", ["redis", "sqlite", "postgresql"])
def test_store_works_in_a_forked_child(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A child forked after the parent used the store opens its own
    connections; parent and child work side by side without mixing replies."""
    with open_store(kind, request, tmp_path) as store:
        change(store, 1)
        parent_connection = connection_identity(store)
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            code = 1
            try:
                code = child_work(store, parent_connection)
            finally:
                os._exit(code)
        parent_versions = {store.load().version for _ in range(100)}
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert parent_versions <= {1, 2}
        assert store.load().version == 2


# -- several processes ------------------------------------------------------------------

CHANGER = """
import json, sys, time
from datetime import datetime, timezone
from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.stores import store_from_url

store = store_from_url(sys.argv[1])
state = MaintenanceState(version=1, active=True, reason="from another process")
entry = AuditRecord(at=datetime.now(timezone.utc), actor="other", action="enable",
                    mode=None, reason="from another process", version=1)
ok = store.compare_and_set(0, state, entry)
print(json.dumps({"ok": ok, "at": time.time()}))
store.close()
"""


def run_changer(url: str) -> dict[str, object]:
    """Change the state from a separate Python process; its report."""
    path = os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", CHANGER, url],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_redis_change_in_another_process_reaches_this_subscriber(redis_url: str) -> None:
    """A change made by a separate process is heard here within 1 s."""
    store = RedisStore.from_url(redis_url)
    heard_at: list[float] = []
    ready = threading.Event()

    def on_change() -> None:
        if ready.is_set():
            heard_at.append(time.time())
        ready.set()

    stop = store.subscribe(on_change)
    assert stop is not None
    try:
        assert ready.wait(5), "never subscribed"
        report = run_changer(redis_url)
        deadline = time.monotonic() + 1.0
        while not heard_at and time.monotonic() < deadline:
            time.sleep(0.01)
        assert report["ok"] is True
        assert heard_at, "no notification"
        assert heard_at[0] - float(str(report["at"])) < 1.0
        assert store.load().reason == "from another process"
    finally:
        stop()
        store.close()


def test_sqlite_change_in_another_process_is_loaded_here(tmp_path: Path) -> None:
    """Two processes share one SQLite file: a change there is loaded here."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = SQLStore.from_url(url)
    try:
        store.create_schema()
        assert store.load().version == 0
        assert run_changer(url)["ok"] is True
        loaded = store.load()
        assert (loaded.version, loaded.reason) == (1, "from another process")
        assert [r.actor for r in store.read_audit()] == ["other"]
    finally:
        store.close()
