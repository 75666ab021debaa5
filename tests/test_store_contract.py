"""The ``StateStore`` contract, run against every backend on real servers.

The ``store`` fixture yields a fresh, empty store of each kind: memory,
Redis (a flushed database), SQLite (a file of the test's own), PostgreSQL and
MariaDB (tables named for the test, dropped afterwards).
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from maintguard.core.state import AuditRecord, MaintenanceState, Mode, ScheduledWindow
from maintguard.exceptions import CorruptStateError, MissingExtraError, StoreError
from maintguard.stores import MemoryStore, StateStore, store_from_url
from maintguard.stores.base import SAMPLE_LIMIT, AttemptBatch, AttemptCounts
from maintguard.stores.redis import RedisStore
from maintguard.stores.sql import SQLStore
from tests import servers

KINDS = ["memory", "redis", "sqlite", "postgresql", "mariadb"]
SQL_KINDS = ["sqlite", "postgresql", "mariadb"]
T0 = datetime(2026, 11, 27, 8, 0, 0, 123456, tzinfo=timezone.utc)


# -- building stores (also used by the state-machine and fault tests) --------


def sql_url(kind: str, request: pytest.FixtureRequest, directory: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'maint.db'}"
    return str(request.getfixturevalue(f"{kind}_url"))


def drop_tables(store: SQLStore) -> None:
    """Remove a test's tables from a shared server."""
    store.close()
    names = [store._state.name, store._audit.name, store._counters.name, store._samples.name]
    with store.engine.begin() as conn:
        for name in names:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    store.engine.dispose()


@contextlib.contextmanager
def open_store(
    kind: str, request: pytest.FixtureRequest, directory: Path, *, schema: bool = True
) -> Iterator[StateStore]:
    """A fresh store of ``kind``; SQL stores get unique table names."""
    if kind == "memory":
        yield MemoryStore()
        return
    if kind == "redis":
        store: StateStore = RedisStore.from_url(request.getfixturevalue("redis_url"))
        try:
            yield store
        finally:
            store.close()
        return
    prefix = f"t{uuid.uuid4().hex[:10]}"
    sql = SQLStore.from_url(
        sql_url(kind, request, directory),
        table_name=f"{prefix}_state",
        audit_table_name=f"{prefix}_audit",
        counters_table_name=f"{prefix}_attempts",
    )
    try:
        if schema:
            sql.create_schema()
        yield sql
    finally:
        drop_tables(sql)


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    with open_store(request.param, request, tmp_path) as built:
        yield built


@pytest.fixture(params=SQL_KINDS)
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLStore]:
    with open_store(request.param, request, tmp_path) as built:
        assert isinstance(built, SQLStore)
        yield built


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisStore]:
    built = RedisStore.from_url(redis_url)
    try:
        yield built
    finally:
        built.close()


def enabled(version: int, **changes: object) -> MaintenanceState:
    fields: dict[str, object] = {
        "version": version,
        "active": True,
        "mode": Mode.NORMAL,
        "reason": f"change {version}",
        "started_at": T0,
        "updated_at": T0 + timedelta(seconds=version),
    }
    fields.update(changes)
    return MaintenanceState(**fields)  # type: ignore[arg-type]


def record(version: int, action: str = "enable", **changes: object) -> AuditRecord:
    fields: dict[str, object] = {
        "at": T0 + timedelta(seconds=version),
        "actor": "alice",
        "action": action,
        "mode": Mode.NORMAL,
        "reason": f"change {version}",
        "version": version,
    }
    fields.update(changes)
    return AuditRecord(**fields)  # type: ignore[arg-type]


def change(store: StateStore, version: int) -> bool:
    """Move the store from ``version - 1`` to ``version``."""
    return store.compare_and_set(version - 1, enabled(version), record(version))


# -- state and compare-and-set ---------------------------------------------------


def test_empty_store_loads_initial_state(store: StateStore) -> None:
    """A store nobody has written holds version 0, inactive."""
    assert MaintenanceState() == store.load()


def test_compare_and_set_on_current_version_stores_state(store: StateStore) -> None:
    """A compare-and-set on the current version succeeds and is loaded back."""
    assert store.compare_and_set(0, enabled(1), record(1)) is True
    assert enabled(1) == store.load()


