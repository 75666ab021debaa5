"""`disable --force` repairs a stored value nobody can read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from maintguard import CorruptStateError, MaintenanceService, RequestInfo, StateStore

UPLOAD = RequestInfo("POST", "/upload")


def _redis(redis_url: str, tmp_path: Path) -> tuple[StateStore, Callable[[], None]]:
    import redis

    from maintguard.stores.redis import RedisStore

    store = RedisStore.from_url(redis_url)

    def corrupt() -> None:
        client = redis.Redis.from_url(redis_url)
        client.set("maintguard:state", b"{not json")
        client.close()

    return store, corrupt


def _sqlite(redis_url: str, tmp_path: Path) -> tuple[StateStore, Callable[[], None]]:
    import sqlalchemy as sa

    from maintguard.stores.sql import SQLStore

    store = SQLStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    store.create_schema()

    def corrupt() -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE maintguard_state SET mode = 'bogus'"))

    return store, corrupt


@pytest.mark.parametrize("backend", [_redis, _sqlite], ids=["redis", "sqlite"])
def test_force_disable_overwrites_a_corrupt_state(
    backend: Callable[..., tuple[StateStore, Callable[[], None]]], redis_url: str, tmp_path: Path
) -> None:
    """A plain disable refuses; --force writes "off" above every audited version."""
    store, corrupt = backend(redis_url, tmp_path)
    service = MaintenanceService(store)
    service.enable_maintenance("Upgrade")
    corrupt()
    with pytest.raises(CorruptStateError):
        service.disable_maintenance()
    status = service.disable_maintenance("ops", force=True)
    assert (False, 2) == (status.is_active, status.version)
    assert ("repair", "ops") == (store.read_audit(1)[0].action, store.read_audit(1)[0].actor)
    assert (False, 2) == (store.load().active, store.load().version)
    assert service.decide(UPLOAD).allowed
    service.close()


def test_a_manual_sql_repair_reaches_running_workers(tmp_path: Path) -> None:
    """The troubleshooting manual's UPDATE ends maintenance on a running worker
    within its refresh interval, though the version did not change."""
    import time

    import sqlalchemy as sa

    from maintguard.stores.sql import SQLStore

    url = f"sqlite:///{tmp_path / 'state.db'}"
    schema = SQLStore.from_url(url)
    schema.create_schema()
    worker = MaintenanceService(SQLStore.from_url(url), refresh_interval=0.05)
    worker.enable_maintenance("Upgrade")
    assert worker.decide(UPLOAD).blocked
    with schema.engine.begin() as conn:
        conn.execute(sa.text("UPDATE maintguard_state SET active = false"))
    deadline = time.monotonic() + 2
    while worker.decide(UPLOAD).blocked and time.monotonic() < deadline:
        time.sleep(0.02)
    assert worker.decide(UPLOAD).allowed
    worker.close()
    schema.close()
