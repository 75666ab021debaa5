"""The in-memory store: the default, for one process.

It is a product feature (a single-process app, the demo, tests of an app),
not a test double: it honours the full ``StateStore`` contract. State is not
shared between processes, so the service warns when it sees several workers.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable

from maintguard.state import AuditRecord, MaintenanceState
from maintguard.stores.base import AUDIT_LIMIT, SAMPLE_LIMIT, AttemptBatch, AttemptCounts


class MemoryStore:
    """Thread-safe ``StateStore`` held in this process's memory."""

    name = "memory"

    def __init__(self, *, audit_limit: int = AUDIT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._state = MaintenanceState()
        self._audit: deque[AuditRecord] = deque(maxlen=audit_limit)
        self._epoch = ""
        self._blocked: Counter[str] = Counter()
        self._simulated: Counter[str] = Counter()
        self._samples: dict[str, list[str]] = {}
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
            if batch.epoch != self._epoch:
                self._epoch = batch.epoch
                self._blocked.clear()
                self._simulated.clear()
                self._samples.clear()
            self._blocked.update(batch.blocked)
            self._simulated.update(batch.simulated)
            for operation, paths in batch.samples.items():
                kept = self._samples.setdefault(operation, [])
                for path in paths:
                    if len(kept) >= SAMPLE_LIMIT:
                        break
                    if path not in kept:
                        kept.append(path)

    def read_attempts(self, epoch: str) -> AttemptCounts:
        with self._lock:
            if epoch != self._epoch:
                return AttemptCounts()
            return AttemptCounts(
                blocked=dict(self._blocked),
                simulated=dict(self._simulated),
                samples={k: list(v) for k, v in self._samples.items()},
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
