"""MaintenanceService semantics: changes, conflicts, windows, outages, side effects."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from maintguard import (
    ConflictError,
    MaintenanceEvent,
    MaintenanceService,
    Mode,
    RequestInfo,
    ValidationError,
)
from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.exceptions import CorruptStateError, StoreError
from maintguard.stores import MemoryStore
from maintguard.stores.base import AttemptBatch, AttemptCounts

UPLOAD = RequestInfo("POST", "/upload")
READ = RequestInfo("GET", "/")


def now() -> datetime:
    return datetime.now(timezone.utc)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class FlakyStore:
    """A real in-memory store that can be switched to failing, like an outage."""

    name = "flaky"

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.failing: Exception | None = None

    def _check(self) -> None:
        if self.failing is not None:
            raise self.failing

    def load(self) -> MaintenanceState:
        self._check()
        return self.inner.load()

    def compare_and_set(self, expected: int, state: MaintenanceState, record: AuditRecord) -> bool:
        self._check()
        return self.inner.compare_and_set(expected, state, record)

    def read_audit(self, limit: int = 100) -> list[AuditRecord]:
        self._check()
        return self.inner.read_audit(limit)

    def record_attempts(self, batch: AttemptBatch) -> None:
        self._check()
        self.inner.record_attempts(batch)

    def read_attempts(self, epoch: str) -> AttemptCounts:
        self._check()
        return self.inner.read_attempts(epoch)

    def ping(self) -> None:
        self._check()

    def subscribe(self, on_change: Callable[[], None]) -> None:
        return None

    def close(self) -> None:
        return None


@pytest.fixture
def service() -> Any:
    service = MaintenanceService(refresh_interval=0.05)
    yield service
    service.close()


def test_enable_returns_an_active_status_with_an_estimate(service: MaintenanceService) -> None:
    """Estimated completion is the start plus the duration."""
    status = service.enable_maintenance("Upgrade", duration=600)
    assert (True, Mode.NORMAL) == (status.is_active, status.mode)
    assert status.started_at is not None and status.estimated_completion is not None
    assert timedelta(seconds=600) == status.estimated_completion - status.started_at


def test_duration_defaults_to_the_configured_timeout(service: MaintenanceService) -> None:
    """MAINTENANCE_DEFAULT_TIMEOUT is the default estimate."""
    assert 7200.0 == service.enable_maintenance("Upgrade").estimated_duration


def test_duration_is_an_estimate_that_never_ends_maintenance(service: MaintenanceService) -> None:
    """Past its estimated completion, maintenance still holds."""
    service.enable_maintenance("Upgrade", duration=0.01)
    time.sleep(0.05)
    assert service.get_maintenance_status().is_active
    assert service.decide(UPLOAD).blocked


def test_ends_at_ends_maintenance_on_time(service: MaintenanceService) -> None:
    """An explicit ends_at is the only way maintenance ends by itself."""
    service.enable_maintenance("Upgrade", ends_at=now() + timedelta(seconds=0.3))
    assert service.decide(UPLOAD).blocked
    time.sleep(0.35)
    assert service.decide(UPLOAD).allowed
    assert not service.get_maintenance_status().is_active


def test_normal_enable_during_an_emergency_needs_force(service: MaintenanceService) -> None:
    """No silent downgrade: 409-style conflict unless force=True."""
    service.enable_emergency("Incident")
    with pytest.raises(ConflictError):
        service.enable_maintenance("Calmer now")
    assert Mode.EMERGENCY == service.get_maintenance_status().mode
    assert Mode.NORMAL == service.enable_maintenance("Calmer now", force=True).mode


def test_stale_expected_version_changes_nothing(service: MaintenanceService) -> None:
    """With expected_version, a stale writer loses and the state stays."""
    version = service.enable_maintenance("First").version
    service.enable_maintenance("Second")
    with pytest.raises(ConflictError) as raised:
        service.disable_maintenance(expected_version=version)
    assert (version + 1, True) == (
        raised.value.current_version,
        service.get_maintenance_status().is_active,
    )


def test_repeated_enable_updates_without_toggling(service: MaintenanceService) -> None:
    """A second enable updates the reason and keeps the start time."""
    first = service.enable_maintenance("First", duration=60)
    second = service.enable_maintenance("Second", duration=120)
    assert (first.started_at, "Second", 120.0) == (
        second.started_at,
        second.reason,
        second.estimated_duration,
    )


def test_repeated_disable_is_a_no_op(service: MaintenanceService) -> None:
    """Disabling twice adds one audit record, not two."""
    service.enable_maintenance("Upgrade")
    service.disable_maintenance()
    service.disable_maintenance()
    assert ["disable", "enable"] == [r.action for r in service.get_audit_log()]


def test_every_change_is_audited_with_its_version(service: MaintenanceService) -> None:
    """Audit records carry actor, action, mode, reason and the new version."""
    service.enable_maintenance("Upgrade", enabled_by="alice")
    service.enable_emergency("Incident", enabled_by="bob")
    service.disable_maintenance("carol")
    records = service.get_audit_log()
    assert [
        ("carol", "disable", None, 3),
        ("bob", "emergency", Mode.EMERGENCY, 2),
        ("alice", "enable", Mode.NORMAL, 1),
    ] == [(r.actor, r.action, r.mode, r.version) for r in records]
    assert 3 == service.get_maintenance_status().version


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.enable_maintenance(""), "reason"),
        (lambda s: s.enable_maintenance("x" * 501), "reason"),
        (lambda s: s.enable_maintenance("x", duration=-1), "duration"),
        (lambda s: s.enable_maintenance("x", duration=float("nan")), "duration"),
        (lambda s: s.enable_maintenance("x", duration=True), "duration"),
        (lambda s: s.enable_maintenance("x", mode="sideways"), "mode"),
        (lambda s: s.enable_maintenance("x", operations=["NOPE"]), "operations"),
        (lambda s: s.enable_maintenance("x", ends_at=now() - timedelta(seconds=1)), "ends_at"),
        (lambda s: s.enable_maintenance("x", ends_at=datetime(2030, 1, 1)), "ends_at"),
        (
            lambda s: s.schedule_maintenance(
                "x", now() + timedelta(hours=2), now() + timedelta(hours=1)
            ),
            "ends_at",
        ),
    ],
)
def test_invalid_arguments_name_the_field_and_change_nothing(
    service: MaintenanceService, call: Callable[[MaintenanceService], object], field: str
) -> None:
    """Bad input raises ValidationError naming the field; version stays 0."""
    with pytest.raises(ValidationError) as raised:
        call(service)
    assert (field, 0) == (raised.value.field, service.get_maintenance_status().version)


@pytest.mark.parametrize(
    ("mode", "admin", "expected"),
    [
        (None, False, True),
        (Mode.NORMAL, False, False),
        (Mode.EMERGENCY, False, False),
        (Mode.TEST, False, True),
        (Mode.NORMAL, True, True),
        (Mode.EMERGENCY, True, True),
    ],
)
def test_check_login(
    service: MaintenanceService, mode: Mode | None, admin: bool, expected: bool
) -> None:
    """Non-admins cannot log in during normal or emergency maintenance; admins can."""
    if mode is not None:
        service.enable_maintenance("Upgrade", mode=mode)
    assert expected is service.check_login(is_admin=admin)


def test_upcoming_window_is_announced_before_it_starts(service: MaintenanceService) -> None:
    """The status shows the window ahead of time, so front ends can warn."""
    start = now() + timedelta(hours=1)
    status = service.schedule_maintenance("Planned upgrade", start, start + timedelta(hours=1))
    assert not status.is_active
    assert status.upcoming is not None and start == status.upcoming.starts_at
    assert "Planned upgrade" == status.to_dict()["upcoming"]["reason"]


def test_window_opens_and_closes_on_time_without_any_write(service: MaintenanceService) -> None:
    """Every worker judges a window against its snapshot: no loop needed."""
    start = now() + timedelta(seconds=0.2)
    service.schedule_maintenance("Window", start, start + timedelta(seconds=0.3))
    service.snapshot.stop()  # no background thread: the request path alone decides
    assert service.decide(UPLOAD).allowed
    time.sleep(0.25)
    assert service.decide(UPLOAD).blocked
    time.sleep(0.3)
    assert service.decide(UPLOAD).allowed


def test_cancelled_window_never_opens(service: MaintenanceService) -> None:
    """DELETE schedule: the window is gone from the status and never starts."""
    start = now() + timedelta(seconds=0.1)
    service.schedule_maintenance("Window", start)
    assert service.cancel_schedule().upcoming is None
    time.sleep(0.15)
    assert service.decide(UPLOAD).allowed


def test_window_start_side_effects_run_once_across_workers() -> None:
    """Two services on one store both open the window; one runs its effects."""
    store = MemoryStore()
    calls: list[str] = []
    lock = threading.Lock()

    class Invalidator:
        def __init__(self, name: str) -> None:
            self.name = name

        def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> Any:
            with lock:
                calls.append(self.name)
            from types import SimpleNamespace

            return SimpleNamespace(invalidated=1, kept_admin=0, failed=0, complete=True)

    services = [
        MaintenanceService(store, session_invalidator=Invalidator(n), refresh_interval=0.02)
        for n in ("a", "b")
    ]
    try:
        start = now() + timedelta(seconds=0.2)
        services[0].schedule_maintenance("Window", start)
        for s in services:
            s.view()  # start each worker's background thread
        assert wait_for(lambda: all(s.store.load().active for s in services))
        time.sleep(0.2)
        for s in services:
            s.effects.wait()
        actions = [r.action for r in store.read_audit(10)]
        assert (1, 1) == (len(calls), actions.count("window_start"))
    finally:
        for s in services:
            s.close()


def _outage_service(policy: str) -> tuple[MaintenanceService, FlakyStore]:
    store = FlakyStore()
    service = MaintenanceService(store, on_store_error=policy, refresh_interval=0.02)  # type: ignore[arg-type]
    service.enable_maintenance("Upgrade")
    service.view()
    return service, store


def test_last_known_policy_keeps_the_state_through_an_outage() -> None:
    """Default: while the store fails, the last known state holds."""
    service, store = _outage_service("last_known")
    store.failing = StoreError("connection refused")
    assert wait_for(lambda: not service.snapshot.healthy)
    assert service.decide(UPLOAD).blocked
    service.close()


def test_open_policy_serves_everything_during_an_outage() -> None:
    """on_store_error='open': nothing is blocked while the store fails."""
    service, store = _outage_service("open")
    store.failing = StoreError("connection refused")
    assert wait_for(lambda: service.decide(UPLOAD).allowed)
    store.failing = None
    assert wait_for(lambda: service.decide(UPLOAD).blocked)
    service.close()


def test_closed_policy_blocks_writes_during_an_outage() -> None:
    """on_store_error='closed': writes are blocked while the store fails."""
    store = FlakyStore()
    service = MaintenanceService(store, on_store_error="closed", refresh_interval=0.02)
    service.view()
    assert service.decide(UPLOAD).allowed
    store.failing = StoreError("connection refused")
    assert wait_for(lambda: service.decide(UPLOAD).blocked)
    assert service.decide(READ).allowed
    service.close()


def test_outage_and_recovery_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    """Many failed refreshes give one outage line and one recovery line."""
    with caplog.at_level(logging.WARNING, logger="maintguard"):
        service, store = _outage_service("last_known")
        store.failing = StoreError("connection refused")
        time.sleep(0.2)
        store.failing = None
        assert wait_for(lambda: service.snapshot.healthy)
        time.sleep(0.05)
    messages = [r.getMessage() for r in caplog.records]
    assert 1 == sum("State store unavailable" in m for m in messages)
    assert 1 == sum("State store recovered" in m for m in messages)
    service.close()


def test_corrupt_stored_state_applies_the_policy() -> None:
    """A value that does not parse is an outage, not a 500."""
    service, store = _outage_service("last_known")
    store.failing = CorruptStateError("stored state has unsupported format 99")
    assert wait_for(lambda: not service.snapshot.healthy)
    assert service.decide(UPLOAD).blocked
    service.close()


def test_cold_start_without_a_store_is_open() -> None:
    """Nothing known and no store: requests are served."""
    store = FlakyStore()
    store.failing = StoreError("connection refused")
    service = MaintenanceService(store)
    assert service.decide(UPLOAD).allowed
    assert not service.snapshot.healthy
    service.close()


@pytest.mark.parametrize(
    ("force", "blocked"), [("emergency", True), ("normal", True), ("off", False)]
)
def test_force_mode_beats_the_store(force: str, blocked: bool) -> None:
    """MAINTENANCE_FORCE_MODE decides this instance whatever the store says."""
    store = MemoryStore()
    MaintenanceService(store).enable_maintenance("Upgrade")
    service = MaintenanceService(store, force_mode=force)
    assert blocked is service.decide(UPLOAD).blocked
    service.close()


def test_unknown_store_error_policy_is_a_startup_error() -> None:
    """A misspelt policy fails at construction, naming the setting."""
    from maintguard import ConfigurationError

    with pytest.raises(ConfigurationError, match="on_store_error"):
        MaintenanceService(on_store_error="sometimes")


class Recorder:
    def __init__(self) -> None:
        self.events: list[MaintenanceEvent] = []

    def notify(self, event: MaintenanceEvent) -> None:
        self.events.append(event)


def test_listeners_hear_activation_emergency_and_deactivation() -> None:
    """Notifiers receive each change, off the request path."""
    recorder = Recorder()
    service = MaintenanceService(notifiers=[recorder])
    service.enable_maintenance("Upgrade")
    service.enable_emergency("Incident")
    service.disable_maintenance()
    service.flush()
    assert ["activated", "emergency", "deactivated"] == [e.kind.value for e in recorder.events]
    service.close()


def test_test_mode_events_are_marked_simulated() -> None:
    """A rehearsal's notification says it is one."""
    recorder = Recorder()
    service = MaintenanceService(notifiers=[recorder])
    service.enable_maintenance("Rehearsal", mode="test")
    service.flush()
    assert [True] == [e.simulated for e in recorder.events]
    assert recorder.events[0].to_dict()["simulated"] is True
    service.close()


