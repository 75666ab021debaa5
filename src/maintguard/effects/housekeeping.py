"""Housekeeping: the work the snapshot thread does after each refresh.

Counters are flushed to the store in one batch, a due window transition is
claimed, the log limiter emits its summaries, the active jobs are counted
for the status and, every ``cleanup_interval``, the last side-effect run is
summarised. None of it runs on the request path.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from maintguard.effects.runner import SideEffects
from maintguard.exceptions import StoreError
from maintguard.logs import BlockedLineLimiter
from maintguard.stores import StateStore
from maintguard.stores.counters import AttemptCounters
from maintguard.stores.snapshot import View

logger = logging.getLogger("maintguard")

#: How old (seconds) the active-jobs count in a status may be.
JOBS_COUNT_MAX_AGE = 1.0


class Housekeeper:
    """One tick per snapshot refresh; ``claim_transition`` writes a window's
    start or end once (``Changes.claim_transition``)."""

    def __init__(
        self,
        *,
        store: StateStore,
        counters: AttemptCounters,
        limiter: BlockedLineLimiter,
        effects: SideEffects,
        claim_transition: Callable[[View], Any],
        cleanup_interval: float,
    ) -> None:
        self._store = store
        self._counters = counters
        self._limiter = limiter
        self._effects = effects
        self._claim_transition = claim_transition
        self._cleanup_interval = cleanup_interval
        self._last_cleanup = time.monotonic()
        #: The job terminator's last count, and when it was taken (monotonic).
        self._jobs_count = 0
        self._jobs_counted_at = -math.inf
        self._jobs_lock = threading.Lock()

    @property
    def active_jobs_count(self) -> int:
        """The terminator's count, asked again when over ``JOBS_COUNT_MAX_AGE``
        old: the status built right after an emergency stopped the jobs says so."""
        if self._effects.job_terminator is None:
            return 0
        if time.monotonic() - self._jobs_counted_at > JOBS_COUNT_MAX_AGE:
            self._count_jobs()
        return self._jobs_count

    def _count_jobs(self) -> None:
        terminator = self._effects.job_terminator
        if terminator is None:
            return
        with self._jobs_lock:
            if time.monotonic() - self._jobs_counted_at <= JOBS_COUNT_MAX_AGE:
                return  # another thread counted meanwhile
            try:
                self._jobs_count = int(terminator.active_jobs_count())
            except Exception as exc:
                logger.warning(
                    "[MAINTENANCE] Could not count active jobs: error=%s", type(exc).__name__
                )
            # A failure is not retried at once either: a dead queue must not
            # make every status request wait on it.
            self._jobs_counted_at = time.monotonic()

    def tick(self, view: View) -> None:
        # On failure the batch is kept for the next flush; the outage is logged.
        with contextlib.suppress(StoreError):
            self._counters.flush(self._store, view.epoch)
        self._claim_transition(view)
        self._limiter.flush()
        self._count_jobs()
        if time.monotonic() - self._last_cleanup >= self._cleanup_interval:
            self._last_cleanup = time.monotonic()
            self._effects.summarise()
