"""The in-memory store: the default, for one process.

It is a product feature (a single-process app, the demo, tests of an app),
not a test double: it honours the full ``StateStore`` contract. State is not
shared between processes, so the service warns when it sees several workers.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable

from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.stores.base import (
    AUDIT_LIMIT,
    EPOCH_LIMIT,
    SAMPLE_LIMIT,
    AttemptBatch,
    AttemptCounts,
)


class MemoryStore:
    """Thread-safe ``StateStore`` held in this process's memory."""

    name = "memory"

    def __init__(self, *, audit_limit: int = AUDIT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._state = MaintenanceState()
        self._audit: deque[AuditRecord] = deque(maxlen=audit_limit)
        #: epoch -> (blocked, simulated, sample paths)
        self._epochs: dict[str, tuple[Counter[str], Counter[str], dict[str, list[str]]]] = {}
        self._listeners: list[Callable[[], None]] = []

    def load(self) -> MaintenanceState:
        with self._lock:
            return self._state

    def compare_and_set(
        self, expected_version: int, state: MaintenanceState, record: AuditRecord
    ) -> bool:
        with self._lock:
            if self._state.version != expected_version:
                return False
            self._state = state
            self._audit.append(record)
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return True

    def overwrite(self, state: MaintenanceState, record: AuditRecord) -> None:
        """Replace the state whatever it holds (the repair path)."""
        with self._lock:
            self._state = state
            self._audit.append(record)
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def read_audit(self, limit: int = 100) -> list[AuditRecord]:
        with self._lock:
            newest = list(self._audit)[-limit:] if limit > 0 else []
        newest.reverse()
        return newest

    def record_attempts(self, batch: AttemptBatch) -> None:
        with self._lock:
            blocked, simulated, samples = self._epochs.setdefault(
                batch.epoch, (Counter(), Counter(), {})
            )
            # Epochs sort by their maintenance's start: drop the oldest.
            for old in sorted(self._epochs)[:-EPOCH_LIMIT]:
                del self._epochs[old]
            blocked.update(batch.blocked)
            simulated.update(batch.simulated)
            for operation, paths in batch.samples.items():
                kept = samples.setdefault(operation, [])
                for path in paths:
                    if len(kept) >= SAMPLE_LIMIT:
                        break
                    if path not in kept:
                        kept.append(path)

    def read_attempts(self, epoch: str) -> AttemptCounts:
        with self._lock:
            counters = self._epochs.get(epoch)
            if counters is None:
                return AttemptCounts()
            blocked, simulated, samples = counters
            return AttemptCounts(
                blocked=dict(blocked),
                simulated=dict(simulated),
                samples={k: list(v) for k, v in samples.items()},
            )

    def ping(self) -> None:
        return None

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None] | None:
        # Changes are applied to the changing service's snapshot directly;
        # other services sharing this store object are notified here.
        with self._lock:
            self._listeners.append(on_change)

        def unsubscribe() -> None:
            with self._lock:
                if on_change in self._listeners:
                    self._listeners.remove(on_change)

        return unsubscribe

    def close(self) -> None:
        return None
