"""Store loss is not "off": a flushed, evicted or restored store keeps the
last known state, which one process writes back and says so.

The manuals bring the loss about themselves: the security-incident step runs
``redis-cli flushdb``, the deployment guide sets ``maxmemory-policy
allkeys-lru`` and the rollback procedure restores an older ``dump.rdb`` or
database. Every test here runs against the real server.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib
import sqlalchemy as sa

from maintguard import MaintenanceService, RequestInfo
from maintguard.effects.events import EventKind, MaintenanceEvent
from maintguard.exceptions import StoreError
from maintguard.stores.redis import RedisStore
from maintguard.stores.sql import SQLStore
from tests.servers import RedisServer
from tests.test_service_faults import wait_for

UPLOAD = RequestInfo("POST", "/upload")
READ = RequestInfo("GET", "/dashboard")
LOST = "[MAINTENANCE] State store lost its state: restored version="


def _redis_service(url: str, **options: object) -> MaintenanceService:
    return MaintenanceService(RedisStore.from_url(url), refresh_interval=0.05, **options)  # type: ignore[arg-type]


def _lost_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(LOST)]


@pytest.fixture
def raw_redis(redis_url: str) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_url)
    yield client
    client.close()


def test_flushdb_during_an_emergency_keeps_the_emergency(
    redis_url: str, raw_redis: redis_lib.Redis
) -> None:
    """The security-incident step's ``redis-cli flushdb`` does not end the
    emergency: reads stay blocked on a running worker."""
    service = _redis_service(redis_url)
    service.enable_emergency("Security incident", background=False)
    raw_redis.flushdb()
    assert wait_for(lambda: raw_redis.exists("maintguard:state") == 1)
    assert service.decide(READ).blocked
    assert "emergency" == service.get_maintenance_status().mode.value
    service.close()


def test_flushdb_writes_the_last_known_state_back(
    redis_url: str, raw_redis: redis_lib.Redis
) -> None:
    """The state key comes back with the version and mode every worker saw."""
    service = _redis_service(redis_url)
    service.enable_emergency("Security incident", background=False)
    version = service.get_maintenance_status().version
    raw_redis.flushdb()
    assert wait_for(lambda: raw_redis.exists("maintguard:state") == 1)
    stored = json.loads(raw_redis.get("maintguard:state") or b"{}")
    assert (version, "emergency", True) == (stored["version"], stored["mode"], stored["active"])
    service.close()


def test_flushdb_logs_one_error_line(
    redis_url: str, raw_redis: redis_lib.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """An ERROR line in the documented form says what was restored."""
    service = _redis_service(redis_url)
    service.enable_emergency("Security incident", background=False)
    version = service.get_maintenance_status().version
    with caplog.at_level(logging.INFO, logger="maintguard"):
        raw_redis.flushdb()
        assert wait_for(lambda: bool(_lost_lines(caplog)))
    (line,) = _lost_lines(caplog)
    assert logging.ERROR == line.levelno
    assert line.getMessage().startswith(f"{LOST}{version} mode=emergency")
    service.close()


def test_flushdb_records_restore_in_the_audit(redis_url: str, raw_redis: redis_lib.Redis) -> None:
    """The emptied audit stream gets a ``restore`` record by maintguard."""
    service = _redis_service(redis_url)
    service.enable_maintenance("Database upgrade")
    raw_redis.flushdb()
    assert wait_for(lambda: bool(service.get_audit_log(5)))
    (record,) = service.get_audit_log(5)
    assert ("restore", "maintguard", 1) == (record.action, record.actor, record.version)
    service.close()


def test_flushdb_emits_a_store_lost_event(redis_url: str, raw_redis: redis_lib.Redis) -> None:
    """Notifiers hear ``store_lost`` with the restored state."""
    heard: list[MaintenanceEvent] = []
    got = threading.Event()

    def listener(event: MaintenanceEvent) -> None:
        heard.append(event)
        if event.kind is EventKind.STORE_LOST:
            got.set()

    service = MaintenanceService(
        RedisStore.from_url(redis_url), refresh_interval=0.05, notifiers=[listener]
    )
    service.enable_maintenance("Database upgrade")
    raw_redis.flushdb()
    assert got.wait(5)
    lost = [e for e in heard if e.kind is EventKind.STORE_LOST]
    assert ("store_lost", True) == (lost[0].to_dict()["event"], lost[0].state.active)
    service.close()


def test_several_workers_restore_the_state_once(
    redis_url: str, raw_redis: redis_lib.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Compare-and-set on absence: four workers notice, one writes it back."""
    workers = [_redis_service(redis_url) for _ in range(4)]
    workers[0].enable_maintenance("Database upgrade")
    for worker in workers:
        assert wait_for(lambda w=worker: w.decide(UPLOAD).blocked)  # type: ignore[misc]
    with caplog.at_level(logging.INFO, logger="maintguard"):
        raw_redis.flushdb()
        assert wait_for(lambda: raw_redis.exists("maintguard:state") == 1)
        for worker in workers:
            worker.snapshot.refresh()
    assert 1 == len(_lost_lines(caplog))
    assert ["restore"] == [r.action for r in workers[0].get_audit_log(10)]
    for worker in workers:
        worker.close()