def test_a_failing_notifier_never_breaks_a_change(caplog: pytest.LogCaptureFixture) -> None:
    """The change lands, the failure is logged, other notifiers still hear."""
    recorder = Recorder()

    def broken(event: MaintenanceEvent) -> None:
        raise ConnectionError("webhook down")

    service = MaintenanceService(notifiers=[broken, recorder])
    with caplog.at_level(logging.ERROR, logger="maintguard"):
        service.enable_maintenance("Upgrade")
        service.flush()
    assert service.get_maintenance_status().is_active
    assert 1 == len(recorder.events)
    assert "Notification failed" in caplog.text
    service.close()


class CountingInvalidator:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[bool] = []
        self.fail = fail

    def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> Any:
        self.calls.append(dry_run)
        if self.fail:
            raise ConnectionError("redis down")
        from types import SimpleNamespace

        return SimpleNamespace(invalidated=7, kept_admin=2, failed=0, complete=True)


class CountingTerminator:
    def __init__(self) -> None:
        self.graces: list[float] = []

    def active_jobs_count(self) -> int:
        return 3

    def terminate_all_jobs(self, grace_period: float) -> int:
        self.graces.append(grace_period)
        return 3


def test_emergency_invalidates_sessions_and_stops_jobs_with_the_grace_period() -> None:
    """Sessions first, then jobs with the requested grace; progress in status."""
    sessions, jobs = CountingInvalidator(), CountingTerminator()
    service = MaintenanceService(session_invalidator=sessions, job_terminator=jobs)
    service.enable_emergency("Incident", grace_period=30)
    service.effects.wait()
    progress = service.get_maintenance_status().progress
    assert ([False], [30.0]) == (sessions.calls, jobs.graces)
    assert (7, 2, 3) == (
        progress["sessions_invalidated"],
        progress["sessions_kept_admin"],
        progress["jobs_stopped"],
    )
    assert "progress" == service.get_audit_log(1)[0].action
    service.close()


