"""Holding new RQ jobs during maintenance: the suspension flag and ``MaintenanceAwareWorker``.

``suspend_workers`` / ``resume_workers`` set and clear RQ's own flag, which
every ``rq worker`` honours before it waits for a job. ``MaintenanceAwareWorker``
also holds a job that arrives while it already waits, and can follow any
predicate instead of the flag. It subclasses ``rq.Worker``, so it is built on
first use by ``worker_class()``: importing this module must not import RQ.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from maintguard.effects.jobs.base import _positive
from maintguard.effects.jobs.rq_client import _import_rq, _with_client
from maintguard.logs import maintenance as log_line

if TYPE_CHECKING:
    import redis


def suspend_workers(connection_or_url: str | redis.Redis, ttl: int | None = None) -> None:
    """Set RQ's suspension flag: workers start no new job until ``resume_workers``.

    Plain ``rq worker`` checks it only before waiting for a job; use
    ``MaintenanceAwareWorker`` to also hold jobs that arrive while it waits.
    ``ttl`` (seconds) lets the flag lapse by itself.
    """
    from rq.suspension import suspend

    _with_client(connection_or_url, lambda client: suspend(client, ttl))


def resume_workers(connection_or_url: str | redis.Redis) -> None:
    """Clear RQ's suspension flag."""
    from rq.suspension import resume

    _with_client(connection_or_url, resume)


def workers_suspended(connection_or_url: str | redis.Redis) -> bool:
    from rq.suspension import is_suspended

    return bool(_with_client(connection_or_url, is_suspended))


_worker_class: type[Any] | None = None


def worker_class() -> type[Any]:
    """The ``MaintenanceAwareWorker`` class, built (and RQ imported) on the first call."""
    global _worker_class
    if _worker_class is None:
        _worker_class = _build_worker_class()
    return _worker_class


def _build_worker_class() -> type[Any]:
    rq = _import_rq()
    from rq.suspension import is_suspended
    from rq.worker import WorkerStatus

    class MaintenanceAwareWorker(rq.Worker):  # type: ignore[misc, name-defined]
        """An RQ worker that starts no job while ``is_blocked()`` holds.

        ``is_blocked`` defaults to RQ's suspension flag (``suspend_workers``);
        pass e.g. ``lambda: service.get_maintenance_status().is_active`` to
        follow maintenance itself. It waits in steps of
        ``block_poll_interval`` seconds, so a job that arrives while it waits
        is never taken during maintenance; one dequeued in the instant
        maintenance began goes back to the front of its queue. A predicate
        that raises counts as blocked (jobs wait; none is lost). In burst
        mode a blocked worker quits, leaving the jobs queued, as RQ does
        when suspended. Use with ``rq worker -w maintguard.jobs.MaintenanceAwareWorker``.
        """

        block_poll_interval: float = 1.0

        def __init__(
            self,
            *args: Any,
            is_blocked: Callable[[], bool] | None = None,
            block_poll_interval: float | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            self._is_blocked = is_blocked
            if block_poll_interval is not None:
                self.block_poll_interval = _positive(block_poll_interval, "block_poll_interval")

        def is_blocked(self) -> bool:
            try:
                if self._is_blocked is None:
                    return bool(is_suspended(self.connection))
                return bool(self._is_blocked())
            except Exception as exc:
                log_line(
                    "Job hold check failed",
                    logging.WARNING,
                    worker=self.name,
                    error=type(exc).__name__,
                    outcome="holding jobs",
                )
                return True

        def dequeue_job_and_maintain_ttl(
            self, timeout: int | None, max_idle_time: int | None = None
        ) -> Any:
            idle_since = time.monotonic()
            step = max(1, math.ceil(self.block_poll_interval))
            while not self._stop_requested:
                if max_idle_time is not None and time.monotonic() - idle_since >= max_idle_time:
                    return None
                if self.is_blocked():
                    if timeout is None:  # burst: leave the jobs queued and quit
                        return None
                    self._hold()
                    continue
                if timeout is None:
                    result = super().dequeue_job_and_maintain_ttl(None, max_idle_time)
                else:
                    # Bounded waits, so that maintenance beginning is noticed.
                    wait = min(timeout, step)
                    result = super().dequeue_job_and_maintain_ttl(wait, wait)
                if result is None:
                    if timeout is None:
                        return None
                    continue
                if self.is_blocked():
                    self._hand_back(*result)
                    continue
                return result
            return None

        def _hold(self) -> None:
            if self.get_state() != WorkerStatus.SUSPENDED:
                self.set_state(WorkerStatus.SUSPENDED)
                self.log.info("Worker %s: holding jobs during maintenance", self.name)
            self.heartbeat()
            time.sleep(self.block_poll_interval)

        def _hand_back(self, job: Any, queue: Any) -> None:
            intermediate = getattr(queue, "intermediate_queue_key", None)
            with self.connection.pipeline() as pipe:
                if intermediate is not None:
                    pipe.lrem(intermediate, 1, job.id)
                queue.push_job_id(job.id, pipeline=pipe, at_front=True)
                pipe.execute()
            self.log.info("Worker %s: job %s back on its queue (maintenance)", self.name, job.id)

    MaintenanceAwareWorker.__qualname__ = "MaintenanceAwareWorker"
    # Named where users (and `rq worker -w`) find it: its public module.
    MaintenanceAwareWorker.__module__ = "maintguard.jobs"
    return MaintenanceAwareWorker
