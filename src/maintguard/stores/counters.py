"""Blocked-attempt counters: counted in-process, flushed to the store in batches.

A blocked request costs one locked dict increment here, never a network
call; the housekeeper flushes the batch once per tick and caches the
store's totals so the read endpoints do no I/O either.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence

from maintguard.exceptions import StoreError
from maintguard.stores.base import SAMPLE_LIMIT, AttemptBatch, AttemptCounts, StateStore

#: Longest sample path kept for the report (they are client-chosen).
_SAMPLE_LENGTH = 200


class AttemptCounters:
    """Per-process counters of blocked and simulated (test-mode) requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch = ""
        self._blocked: Counter[str] = Counter()
        self._simulated: Counter[str] = Counter()
        self._samples: dict[str, list[str]] = {}
        self._totals = AttemptCounts()
        self._totals_epoch = ""

    def record(self, epoch: str, operation: str, path: str, simulated: bool) -> None:
        # Once per blocked request: acquire/release costs about half of a
        # ``with`` block on CPython, and a full sample list is not touched.
        lock = self._lock
        lock.acquire()
        try:
            if epoch != self._epoch:
                self._epoch = epoch
                self._blocked.clear()
                self._simulated.clear()
                self._samples.clear()
            (self._simulated if simulated else self._blocked)[operation] += 1
            samples = self._samples.get(operation)
            if samples is None:
                samples = self._samples[operation] = []
            if len(samples) < SAMPLE_LIMIT:
                sample = path[:_SAMPLE_LENGTH]
                if sample not in samples:
                    samples.append(sample)
        finally:
            lock.release()

    def _take(self) -> AttemptBatch:
        with self._lock:
            # Keys may be OperationType (a str subclass): send plain strings.
            batch = AttemptBatch(
                self._epoch,
                {str(k): v for k, v in self._blocked.items()},
                {str(k): v for k, v in self._simulated.items()},
                {str(k): list(v) for k, v in self._samples.items()},
            )
            self._blocked.clear()
            self._simulated.clear()
            self._samples.clear()
            return batch

    def _give_back(self, batch: AttemptBatch) -> None:
        with self._lock:
            if batch.epoch != self._epoch:
                return
            self._blocked.update(batch.blocked)
            self._simulated.update(batch.simulated)
            _merge_samples(self._samples, batch.samples)

    def flush(self, store: StateStore, epoch: str) -> None:
        """Send this process's counts and refresh the cached totals.

        On a store error the batch is kept for the next flush, so counts
        survive an outage instead of vanishing.
        """
        batch = self._take()
        # Counts of a maintenance that has ended are reported nowhere any
        # more; sending them would reset a store's counters to that epoch.
        if batch and batch.epoch == epoch:
            try:
                store.record_attempts(batch)
            except StoreError:
                self._give_back(batch)
                raise
        totals = store.read_attempts(epoch)
        with self._lock:
            self._totals = totals
            self._totals_epoch = epoch

    def totals(self, epoch: str) -> AttemptCounts:
        """Store totals as of the last flush plus what is not flushed yet."""
        with self._lock:
            base = self._totals if self._totals_epoch == epoch else AttemptCounts()
            if self._epoch != epoch:
                return base
            blocked = Counter(base.blocked)
            blocked.update(self._blocked)
            simulated = Counter(base.simulated)
            simulated.update(self._simulated)
            samples = {k: list(v) for k, v in base.samples.items()}
            _merge_samples(samples, self._samples)
            return AttemptCounts(dict(blocked), dict(simulated), samples)

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._blocked.clear()
        self._simulated.clear()
        self._samples.clear()


def _merge_samples(into: dict[str, list[str]], more: Mapping[str, Sequence[str]]) -> None:
    """Add ``more``'s paths to ``into``: each once, at most SAMPLE_LIMIT each."""
    for operation, paths in more.items():
        kept = into.setdefault(operation, [])
        kept.extend(p for p in paths if p not in kept)
        del kept[SAMPLE_LIMIT:]
