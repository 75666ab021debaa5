"""The ``StateStore`` protocol every backend implements.

A store keeps one ``MaintenanceState`` and its audit trail, and aggregates
blocked-attempt counters across processes. The request path never calls a
store: the service reads an in-process snapshot that a background refresher
(and, where the backend has it, a change notification) keeps current.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import attrs

from maintguard.core.state import AuditRecord, MaintenanceState

#: How many sample paths a store keeps per operation type for the report.
SAMPLE_LIMIT = 20
#: How many audit records a store keeps at least (Redis caps its stream here).
AUDIT_LIMIT = 10_000
#: Counter epochs a store keeps at least (the newest, by their sort order);
#: Redis lets older ones expire instead.
EPOCH_LIMIT = 8


@attrs.frozen
class AttemptBatch:
    """Counts gathered in one process since its last flush.

    ``epoch`` names the maintenance they belong to (see ``attempt_epoch``);
    stores keep counters per epoch, so each maintenance starts at zero
    without anyone resetting anything, and a late batch of an ended
    maintenance never touches the current one.
    """

    epoch: str
    blocked: Mapping[str, int] = attrs.field(factory=dict)
    simulated: Mapping[str, int] = attrs.field(factory=dict)
    samples: Mapping[str, Sequence[str]] = attrs.field(factory=dict)

    def __bool__(self) -> bool:
        return bool(self.blocked or self.simulated or self.samples)


@attrs.frozen
class AttemptCounts:
    """Counters of one maintenance, summed over every process."""

    blocked: Mapping[str, int] = attrs.field(factory=dict)
    simulated: Mapping[str, int] = attrs.field(factory=dict)
    samples: Mapping[str, Sequence[str]] = attrs.field(factory=dict)
    #: Minute (epoch seconds // 60) -> requests blocked / simulated in it,
    #: for the console's per-minute rate; filled by ``AttemptCounters``.
    blocked_minutes: Mapping[int, int] = attrs.field(factory=dict)
    simulated_minutes: Mapping[int, int] = attrs.field(factory=dict)


def attempt_epoch(state: MaintenanceState) -> str:
    """The counter epoch of a state: one per maintenance, not per change.

    A maintenance is named by its start alone: a change of mode starts a new
    one (a new ``started_at``), and the mode an ended one reads ("normal"
    once off) must not hide the counts it made, which its report shows."""
    return state.started_at.isoformat() if state.started_at is not None else "-"


@runtime_checkable
class StateStore(Protocol):
    """Where the shared state lives. Implementations must be thread-safe.

    Every method may raise ``maintguard.exceptions.StoreError`` (outage,
    timeout) and ``load`` also ``CorruptStateError``; no method may block
    longer than the store's configured timeout.
    """

    #: Short backend name shown in the status (``memory``, ``redis``, ``sqlite``…).
    name: str

    def load(self) -> MaintenanceState:
        """The stored state; the initial (version 0, inactive) one when empty."""
        ...

    def compare_and_set(
        self, expected_version: int, state: MaintenanceState, record: AuditRecord
    ) -> bool:
        """Store ``state`` and append ``record`` atomically if the stored
        version is still ``expected_version``; ``False`` when it is not."""
        ...

    def read_audit(self, limit: int = 100) -> list[AuditRecord]:
        """The newest ``limit`` audit records, newest first."""
        ...

    def record_attempts(self, batch: AttemptBatch) -> None:
        """Add a process's counters (one call per flush, never per request)."""
        ...

    def read_attempts(self, epoch: str) -> AttemptCounts:
        """The summed counters of ``epoch`` (empty for an epoch never recorded
        or long pruned; at least the newest ``EPOCH_LIMIT`` are kept)."""
        ...

    def ping(self) -> None:
        """Raise ``StoreError`` unless the store answers now."""
        ...

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``on_change`` (from a background thread) after every change
        made by any process — and possibly more often, e.g. after a
        reconnect, when changes may have been missed; return a function that
        stops it, or ``None`` when the backend has no notifications (the
        refresher covers it)."""
        ...

    def close(self) -> None:
        """Release connections; the store may be used again afterwards."""
        ...
