"""Blocked-attempt counters: counted in-process, flushed to the store in batches.

A blocked request costs one locked dict increment here, never a network
call; the housekeeper flushes the batch once per tick and caches the
store's totals so the read endpoints do no I/O either.

A block the adapters remember (the same anonymous request, again and again:
a flood) is cheaper still: it has a ``Tally`` of its own, counted without a
lock and read into the counters when they are flushed or reported. Its
per-minute share goes to the minute it is read in, at most one
housekeeping tick late.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from maintguard.exceptions import DataRefusedError, StoreError
from maintguard.hits import LOCK_FREE, Hits
from maintguard.logs import escape, logger
from maintguard.stores.base import SAMPLE_LIMIT, AttemptBatch, AttemptCounts, StateStore

#: Per-minute counters are stored under this prefix; operation type names
#: are UPPER_SNAKE_CASE, so no type can collide with one.
MINUTE_PREFIX = "minute:"

#: Longest sample path kept for the report (they are client-chosen).
_SAMPLE_LENGTH = 200


#: Most tallies kept at once (one per remembered block), and most bytes of
#: their sample paths; past either, a block is counted under the lock.
TALLY_LIMIT = 4096
TALLY_BYTES = 1024 * 1024


class Tally(Hits):
    """The count of one remembered block: ``hit()`` adds one, with no lock
    (see ``maintguard.hits``); the counters ``take`` it under theirs."""

    __slots__ = ("epoch", "operation", "sample")

    def __init__(self, epoch: str, operation: str, sample: str) -> None:
        super().__init__()
        self.epoch = epoch
        self.operation = operation
        self.sample = sample


def sample_of(path: str) -> str:
    """A path as the report keeps it: client-chosen, so cut short and with
    no NUL, control character or lone surrogate, which a store
    (PostgreSQL) could refuse."""
    return escape(path[:_SAMPLE_LENGTH])


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
        self._tallies: dict[tuple[str, str, str], Tally] = {}
        self._tally_bytes = 0

    def tally_for(self, epoch: str, operation: str, sample: str) -> Tally | None:
        """The lock-free count of a block about to be remembered (shared by
        every state of the maintenance); ``None`` past ``TALLY_LIMIT``."""
        if not LOCK_FREE:
            return None
        key = (epoch, operation, sample)
        with self._lock:
            tally = self._tallies.get(key)
            if tally is None:
                size = sys.getsizeof(sample)
                if len(self._tallies) >= TALLY_LIMIT or self._tally_bytes + size > TALLY_BYTES:
                    return None
                tally = self._tallies[key] = Tally(epoch, operation, sample)
                self._tally_bytes += size
            return tally

    def _switch(self, epoch: str) -> None:
        """A new maintenance (lock held): the counts of the last one go."""
        self._epoch = epoch
        self._blocked.clear()
        self._simulated.clear()
        self._samples.clear()
        self._minute_blocked = self._minute_simulated = 0

    def _roll_minute(self, now: float) -> None:
        if not self._minute_start <= now < self._minute_start + 60.0:
            self._fold_minute()
            minute = int(now // 60)
            self._minute_start = minute * 60.0
            self._minute_key = f"{MINUTE_PREFIX}{minute}"

    def _read_tallies(self, epoch: str) -> None:
        """Add what the tallies counted since last read (lock held); those
        of another maintenance are read one last time and dropped."""
        if not self._tallies:
            return
        if epoch != self._epoch:
            self._switch(epoch)
        self._roll_minute(time.time())
        for key, tally in list(self._tallies.items()):
            new = tally.take()
            if tally.epoch != epoch:
                del self._tallies[key]
                self._tally_bytes -= sys.getsizeof(tally.sample)
            elif new:
                self._blocked[tally.operation] += new
                self._minute_blocked += new
                self._add_sample(tally.operation, tally.sample)

    def _add_sample(self, operation: str, sample: str) -> None:
        samples = self._samples.get(operation)
        if samples is None:
            self._samples[operation] = [sample]
        elif len(samples) < SAMPLE_LIMIT and sample not in samples:
            samples.append(sample)

    def record(self, epoch: str, operation: str, path: str, simulated: bool) -> None:
        self.tally(epoch, operation, sample_of(path), simulated)

    def tally(self, epoch: str, operation: str, sample: str, simulated: bool) -> None:
        """``record`` with the sample already made by ``sample_of`` (the
        adapters keep it with a remembered verdict: a flood of one path
        escapes it once)."""
        now = time.time()
        lock = self._lock
        # acquire/release, not ``with``: this runs for every blocked request.
        lock.acquire()
        try:
            if epoch != self._epoch:
                self._switch(epoch)
            self._roll_minute(now)
            if simulated:
                self._simulated[operation] += 1
                self._minute_simulated += 1
            else:
                self._blocked[operation] += 1
                self._minute_blocked += 1
            self._add_sample(operation, sample)
        finally:
            lock.release()

    def _fold_minute(self) -> None:
        """Move the current minute's counts into the counters (lock held)."""
        if self._minute_blocked:
            self._blocked[self._minute_key] += self._minute_blocked
        if self._minute_simulated:
            self._simulated[self._minute_key] += self._minute_simulated
        self._minute_blocked = self._minute_simulated = 0

    def _take(self, epoch: str) -> AttemptBatch:
        with self._lock:
            self._read_tallies(epoch)
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
        batch = self._take(epoch)
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
            self._read_tallies(epoch)
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
        # The parent's hits are the parent's: a child counts from here on
        # (its remembered blocks still hold these tallies).
        for tally in self._tallies.values():
            tally.take()
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