def test_compare_and_set_on_stale_version_changes_nothing(store: StateStore) -> None:
    """A stale expected version returns False and writes neither state nor audit."""
    change(store, 1)
    assert store.compare_and_set(0, enabled(2, reason="stale"), record(2)) is False
    assert enabled(1) == store.load()
    assert [r.version for r in store.read_audit()] == [1]


def test_audit_version_matches_state_version(store: StateStore) -> None:
    """Each change's audit record carries the state's version after the change."""
    for version in (1, 2, 3):
        change(store, version)
    assert store.load().version == store.read_audit(1)[0].version == 3


def test_audit_is_newest_first_and_limited(store: StateStore) -> None:
    """``read_audit(limit)`` returns the newest ``limit`` records, newest first."""
    for version in range(1, 6):
        change(store, version)
    assert [r.version for r in store.read_audit(3)] == [5, 4, 3]
    assert store.read_audit(0) == []


def test_every_state_field_round_trips(store: StateStore) -> None:
    """Every field comes back equal: microsecond times, operations, window,
    progress, and text with Unicode, quotes and newlines."""
    state = MaintenanceState(
        version=1,
        active=True,
        mode=Mode.TEST,
        reason="Ünïcødé “quotes” 'single' \"double\"\nsecond line\t✓ 🚧",
        message="Back soon — <b>really</b>",
        started_at=T0,
        estimated_duration=5400.25,
        ends_at=T0 + timedelta(hours=2, microseconds=7),
        operations=frozenset({"JOB_CREATION", "IMAGE_PROCESSING"}),
        updated_at=T0 + timedelta(microseconds=1),
        updated_by="deploy-bot",
        window=ScheduledWindow(
            reason="next window",
            starts_at=T0 + timedelta(days=1),
            ends_at=T0 + timedelta(days=1, hours=1),
            mode=Mode.EMERGENCY,
            message="m",
            created_by="bob",
            operations=frozenset({"BATCH_OPERATIONS"}),
        ),
        progress={"sessions": {"invalidated": 3, "complete": True}, "jobs": [1, 2]},
    )
    store.compare_and_set(0, state, record(1))
    assert state == store.load()


def test_audit_record_round_trips(store: StateStore) -> None:
    """An audit record comes back equal, details and all."""
    sent = record(
        1,
        action="emergency",
        mode=Mode.EMERGENCY,
        reason="db\n“down”",
        details={"terminate_jobs": True, "grace_period": 30},
    )
    store.compare_and_set(0, enabled(1), sent)
    assert [sent] == store.read_audit()


def test_disabled_state_round_trips_without_mode_fields(store: StateStore) -> None:
    """A disable (inactive, no times, no operations) loads back exactly."""
    change(store, 1)
    disabled = MaintenanceState(version=2, active=False, updated_at=T0, updated_by="alice")
    assert store.compare_and_set(1, disabled, record(2, action="disable", mode=None))
    assert disabled == store.load()


# -- concurrency -------------------------------------------------------------------


