"""Housekeeping: the work the snapshot thread does after each refresh.

Counters are flushed to the store in one batch, a due window transition is
claimed, the log limiter emits its summaries, the active jobs are counted
for the status and, every ``cleanup_interval``, the last side-effect run is
summarised. None of it runs on the request path.
"""

from __future__ import annotations

import contextlib
import logging
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
        #: The job terminator's last count, shown by the status (no I/O there).
        self.active_jobs_count = 0

    def tick(self, view: View) -> None:
        # On failure the batch is kept for the next flush; the outage is logged.
        with contextlib.suppress(StoreError):
            self._counters.flush(self._store, view.epoch)
        self._claim_transition(view)
        self._limiter.flush()
        terminator = self._effects.job_terminator
        if terminator is not None:
            try:
                self.active_jobs_count = int(terminator.active_jobs_count())
            except Exception as exc:
                logger.warning(
                    "[MAINTENANCE] Could not count active jobs: error=%s", type(exc).__name__
                )
        if time.monotonic() - self._last_cleanup >= self._cleanup_interval:
            self._last_cleanup = time.monotonic()
            self._effects.summarise()