def test_normal_maintenance_invalidates_sessions_but_keeps_jobs() -> None:
    """The seeds: sessions end when maintenance starts; jobs only in an emergency."""
    sessions, jobs = CountingInvalidator(), CountingTerminator()
    service = MaintenanceService(session_invalidator=sessions, job_terminator=jobs)
    service.enable_maintenance("Upgrade")
    service.effects.wait()
    assert ([False], []) == (sessions.calls, jobs.graces)
    service.close()


def test_test_mode_only_counts_sessions() -> None:
    """A rehearsal asks the invalidator for a dry run."""
    sessions = CountingInvalidator()
    service = MaintenanceService(session_invalidator=sessions)
    service.enable_maintenance("Rehearsal", mode="test")
    service.effects.wait()
    assert [True] == sessions.calls
    service.close()


def test_emergency_without_terminate_jobs_leaves_jobs_running() -> None:
    """terminate_jobs=false skips the job step."""
    jobs = CountingTerminator()
    service = MaintenanceService(job_terminator=jobs)
    service.enable_emergency("Incident", terminate_jobs=False)
    service.effects.wait()
    assert [] == jobs.graces
    service.close()


def test_a_failing_step_never_undoes_the_protection() -> None:
    """When session invalidation fails, the emergency still blocks."""
    service = MaintenanceService(session_invalidator=CountingInvalidator(fail=True))
    service.enable_emergency("Incident")
    service.effects.wait()
    assert service.decide(READ).blocked
    assert "failed" == service.get_maintenance_status().progress["sessions"]
    service.close()