def run_threads(count: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_concurrent_compare_and_set_has_one_winner(store: StateStore) -> None:
    """50 threads racing on the same expected version: exactly one wins."""
    barrier = threading.Barrier(50)
    results: list[bool] = []
    errors: list[BaseException] = []

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            results.append(store.compare_and_set(0, enabled(1, reason=f"t{i}"), record(1)))
        except BaseException as exc:
            errors.append(exc)

    run_threads(50, attempt)
    assert (errors, results.count(True), results.count(False)) == ([], 1, 49)
    assert [r.version for r in store.read_audit()] == [1]


def test_concurrent_retrying_changes_lose_nothing(store: StateStore) -> None:
    """50 threads each retrying until their change lands: version 50, and 50
    audit records with versions 1…50, one each.

    At most 10 retry at once: the SQL stores' pool holds 15 connections, and
    on a loaded machine 50 threads looping through it wait past the pool's
    timeout (a StoreError, rightly) — a test of the pool, not of the race."""
    errors: list[BaseException] = []
    at_once = threading.BoundedSemaphore(10)

    def retry_until_done(i: int) -> None:
        try:
            with at_once:
                while True:
                    current = store.load().version
                    if store.compare_and_set(current, enabled(current + 1), record(current + 1)):
                        return
        except BaseException as exc:
            errors.append(exc)

    run_threads(50, retry_until_done)
    assert errors == []
    assert store.load().version == 50
    assert list(range(50, 0, -1)) == [r.version for r in store.read_audit(100)]


# -- counters -------------------------------------------------------------------------


def test_counters_are_summed_across_batches(store: StateStore) -> None:
    """Blocked and simulated counts of one epoch add up over batches."""
    store.record_attempts(AttemptBatch("e1", blocked={"JOB_CREATION": 2}, simulated={"X": 1}))
    store.record_attempts(AttemptBatch("e1", blocked={"JOB_CREATION": 3, "BATCH_OPERATIONS": 1}))
    assert AttemptCounts(
        blocked={"JOB_CREATION": 5, "BATCH_OPERATIONS": 1}, simulated={"X": 1}, samples={}
    ) == store.read_attempts("e1")


def test_counters_are_kept_per_epoch(store: StateStore) -> None:
    """A new epoch starts at zero, and a late batch of an older epoch leaves
    the newer one's counters intact (epochs sort by their start)."""
    store.record_attempts(AttemptBatch("e1", blocked={"JOB_CREATION": 7}, samples={"A": ["/a"]}))
    store.record_attempts(AttemptBatch("e2", blocked={"JOB_CREATION": 1}))
    store.record_attempts(AttemptBatch("e1", blocked={"JOB_CREATION": 2}))
    store.record_attempts(AttemptBatch("e2", blocked={"JOB_CREATION": 1}))
    assert store.read_attempts("e2").blocked == {"JOB_CREATION": 2}
    assert dict(store.read_attempts("e2").samples) == {}


def test_samples_are_distinct_and_capped(store: StateStore) -> None:
    """Sample paths are kept once each, in arrival order, at most SAMPLE_LIMIT."""
    paths = [f"/upload/{i}" for i in range(SAMPLE_LIMIT + 10)]
    store.record_attempts(AttemptBatch("e1", samples={"IMAGE_PROCESSING": ["/upload/0"] * 3}))
    store.record_attempts(AttemptBatch("e1", samples={"IMAGE_PROCESSING": paths}))
    assert paths[:SAMPLE_LIMIT] == list(store.read_attempts("e1").samples["IMAGE_PROCESSING"])


def test_unknown_epoch_reads_empty(store: StateStore) -> None:
    """Reading counters of an epoch nobody recorded gives empty counts."""
    assert AttemptCounts() == store.read_attempts("never")


# -- housekeeping ----------------------------------------------------------------------


def test_ping_succeeds_on_a_working_store(store: StateStore) -> None:
    """``ping`` returns quietly when the store answers."""
    store.ping()


def test_store_is_usable_after_close(store: StateStore) -> None:
    """``close`` releases connections; the next call opens new ones."""
    change(store, 1)
    store.close()
    assert store.load().version == 1


@pytest.mark.parametrize("kind", KINDS)
def test_store_from_url_builds_each_backend(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """``store_from_url`` builds the backend a URL names, with its short name."""
    urls = {"memory": "memory://", "redis": "redis_url"}
    url = urls.get(kind) or sql_url(kind, request, tmp_path)
    if url == "redis_url":
        url = request.getfixturevalue("redis_url")
    built = store_from_url(url)
    try:
        expected = {"mariadb": "mysql"}.get(kind, kind)
        assert (expected, True) == (built.name, isinstance(built, StateStore))
    finally:
        built.close()


# -- Redis specifics ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"{not json",
        b"[1, 2]",
        b'{"version": "one", "active": true}',
        b'{"active": true}',
        b'{"version": 1, "active": true, "mode": "bogus"}',
        b"\xff\xfe",
    ],
    ids=["invalid-json", "array", "string-version", "no-version", "unknown-mode", "not-utf8"],
)
def test_redis_corrupt_value_raises_corrupt_state_error(
    redis_store: RedisStore, garbage: bytes
) -> None:
    """Garbage in the state key loads as CorruptStateError, never a raw error."""
    redis_store.client.set("maintguard:state", garbage)
    with pytest.raises(CorruptStateError):
        redis_store.load()


