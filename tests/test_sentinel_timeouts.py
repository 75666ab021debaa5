"""The store's timeout on a Sentinel URL: hung sentinels cost one timeout, not one each.

A new connection asks the sentinels one by one which server is the master.
With each asked for the whole timeout, three frozen sentinels made a cold
start's first request wait three timeouts per store call; the search now
shares one timeout among them, so a Sentinel URL is bounded as a plain
Redis URL is (``tests/test_service_faults.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from maintguard import MaintenanceService, RequestInfo
from maintguard.exceptions import StoreError
from maintguard.stores.redis import RedisStore
from tests.sentinel import SentinelGroup, sentinel_group

pytestmark = pytest.mark.services

TIMEOUT = 0.3
UPLOAD = RequestInfo("POST", "/upload")


@pytest.fixture(scope="module")
def group() -> Iterator[SentinelGroup]:
    with sentinel_group() as running:
        yield running


def test_every_sentinel_hung_fails_a_call_within_about_the_timeout(group: SentinelGroup) -> None:
    store = RedisStore.from_url(group.url, timeout=TIMEOUT)
    try:
        with group.frozen_sentinels(3):
            started = time.monotonic()
            with pytest.raises(StoreError):
                store.load()
            elapsed = time.monotonic() - started
    finally:
        store.close()
    # Three sentinels asked for the whole timeout each took 0.9 s.
    assert elapsed < TIMEOUT + 0.3


def test_cold_start_with_every_sentinel_hung_serves_as_with_redis_down(
    group: SentinelGroup,
) -> None:
    """A new worker with no state serves at once (open), bounded as on plain Redis."""
    service = MaintenanceService(RedisStore.from_url(group.url, timeout=TIMEOUT))
    try:
        with group.frozen_sentinels(3):
            started = time.monotonic()
            allowed = service.decide(UPLOAD).allowed
            elapsed = time.monotonic() - started
        assert allowed
        assert elapsed < TIMEOUT + 0.5
    finally:
        service.close()


def test_one_hung_sentinel_leaves_the_store_working(group: SentinelGroup) -> None:
    """The others still name the master: changes go through and read back."""
    service = MaintenanceService(RedisStore.from_url(group.url, timeout=TIMEOUT))
    try:
        with group.frozen_sentinels(1):
            service.enable_maintenance(reason="Index rebuild", enabled_by="alice")
            assert service.store.load().reason == "Index rebuild"
            assert not service.decide(UPLOAD).allowed
    finally:
        service.disable_maintenance("alice")
        service.close()