def test_active_jobs_count_is_cached_for_the_status() -> None:
    """The status shows the job count without asking the queue per request."""
    service = MaintenanceService(job_terminator=CountingTerminator(), refresh_interval=0.02)
    service.view()
    assert wait_for(lambda: 3 == service.get_maintenance_status().active_jobs_count)
    service.close()


def test_decision_explains_itself(service: MaintenanceService) -> None:
    """explain() names the rule, the operation and why."""
    service.enable_maintenance("Upgrade")
    text = service.decide(RequestInfo("POST", "/start_caption_generation")).explain()
    assert "BLOCK" in text and "CAPTION_GENERATION" in text
    assert "'/start_caption_generation'" in text and "normal maintenance blocks" in text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_restarts_its_background_thread_and_keeps_the_state() -> None:
    """After fork the child has the parent's snapshot and a thread of its own."""
    service = MaintenanceService(refresh_interval=0.02)
    service.enable_maintenance("Upgrade")
    service.view()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        ok = service.snapshot._thread is None and service.decide(UPLOAD).blocked
        thread = service.snapshot._thread
        ok = ok and thread is not None and thread.is_alive()
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    result = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    service.close()
    assert b"1" == result


def test_a_window_that_passed_unseen_is_recorded_as_expired() -> None:
    """Housekeeping records a window whose start and end both passed."""
    store = MemoryStore()
    writer = MaintenanceService(store)
    start = now() + timedelta(seconds=0.1)
    writer.schedule_maintenance("Short window", start, start + timedelta(seconds=0.1))
    time.sleep(0.25)
    service = MaintenanceService(store, refresh_interval=0.02)
    service.view()
    assert wait_for(lambda: store.load().window is None)
    assert "window_expired" == store.read_audit(1)[0].action
    assert not service.get_maintenance_status().is_active
    service.close()


