"""The application under store faults, against a real redis-server."""

from __future__ import annotations

import time
from collections.abc import Callable

from maintguard import MaintenanceService, RequestInfo
from maintguard.wsgi import MaintenanceMiddleware
from tests.clients import WSGIClient
from tests.servers import RedisServer

UPLOAD = RequestInfo("POST", "/upload")


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _service(redis: RedisServer, **options: object) -> MaintenanceService:
    from maintguard.stores.redis import RedisStore

    store = RedisStore.from_url(redis.url, timeout=0.3)
    return MaintenanceService(store, refresh_interval=0.05, **options)  # type: ignore[arg-type]


def test_redis_stopped_mid_run_keeps_the_last_state_and_recovers(own_redis: RedisServer) -> None:
    """Outage: requests answer from the last known state, health is degraded
    (still 200), and everything recovers by itself when Redis is back."""
    service = _service(own_redis)
    client = WSGIClient(service)
    service.enable_maintenance("Upgrade")
    own_redis.stop()
    assert wait_for(lambda: not service.snapshot.healthy)
    health = client.request("GET", "/api/health/maintenance")
    strict = client.request("GET", "/api/health/maintenance?strict=1")
    assert (200, "degraded", 503) == (health.status, health.json()["status"], strict.status)
    assert 503 == client.request("POST", "/upload").status
    own_redis.start()
    assert wait_for(lambda: service.snapshot.healthy)
    service.disable_maintenance()
    assert 200 == client.request("POST", "/upload").status
    service.close()


def test_black_holed_redis_never_holds_a_request(own_redis: RedisServer) -> None:
    """With Redis frozen, requests are answered from memory at once."""
    service = _service(own_redis)
    client = WSGIClient(service)
    service.enable_maintenance("Upgrade")
    own_redis.pause()
    try:
        started = time.monotonic()
        statuses = [client.request("POST", "/upload").status for _ in range(50)]
        elapsed = time.monotonic() - started
        assert {503} == set(statuses)
        assert elapsed < 0.3  # fifty requests in less than one store timeout
        assert wait_for(lambda: not service.snapshot.healthy)
    finally:
        own_redis.resume()
    service.close()


def test_a_change_during_an_outage_fails_cleanly(own_redis: RedisServer) -> None:
    """The control API answers 503 with a JSON error, not a 500, and no traceback."""
    service = _service(own_redis, admin_tokens="ops:tok-0123456789abcdef")
    client = WSGIClient(service)
    own_redis.stop()
    answer = client.request(
        "POST",
        "/api/maintenance/enable",
        headers={"Authorization": "Bearer tok-0123456789abcdef"},
        body=b'{"reason": "x"}',
    )
    assert (503, "the maintenance state store is unavailable") == (
        answer.status,
        answer.json()["error"],
    )
    service.close()


def test_cold_start_with_redis_down_waits_no_longer_than_the_timeout(
    own_redis: RedisServer,
) -> None:
    """A new worker with no state and no store serves at once (open), bounded."""
    own_redis.pause()
    try:
        service = _service(own_redis)
        started = time.monotonic()
        allowed = service.decide(UPLOAD).allowed
        elapsed = time.monotonic() - started
        assert allowed
        assert elapsed < 0.3 + 0.5
    finally:
        own_redis.resume()
    service.close()


def test_middleware_is_unchanged_by_store_faults(own_redis: RedisServer) -> None:
    """The WSGI middleware can be built while Redis is down (no I/O at construction)."""
    own_redis.stop()
    service = _service(own_redis)
    MaintenanceMiddleware(lambda e, s: [b""], service)
    assert service.snapshot._thread is None
    service.close()
