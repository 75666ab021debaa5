"""Blocked-attempt counters: counted in-process, flushed to the store in batches.

A blocked request costs one locked dict increment here, never a network
call; the housekeeper flushes the batch once per tick and caches the
store's totals so the read endpoints do no I/O either.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from maintguard.exceptions import DataRefusedError, StoreError
from maintguard.logs import escape, logger
from maintguard.stores.base import SAMPLE_LIMIT, AttemptBatch, AttemptCounts, StateStore

#: Per-minute counters are stored under this prefix; operation type names
#: are UPPER_SNAKE_CASE, so no type can collide with one.
MINUTE_PREFIX = "minute:"

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
        # The current minute's counts are plain integers, folded into the
        # counters under their ``minute:`` key when the minute changes or a
        # batch is taken: a request pays two int additions, not a dict update.
        self._minute_start = -60.0
        self._minute_key = ""
        self._minute_blocked = 0
        self._minute_simulated = 0

    def record(self, epoch: str, operation: str, path: str, simulated: bool) -> None:
        now = time.time()
        with self._lock:
            if epoch != self._epoch:
                self._epoch = epoch
                self._blocked.clear()
                self._simulated.clear()
                self._samples.clear()
                self._minute_blocked = self._minute_simulated = 0
            if not self._minute_start <= now < self._minute_start + 60.0:
                self._fold_minute()
                minute = int(now // 60)
                self._minute_start = minute * 60.0
                self._minute_key = f"{MINUTE_PREFIX}{minute}"
            if simulated:
                self._simulated[operation] += 1
                self._minute_simulated += 1
            else:
                self._blocked[operation] += 1
                self._minute_blocked += 1
            samples = self._samples.setdefault(operation, [])
            if len(samples) < SAMPLE_LIMIT:
                # Client-chosen: no NUL, control character or lone
                # surrogate, which a store (PostgreSQL) could refuse.
                sample = escape(path[:_SAMPLE_LENGTH])
                if sample not in samples:
                    samples.append(sample)

    def _fold_minute(self) -> None:
        """Move the current minute's counts into the counters (lock held)."""
        if self._minute_blocked:
            self._blocked[self._minute_key] += self._minute_blocked
        if self._minute_simulated:
            self._simulated[self._minute_key] += self._minute_simulated
        self._minute_blocked = self._minute_simulated = 0

    def _take(self) -> AttemptBatch:
        with self._lock:
            self._fold_minute()
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
            except DataRefusedError as exc:
                # Sending it again would fail again, and block every later
                # batch behind it: dropped, and said so once.
                logger.error(
                    "[MAINTENANCE] Attempt counters dropped: the store refused the batch "
                    "(store=%s blocked=%s simulated=%s error=%s)",
                    store.name,
                    sum(batch.blocked.values()),
                    sum(batch.simulated.values()),
                    type(exc).__name__,
                )
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
                return _split_minutes(base.blocked, base.simulated, base.samples)
            blocked = Counter(base.blocked)
            blocked.update(self._blocked)
            simulated = Counter(base.simulated)
            simulated.update(self._simulated)
            if self._minute_blocked:
                blocked[self._minute_key] += self._minute_blocked
            if self._minute_simulated:
                simulated[self._minute_key] += self._minute_simulated
            samples = {k: list(v) for k, v in base.samples.items()}
            _merge_samples(samples, self._samples)
            return _split_minutes(blocked, simulated, samples)

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._minute_blocked = self._minute_simulated = 0
        self._blocked.clear()
        self._simulated.clear()
        self._samples.clear()


def _split_minutes(
    blocked: Mapping[str, int], simulated: Mapping[str, int], samples: Mapping[str, Sequence[str]]
) -> AttemptCounts:
    """Counts per operation type, with the per-minute counters set apart."""
    ops_blocked, minutes_blocked = _split(blocked)
    ops_simulated, minutes_simulated = _split(simulated)
    return AttemptCounts(ops_blocked, ops_simulated, samples, minutes_blocked, minutes_simulated)


def _split(counts: Mapping[str, int]) -> tuple[dict[str, int], dict[int, int]]:
    operations: dict[str, int] = {}
    minutes: dict[int, int] = {}
    for key, count in counts.items():
        if key.startswith(MINUTE_PREFIX):
            stamp = key[len(MINUTE_PREFIX) :]
            if stamp.isdigit():  # anything else was not written by us: ignored
                minutes[int(stamp)] = int(count)
        else:
            operations[key] = int(count)
    return operations, minutes


def _merge_samples(into: dict[str, list[str]], more: Mapping[str, Sequence[str]]) -> None:
    """Add ``more``'s paths to ``into``: each once, at most SAMPLE_LIMIT each."""
    for operation, paths in more.items():
        kept = into.setdefault(operation, [])
        kept.extend(p for p in paths if p not in kept)
        del kept[SAMPLE_LIMIT:]