class SlowStore(FlakyStore):
    """Loads take a while, like a store across a slow network."""

    def load(self) -> MaintenanceState:
        time.sleep(0.3)
        return super().load()


def test_requests_during_the_first_load_wait_for_it() -> None:
    """A cold worker never judges a request against the default 'off' view
    while its first load (which may say emergency) is still running."""
    store = SlowStore()
    MaintenanceService(store.inner).enable_emergency("Incident")
    service = MaintenanceService(store)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(service.decide(UPLOAD).blocked))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [True, True] == results
    service.close()


def test_a_disable_that_changes_nothing_announces_nothing() -> None:
    """After an unrecorded ends_at, a disable is a no-op: no event, no side effect."""
    store = MemoryStore()
    MaintenanceService(store).enable_maintenance("Upgrade", ends_at=now() + timedelta(seconds=0.1))
    time.sleep(0.15)
    sessions, recorder = CountingInvalidator(), Recorder()
    service = MaintenanceService(store, session_invalidator=sessions, notifiers=[recorder])
    service.disable_maintenance()
    service.flush()
    assert ([], []) == (sessions.calls, recorder.events)
    service.close()


def test_a_window_already_started_holds_when_the_previous_maintenance_ends() -> None:
    """ends_at of one maintenance passing inside a started window: still blocked."""
    service = MaintenanceService()
    service.schedule_maintenance(
        "Window", now() + timedelta(seconds=0.1), now() + timedelta(hours=1)
    )
    service.enable_maintenance("Before the window", ends_at=now() + timedelta(seconds=0.2))
    service.snapshot.stop()
    time.sleep(0.25)
    assert service.decide(UPLOAD).blocked
    assert "Window" == service.get_maintenance_status().reason
    service.close()