def test_redis_state_key_of_wrong_type_is_corrupt(redis_store: RedisStore) -> None:
    """A state key holding a hash instead of a string is CorruptStateError."""
    redis_store.client.hset("maintguard:state", "version", 1)
    with pytest.raises(CorruptStateError):
        redis_store.load()


def test_redis_compare_and_set_over_garbage_is_corrupt(redis_store: RedisStore) -> None:
    """A compare-and-set refuses to overwrite a value it cannot read."""
    redis_store.client.set("maintguard:state", b"{not json")
    with pytest.raises(CorruptStateError):
        change(redis_store, 1)


def test_redis_keys_honour_the_prefix(redis_url: str) -> None:
    """Two prefixes on one database are two independent stores."""
    first = RedisStore.from_url(redis_url, key_prefix="app1")
    second = RedisStore.from_url(redis_url, key_prefix="app2")
    try:
        change(first, 1)
        assert (first.load().version, second.load().version) == (1, 0)
        assert b"app1:state" in first.client.keys("app1:*")
    finally:
        first.close()
        second.close()


def test_redis_subscribe_hears_a_change_made_by_another_instance(redis_url: str) -> None:
    """A change made through a second RedisStore reaches a subscriber within 1 s."""
    listener = RedisStore.from_url(redis_url)
    writer = RedisStore.from_url(redis_url)
    heard = threading.Event()
    stop = listener.subscribe(heard.set)
    assert stop is not None
    try:
        assert heard.wait(5), "the subscription was never established"
        heard.clear()
        started = time.monotonic()
        change(writer, 1)
        assert heard.wait(1.0)
        assert time.monotonic() - started < 1.0
    finally:
        stop()
        listener.close()
        writer.close()


def test_redis_subscribe_stop_ends_the_listener(redis_store: RedisStore) -> None:
    """After stop() the listener thread is gone and hears nothing more."""
    calls: list[float] = []
    stop = redis_store.subscribe(lambda: calls.append(time.monotonic()))
    assert stop is not None
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    stop()
    heard = len(calls)
    change(redis_store, 1)
    time.sleep(0.3)
    assert heard == len(calls)
    assert not [t for t in threading.enumerate() if t.name == "maintguard-redis-subscriber"]


def test_redis_store_accepts_an_injected_client(redis_url: str) -> None:
    """A store built around the application's own client uses it."""
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, decode_responses=True)
    built = RedisStore(client, key_prefix="injected")
    try:
        change(built, 1)
        assert (built.load().version, [r.version for r in built.read_audit()]) == (1, [1])
        assert "injected:state" in client.keys("injected:*")
    finally:
        built.close()


def test_redis_undecodable_value_through_a_decoding_client_is_corrupt(redis_url: str) -> None:
    """Bytes that are not UTF-8, read by a client that decodes replies, are
    CorruptStateError rather than a raw UnicodeDecodeError."""
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, decode_responses=True)
    built = RedisStore(client)
    try:
        built.client.set("maintguard:state", b"\xff\xfe")
        with pytest.raises(CorruptStateError):
            built.load()
    finally:
        built.close()


