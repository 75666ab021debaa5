"""Every store agrees with a simple model under random sequences of changes.

One Hypothesis state machine drives the memory store, Redis, SQLite,
PostgreSQL and MariaDB with the same enables, emergencies, disables,
compare-and-sets on right and stale versions, and counter flushes. After each
step every store must hold the model's version, activity, mode and audit
length, and load exactly what the memory store (the reference) loads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from maintguard.core.state import AuditRecord, MaintenanceState, Mode
from maintguard.stores import MemoryStore, StateStore
from maintguard.stores.base import AttemptBatch
from maintguard.stores.redis import RedisStore
from maintguard.stores.sql import SQLStore
from tests.test_store_contract import open_store

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
OPERATIONS = ["JOB_CREATION", "BATCH_OPERATIONS", "IMAGE_PROCESSING"]
# PostgreSQL text cannot hold NUL; every other character must round-trip.
TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)
COUNTS = st.dictionaries(st.sampled_from(OPERATIONS), st.integers(1, 5), max_size=3)
# Non-empty lists: the memory store keeps an empty sample list for an
# operation sent with no paths, a quirk the other stores need not copy.
PATHS = st.dictionaries(
    st.sampled_from(OPERATIONS),
    st.lists(st.sampled_from(["/a", "/b", "/ü/?x=1"]), min_size=1, max_size=4),
    max_size=2,
)


def reset(store: StateStore) -> None:
    """Empty a store between examples (cheaper than building a new one)."""
    if isinstance(store, RedisStore):
        store.client.delete(
            "maintguard:state", "maintguard:audit", *store.client.keys("maintguard:attempts:*")
        )
    elif isinstance(store, SQLStore):
        with store.engine.begin() as conn:
            for table in (store._audit, store._state, store._counters, store._samples):
                conn.execute(sa.delete(table))
        store.create_schema()


class StoresAgree(RuleBasedStateMachine):
    """Random changes applied to every store, checked against a model."""

    stores: tuple[StateStore, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.reference = MemoryStore()
        self.all = (self.reference, *self.stores)
        self.version = 0
        self.active = False
        self.mode = Mode.NORMAL
        self.audit = 0
        self.clock = T0

    @initialize()
    def empty_stores(self) -> None:
        for store in self.stores:
            reset(store)

    def apply(self, state: MaintenanceState, action: str) -> None:
        """Compare-and-set on the current version: every store must accept."""
        self.clock += timedelta(seconds=1, microseconds=1)
        state = MaintenanceState(
            **{**_fields(state), "version": self.version + 1, "updated_at": self.clock}
        )
        entry = AuditRecord(
            at=self.clock,
            actor="model",
            action=action,
            mode=state.mode,
            reason=state.reason,
            version=state.version,
        )
        results = [store.compare_and_set(self.version, state, entry) for store in self.all]
        assert results == [True] * len(self.all)
        self.version, self.active, self.mode = state.version, state.active, state.mode
        self.audit += 1

    @rule(
        reason=TEXT,
        mode=st.sampled_from([Mode.NORMAL, Mode.TEST]),
        duration=st.none() | st.floats(1, 1e6),
        operations=st.none() | st.frozensets(st.sampled_from(OPERATIONS)),
    )
    def enable(
        self,
        reason: str,
        mode: Mode,
        duration: float | None,
        operations: frozenset[str] | None,
    ) -> None:
        self.apply(
            MaintenanceState(
                active=True,
                mode=mode,
                reason=reason,
                started_at=self.clock,
                estimated_duration=duration,
                operations=operations,
            ),
            "enable",
        )

    @rule(reason=TEXT, message=st.none() | TEXT)
    def emergency(self, reason: str, message: str | None) -> None:
        self.apply(
            MaintenanceState(
                active=True,
                mode=Mode.EMERGENCY,
                reason=reason,
                message=message,
                started_at=self.clock,
                progress={"jobs": {"terminated": 0}},
            ),
            "emergency",
        )

    @rule()
    def disable(self) -> None:
        self.apply(MaintenanceState(active=False), "disable")

    @precondition(lambda self: self.version > 0)
    @rule(data=st.data())
    def stale_compare_and_set(self, data: st.DataObject) -> None:
        """An outdated (or future) expected version is refused by every store."""
        expected = data.draw(
            st.integers(0, self.version - 1) | st.integers(self.version + 1, self.version + 3)
        )
        state = MaintenanceState(version=expected + 1, active=True, reason="stale")
        entry = AuditRecord(
            at=self.clock,
            actor="stale",
            action="enable",
            mode=Mode.NORMAL,
            reason="stale",
            version=expected + 1,
        )
        results = [store.compare_and_set(expected, state, entry) for store in self.all]
        assert results == [False] * len(self.all)

    @rule(epoch=st.sampled_from(["e1", "e2"]), blocked=COUNTS, simulated=COUNTS, samples=PATHS)
    def flush_counters(
        self,
        epoch: str,
        blocked: dict[str, int],
        simulated: dict[str, int],
        samples: dict[str, list[str]],
    ) -> None:
        batch = AttemptBatch(epoch, blocked=blocked, simulated=simulated, samples=samples)
        for store in self.all:
            store.record_attempts(batch)
        expected = self.reference.read_attempts(epoch)
        for store in self.stores:
            assert (store.name, store.read_attempts(epoch)) == (store.name, expected)

    @invariant()
    def every_store_matches_the_model(self) -> None:
        expected = self.reference.load()
        assert (expected.version, expected.active, expected.mode) == (
            self.version,
            self.active,
            self.mode,
        )
        for store in self.all:
            loaded = store.load()
            audit = [r.version for r in store.read_audit(1000)]
            assert (store.name, loaded, len(audit)) == (store.name, expected, self.audit)
            assert audit == list(range(self.version, 0, -1))


def _fields(state: MaintenanceState) -> dict[str, object]:
    return {
        name: getattr(state, name)
        for name in (
            "active",
            "mode",
            "reason",
            "message",
            "started_at",
            "estimated_duration",
            "ends_at",
            "operations",
            "window",
            "progress",
        )
    }


@pytest.fixture
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[StateStore, ...]]:
    """Redis and SQLite always; PostgreSQL and MariaDB where their servers exist
    (with MAINTGUARD_REQUIRE_SERVICES set, a missing one fails the test)."""
    with contextlib.ExitStack() as stack:
        built = []
        for kind in ("redis", "sqlite", "postgresql", "mariadb"):
            try:
                built.append(stack.enter_context(open_store(kind, request, tmp_path)))
            except pytest.skip.Exception:
                if kind in ("redis", "sqlite"):
                    raise
        yield tuple(built)


def test_stores_agree_with_the_model(stores: tuple[StateStore, ...]) -> None:
    """Random sequences of changes leave every store in the model's state."""
    machine = type("Machine", (StoresAgree,), {"stores": stores})
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None, database=None),
    )