def test_repeating_an_enable_keeps_the_end_and_scope_it_does_not_name() -> None:
    """A repeat updates reason/message/estimate; ends_at and operations stay."""
    service = MaintenanceService()
    ends = now() + timedelta(hours=1)
    service.enable_maintenance("Uploads only", ends_at=ends, operations=["IMAGE_PROCESSING"])
    status = service.enable_maintenance("Uploads only", message="Storage move in progress")
    assert (ends, ("IMAGE_PROCESSING",)) == (status.ends_at, status.operations)
    service.close()


def test_an_older_local_write_never_replaces_a_newer_one() -> None:
    """Two writes of one process returning out of order: the newer state stays."""
    service = MaintenanceService()
    old = service.store.load()
    service.enable_maintenance("Upgrade")
    service.disable_maintenance()
    service.snapshot.apply(attrs.evolve(old, version=1, active=True))
    assert service.decide(UPLOAD).allowed
    service.close()


def test_counts_are_not_doubled_when_reading_totals_fails() -> None:
    """A flush whose write landed is not sent again after a failed read."""

    class ReadFails(FlakyStore):
        fail_reads = 1

        def read_attempts(self, epoch: str) -> AttemptCounts:
            if self.fail_reads:
                self.fail_reads -= 1
                raise StoreError("timeout")
            return super().read_attempts(epoch)

    store = ReadFails()
    service = MaintenanceService(store)
    service.enable_maintenance("Upgrade")
    for _ in range(5):
        info = RequestInfo("POST", "/upload")
        service.record(info, service.decide(info))
    epoch = service.view().epoch
    with pytest.raises(StoreError):
        service.counters.flush(store, epoch)
    service.counters.flush(store, epoch)
    assert 5 == store.inner.read_attempts(epoch).blocked["IMAGE_PROCESSING"]
    service.close()


def test_counts_of_an_ended_maintenance_do_not_reset_the_new_one() -> None:
    """A worker flushing last maintenance's counts leaves this one's intact."""
    store = MemoryStore()
    a, b = MaintenanceService(store), MaintenanceService(store)
    a.enable_maintenance("First")
    info = RequestInfo("POST", "/upload")
    a.record(info, a.decide(info))  # counted under the first maintenance, not flushed
    a.disable_maintenance()
    b.enable_maintenance("Second")
    b.record(info, b.decide(info))
    b.flush()
    a.view()
    a.counters.flush(store, a.view().epoch)
    b.counters.flush(store, b.view().epoch)  # re-read the store's totals
    assert {"IMAGE_PROCESSING": 1} == dict(b.attempt_counts().blocked)
    a.close()
    b.close()


def test_a_dead_webhook_receiver_does_not_slow_a_change() -> None:
    """The change returns at once; the notifier waits on its own thread."""
    import socket

    from maintguard.notify import WebhookNotifier

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # accepts connections, never answers
        port = server.getsockname()[1]
        service = MaintenanceService(
            notifiers=[WebhookNotifier(f"http://127.0.0.1:{port}/hook", timeout=2.0, retries=0)]
        )
        started = time.monotonic()
        service.enable_maintenance("Upgrade")
        elapsed = time.monotonic() - started
        assert service.get_maintenance_status().is_active
        assert elapsed < 0.5  # a fault bound: the receiver alone would take 2 s
        service.events.drain(5)
        service.close()