@pytest.fixture
def sentinel(redis_server: servers.RedisServer, tmp_path: Path) -> Iterator[int]:
    """A Redis Sentinel watching the session's Redis as ``mymaster``."""
    port = servers.free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nprotected-mode no\n"
        f"sentinel monitor mymaster 127.0.0.1 {redis_server.port} 1\n"
    )
    process = subprocess.Popen(
        [redis_server.binary, str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        servers.wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_redis_sentinel_url_reaches_the_master(sentinel: int, redis_url: str) -> None:
    """``redis+sentinel://host:port/service/db`` finds the master through Sentinel."""
    built = store_from_url(f"redis+sentinel://127.0.0.1:{sentinel}/mymaster/0")
    plain = RedisStore.from_url(redis_url)
    try:
        change(built, 1)
        assert (built.load().version, plain.load().version) == (1, 1)
    finally:
        built.close()
        plain.close()


# -- SQL specifics ------------------------------------------------------------------------


def test_sql_create_schema_is_idempotent(sql_store: SQLStore) -> None:
    """A second create_schema keeps the tables and the current state."""
    change(sql_store, 1)
    sql_store.create_schema()
    assert (sql_store.load().version, len(sql_store.read_audit())) == (1, 1)


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_sql_load_before_create_schema_names_the_fix(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Before create_schema, load and compare_and_set fail with StoreError
    saying how to create the tables, and create nothing themselves."""
    with open_store(kind, request, tmp_path, schema=False) as built:
        with pytest.raises(StoreError, match=r"create_schema\(\).*init-db"):
            built.load()
        with pytest.raises(StoreError, match=r"create_schema\(\)"):
            change(built, 1)
        assert isinstance(built, SQLStore)
        assert not sa.inspect(built.engine).has_table(built._state.name)


def update_state_row(store: SQLStore, assignment: str) -> None:
    """Run a manual UPDATE on the state row, as an operator would."""
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {store._state.name} SET {assignment}"))  # noqa: S608


def test_sql_manual_repair_ends_maintenance(sql_store: SQLStore) -> None:
    """``UPDATE … SET active = false`` (version untouched) loads as inactive."""
    change(sql_store, 1)
    update_state_row(sql_store, "active = false")
    loaded = sql_store.load()
    assert (loaded.active, loaded.version) == (False, 1)


@pytest.mark.parametrize(
    "assignment",
    [
        "mode = 'bogus'",
        "extra = '{'",
        "extra = '[1]'",
        'extra = \'{"operations": ["not a type"]}\'',
        "version = -1",
    ],
    ids=["unknown-mode", "broken-json", "extra-not-object", "malformed-operation", "negative"],
)
def test_sql_corrupt_row_raises_corrupt_state_error(sql_store: SQLStore, assignment: str) -> None:
    """A row a repair left unreadable loads as CorruptStateError."""
    update_state_row(sql_store, assignment)
    with pytest.raises(CorruptStateError):
        sql_store.load()


def test_sql_missing_state_row_names_the_fix(sql_store: SQLStore) -> None:
    """A deleted state row is StoreError pointing at create_schema."""
    with sql_store.engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {sql_store._state.name}"))  # noqa: S608
    with pytest.raises(StoreError, match=r"create_schema\(\)"):
        sql_store.load()


def test_sql_audit_keeps_the_newest_audit_limit_records(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Older audit rows beyond ``audit_limit`` are pruned, newest kept."""
    built = SQLStore.from_url(sql_url("sqlite", request, tmp_path), audit_limit=3)
    try:
        built.create_schema()
        for version in range(1, 8):
            change(built, version)
        assert [r.version for r in built.read_audit(100)] == [7, 6, 5]
    finally:
        built.close()


def test_sql_subscribe_returns_none(sql_store: SQLStore) -> None:
    """The SQL store has no notifications: subscribe returns None."""
    assert sql_store.subscribe(lambda: None) is None


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("postgresql+pg8000://u@127.0.0.1/db", "postgresql"),
        ("mysql+mysqldb://u@127.0.0.1/db", "mysql"),
    ],
)
def test_sql_missing_driver_names_the_extra(url: str, extra: str) -> None:
    """A URL whose DBAPI driver is not installed names the extra to install."""
    with pytest.raises(MissingExtraError, match=rf"maintguard\[{extra}\]"):
        SQLStore.from_url(url)


def test_the_newest_epochs_are_kept(store: StateStore) -> None:
    """At least the newest EPOCH_LIMIT epochs stay readable, whatever came before."""
    from maintguard.stores.base import EPOCH_LIMIT

    epochs = [f"e{i:02d}" for i in range(EPOCH_LIMIT + 2)]
    for epoch in epochs:
        store.record_attempts(AttemptBatch(epoch, blocked={"JOB_CREATION": 1}))
    kept = [store.read_attempts(epoch).blocked for epoch in epochs[-EPOCH_LIMIT:]]
    assert [{"JOB_CREATION": 1}] * EPOCH_LIMIT == kept