def test_an_older_dump_restored_is_store_loss(redis_url: str, raw_redis: redis_lib.Redis) -> None:
    """The rollback procedure restores an older ``dump.rdb``: the state at a
    lower version is not adopted, blocked routes stay blocked."""
    service = _redis_service(redis_url)
    backup = raw_redis.get("maintguard:state")  # nothing yet: back up an early state
    service.enable_maintenance("Before the backup")
    backup = raw_redis.get("maintguard:state")
    service.disable_maintenance()
    service.enable_maintenance("Database upgrade")
    current = service.get_maintenance_status().version
    raw_redis.set("maintguard:state", backup or b"")
    assert wait_for(
        lambda: json.loads(raw_redis.get("maintguard:state") or b"{}")["version"] == current
    )
    assert service.decide(UPLOAD).blocked
    assert "Database upgrade" == service.get_maintenance_status().reason
    service.close()


def test_disable_after_flushdb_ends_maintenance(
    redis_url: str, raw_redis: redis_lib.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """``disable`` right after a flush still ends maintenance and says so."""
    service = MaintenanceService(RedisStore.from_url(redis_url), refresh_interval=3600)
    service.enable_maintenance("Database upgrade")
    raw_redis.flushdb()
    with caplog.at_level(logging.INFO, logger="maintguard"):
        status = service.disable_maintenance("ops")
    assert not status.is_active
    assert any("Maintenance mode deactivated" in r.getMessage() for r in caplog.records)
    assert ["disable", "restore"] == [r.action for r in service.get_audit_log(10)]
    service.close()


def test_the_state_key_has_no_ttl(redis_url: str, raw_redis: redis_lib.Redis) -> None:
    """No eviction by expiry: the state key never carries a TTL."""
    service = _redis_service(redis_url)
    service.enable_maintenance("Database upgrade")
    raw_redis.expire("maintguard:state", 60)  # as a misguided script might
    service.enable_maintenance("Database upgrade, longer", duration=3600)
    assert -1 == raw_redis.ttl("maintguard:state")
    service.close()


def test_an_evicting_maxmemory_policy_is_warned_about_at_start_up(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The deployment guide's ``allkeys-lru`` may evict the state key: the
    first start of a worker warns, naming the setting."""
    client = redis_lib.Redis.from_url(own_redis.url)
    client.config_set("maxmemory-policy", "allkeys-lru")
    client.close()
    service = _redis_service(own_redis.url)
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.decide(UPLOAD)
    warnings = [r for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    assert [logging.WARNING] == [r.levelno for r in warnings]
    assert "allkeys-lru" in warnings[0].getMessage()
    service.close()


def test_a_non_evicting_policy_is_not_warned_about(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The fixture's default ``noeviction`` gives no warning."""
    service = _redis_service(redis_url)
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.decide(UPLOAD)
    assert not [r for r in caplog.records if "maxmemory-policy" in r.getMessage()]
    service.close()


# -- SQL ------------------------------------------------------------------------


@pytest.fixture
def pg_store(postgresql_url: str) -> Iterator[Callable[[], SQLStore]]:
    """Stores on one set of fresh PostgreSQL tables (dropped afterwards)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    made: list[SQLStore] = []

    def make() -> SQLStore:
        store = SQLStore.from_url(
            postgresql_url,
            table_name=f"{prefix}_state",
            audit_table_name=f"{prefix}_audit",
            counters_table_name=f"{prefix}_attempts",
        )
        made.append(store)
        return store

    make().create_schema()
    yield make
    from tests.test_store_contract import drop_tables

    drop_tables(made[0])
    for store in made[1:]:
        store.close()


def _pg_service(store: SQLStore) -> MaintenanceService:
    return MaintenanceService(store, refresh_interval=0.05)


def test_a_deleted_sql_row_is_restored(pg_store: Callable[[], SQLStore]) -> None:
    """``DELETE FROM maintguard_state`` on PostgreSQL: the row comes back
    with the last known state, and uploads stay blocked meanwhile."""
    store = pg_store()
    service = _pg_service(store)
    service.enable_maintenance("Database upgrade")
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {store._state.name}"))  # noqa: S608
    assert wait_for(lambda: service.get_audit_log(1)[0].action == "restore")
    assert (True, 1) == (store.load().active, store.load().version)
    assert service.decide(UPLOAD).blocked
    service.close()


def test_a_dropped_sql_table_is_restored(pg_store: Callable[[], SQLStore]) -> None:
    """``DROP TABLE`` of the state table: recreated, state written back."""
    store = pg_store()
    service = _pg_service(store)
    service.enable_emergency("Security incident", background=False)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {store._state.name}"))
    assert wait_for(lambda: service.get_audit_log(1)[0].action == "restore")
    assert ("emergency", True) == (store.load().mode.value, store.load().active)
    service.close()


def test_a_manual_sql_repair_is_not_store_loss(pg_store: Callable[[], SQLStore]) -> None:
    """The troubleshooting manual's ``UPDATE … SET active = false`` changes
    content at the same version: adopted, nothing restored."""
    store = pg_store()
    service = _pg_service(store)
    service.enable_maintenance("Database upgrade")
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {store._state.name} SET active = false"))  # noqa: S608
    assert wait_for(lambda: not service.decide(UPLOAD).blocked)
    assert ["enable"] == [r.action for r in service.get_audit_log(10)]
    service.close()


def test_a_sqlite_store_without_tables_names_init_db(tmp_path: Path) -> None:
    """An app whose SQLite store has no schema hears what to run, with its URL."""
    url = f"sqlite:///{tmp_path / 'maint.db'}"
    service = MaintenanceService(url)
    with pytest.raises(StoreError, match=r"maintguard init-db --store sqlite:///"):
        service.enable_maintenance("Database upgrade")
    service.close()


def test_a_sqlite_store_without_tables_says_so_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The first request's start-up logs what to run, not ``error=StoreError``."""
    url = f"sqlite:///{tmp_path / 'maint.db'}"
    service = MaintenanceService(url)
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.decide(UPLOAD)
    (line,) = [r.getMessage() for r in caplog.records if "State store" in r.getMessage()]
    assert f"maintguard init-db --store {url}" in line
    assert "error=StoreError" not in line
    service.close()


def test_a_nul_in_a_blocked_path_never_jams_the_postgresql_counters(
    pg_store: Callable[[], SQLStore],
) -> None:
    """One anonymous ``POST /upload%00`` used to make every later flush to
    PostgreSQL fail; now the sample is escaped and every count arrives."""
    store = pg_store()
    service = MaintenanceService(store, refresh_interval=3600)
    service.enable_maintenance("Database upgrade")
    for path in ("/upload\x00", "/upload\ud800", "/upload"):
        info = RequestInfo("POST", path)
        service.record(info, service.decide(info))
    service.flush()
    totals = store.read_attempts(service.view().epoch)
    samples = [path for paths in totals.samples.values() for path in paths]
    # Per-minute counters sit beside the operation types' (``minute:<n>``).
    assert 3 == sum(n for key, n in totals.blocked.items() if not key.startswith("minute:"))
    assert "/upload\\x00" in samples
    service.close()


def test_a_batch_the_database_refuses_is_dropped_with_one_line(
    pg_store: Callable[[], SQLStore], caplog: pytest.LogCaptureFixture
) -> None:
    """A batch refused for its data (not for the connection) is not queued
    again forever: it is dropped, logged once, and the next batch arrives."""
    from maintguard.stores.base import AttemptBatch

    store = pg_store()
    service = MaintenanceService(store, refresh_interval=3600)
    service.enable_maintenance("Database upgrade")
    epoch = service.view().epoch
    bad = AttemptBatch(epoch, {"IMAGE_PROCESSING": 1}, samples={"IMAGE_PROCESSING": ["/x\x00"]})
    service.counters._epoch = epoch  # as after a first blocked request
    service.counters._give_back(bad)  # a batch as a failed flush keeps it
    with caplog.at_level(logging.INFO, logger="maintguard"):
        service.flush()
        info = RequestInfo("POST", "/upload")
        service.record(info, service.decide(info))
        service.flush()
    dropped = [r for r in caplog.records if "Attempt counters dropped" in r.getMessage()]
    assert 1 == len(dropped)
    assert 1 == store.read_attempts(epoch).blocked["IMAGE_PROCESSING"]
    service.close()
