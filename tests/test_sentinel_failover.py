"""A Redis Sentinel failover while maintenance is on and requests keep coming.

One failover is run for the whole module (starting the group and failing
over is most of the time): two services on the sentinel URL stand for two
workers; maintenance is switched on, the master is SIGKILLed, and requests
go through maintguard's WSGI middleware until the sentinels have promoted
the replica and both workers read from it again. Each test states one thing
users or operators rely on; only the last one changes the state.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from maintguard import MaintenanceService
from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.stores.redis import RedisStore
from tests.clients import WSGIClient
from tests.sentinel import TIMEOUT, SentinelGroup, sentinel_group
from tests.test_service_faults import wait_for

pytestmark = pytest.mark.services

HEALTH = "/api/health/maintenance"
#: A read (allowed in normal maintenance), a write (blocked) and the health check.
ROUTES = (("GET", "/"), ("POST", "/upload"), ("GET", HEALTH))
REASON = "Database upgrade"

Answers = dict[tuple[str, str], Counter[int]]


@dataclass
class Failover:
    group: SentinelGroup
    writer: WSGIClient
    reader: WSGIClient
    #: The stored state and audit trail before the kill and after the promotion.
    before: tuple[MaintenanceState, list[AuditRecord]]
    after: tuple[MaintenanceState, list[AuditRecord]]
    #: Answers during the failover, by route: {(method, path): {status: count}}.
    answers: Answers
    #: The health check's verdicts seen meanwhile ("ok", "degraded").
    health: set[str]


def _worker(url: str) -> MaintenanceService:
    # A short refresh and timeout, as in the other fault tests: the outage and
    # the recovery are noticed within a small part of the failover's length.
    return MaintenanceService(RedisStore.from_url(url, timeout=0.3), refresh_interval=0.05)


def _read_store(url: str) -> tuple[MaintenanceState, list[AuditRecord]]:
    """What a worker starting now would find, through a client of its own."""
    store = RedisStore.from_url(url, timeout=0.3)
    try:
        return store.load(), store.read_audit()
    finally:
        store.close()


def _requests_until_recovered(
    workers: tuple[WSGIClient, ...], group: SentinelGroup, old_master: int
) -> tuple[Answers, set[str]]:
    """Requests through every worker from the kill until the sentinels have
    promoted another server and each worker, having lost the store, reads
    from it again. Ending on those conditions, not on a clock, is what makes
    every run cover the whole outage."""
    answers: Answers = {route: Counter() for route in ROUTES}
    health: set[str] = set()
    lost: set[int] = set()
    promoted = False
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for number, worker in enumerate(workers):
            for method, path in ROUTES:
                answer = worker.request(method, path)
                answers[(method, path)][answer.status] += 1
                if path == HEALTH and answer.status == 200:
                    health.add(answer.json()["status"])
            if not worker.service.snapshot.healthy:
                lost.add(number)
        promoted = promoted or group.master_port() not in (None, old_master)
        recovered = all(w.service.snapshot.healthy for w in workers)
        if promoted and len(lost) == len(workers) and recovered:
            return answers, health
    raise RuntimeError(
        f"no recovery {TIMEOUT:g}s after the kill: promoted={promoted}, "
        f"workers that lost the store={sorted(lost)}\n{group.logs()}"
    )


@pytest.fixture(scope="module")
def failover() -> Iterator[Failover]:
    with sentinel_group() as group:
        writer, reader = WSGIClient(_worker(group.url)), WSGIClient(_worker(group.url))
        try:
            status = writer.service.enable_maintenance(REASON, enabled_by="alice")
            assert wait_for(lambda: reader.service.view().state.version == status.version)
            # Replication is asynchronous: a write the master acknowledged may
            # die with it. Waiting for the replica's acknowledgement (WAIT 1)
            # makes "nothing lost" a fair promise to check; without it, Redis
            # itself does not make it.
            group.wait_for_replication()
            before = _read_store(group.url)
            old_master = group.kill_master()
            answers, health = _requests_until_recovered((writer, reader), group, old_master)
            yield Failover(group, writer, reader, before, _read_store(group.url), answers, health)
        finally:
            writer.service.close()
            reader.service.close()


def test_no_request_answers_500_during_a_failover(failover: Failover) -> None:
    """Not one answer of any route, from either worker, is a 500. (An
    exception escaping the middleware would not even get this far: the test
    client re-raises it and the fixture fails.)"""
    errors = {route: statuses[500] for route, statuses in failover.answers.items()}
    assert {route: 0 for route in ROUTES} == errors


def test_maintenance_holds_through_a_failover(failover: Failover) -> None:
    """Blocked writes answer 503 and reads 200 throughout, as before the kill."""
    blocked = failover.answers[("POST", "/upload")]
    allowed = failover.answers[("GET", "/")]
    assert ({503}, {200}) == (set(blocked), set(allowed))


def test_health_reports_a_failover_as_degraded_not_down(failover: Failover) -> None:
    """While the store is away the health check says degraded, with a 200
    (a load balancer keeps the servers), and ok again once it is back."""
    assert {200} == set(failover.answers[("GET", HEALTH)])
    assert "degraded" in failover.health
    assert "ok" == failover.reader.request("GET", HEALTH).json()["status"]


def test_a_failover_loses_neither_state_nor_audit_trail(failover: Failover) -> None:
    """The promoted master holds the same state (version, mode, reason, who)
    and the same audit records as the master that died."""
    (state_before, audit_before), (state_after, audit_after) = failover.before, failover.after
    assert (True, REASON, "alice") == (
        state_after.active,
        state_after.reason,
        state_after.updated_by,
    )
    assert state_before == state_after
    assert audit_before == audit_after


def test_a_change_after_a_failover_reaches_the_other_worker(failover: Failover) -> None:
    """Once the replica is promoted, the next change is accepted at once and
    the other worker lets writes through again."""
    status = failover.writer.service.disable_maintenance(disabled_by="alice")
    assert (False, failover.before[0].version + 1) == (status.is_active, status.version)
    assert wait_for(lambda: failover.reader.service.view().state.version == status.version)
    assert 200 == failover.reader.request("POST", "/upload").status
