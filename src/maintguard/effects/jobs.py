"""Background jobs during maintenance: count them, stop them, hold new ones.

A ``JobTerminator`` answers how many jobs run and stops them in an emergency
after a grace period. ``RQJobTerminator`` does it for RQ; anything else
plugs in with ``CallableJobTerminator``. To keep workers from *starting* jobs
while maintenance holds, either suspend RQ workers (``suspend_workers`` /
``resume_workers``, RQ's own flag, honoured by every ``rq worker`` before it
waits for a job) or run ``maintguard.jobs.MaintenanceAwareWorker``, which also
never starts a job that arrives while it is already waiting, and can follow
any predicate (e.g. the maintenance status) instead of the flag.

RQ is imported only when one of these is used; job ids are not secrets and
are logged.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from maintguard.exceptions import ConfigurationError, MaintGuardError, import_extra
from maintguard.logs import maintenance as log_line

if TYPE_CHECKING:
    import redis

logger = logging.getLogger("maintguard")

#: The ``reason`` of every "Job terminated" line (the seeds' wording).
REASON = "emergency_mode"


class JobBackendError(MaintGuardError):
    """The job backend could not be reached; ``stopped`` jobs were stopped before."""

    def __init__(self, message: str, stopped: int = 0) -> None:
        super().__init__(message)
        self.stopped = stopped


class JobTerminator(Protocol):
    """Counts running background jobs and stops them in an emergency."""

    def active_jobs_count(self) -> int: ...

    def terminate_all_jobs(self, grace_period: float) -> int:
        """Wait up to ``grace_period`` seconds, then stop what still runs.

        Returns the number of jobs stopped; jobs that finish within the grace
        period are not counted.
        """
        ...


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise JobBackendError(f"{what} returned {type(value).__name__}, not a count")
    return value


def _grace(grace_period: float) -> float:
    if (
        isinstance(grace_period, bool)
        or not isinstance(grace_period, (int, float))
        or not math.isfinite(grace_period)
        or grace_period < 0
    ):
        raise ConfigurationError("grace_period must be a finite number of seconds >= 0")
    return float(grace_period)


def _positive(value: float, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"{name} must be a positive number of seconds")
    return float(value)


class CallableJobTerminator:
    """Adapts the application's own functions.

    ``count()`` returns the number of running jobs; ``terminate(grace_period)``
    stops them and returns how many it stopped.
    """

    def __init__(self, *, count: Callable[[], int], terminate: Callable[[float], int]) -> None:
        if not callable(count) or not callable(terminate):
            raise ConfigurationError("CallableJobTerminator needs count and terminate callables")
        self._count = count
        self._terminate = terminate

    def active_jobs_count(self) -> int:
        return _count(self._count(), "count()")

    def terminate_all_jobs(self, grace_period: float) -> int:
        return _count(self._terminate(_grace(grace_period)), "terminate()")


# --- RQ ---------------------------------------------------------------------


def _import_rq() -> Any:
    import_extra("redis", "rq")  # rq needs it; name the extra that brings both
    return import_extra("rq", "rq")


def _redis_error() -> type[Exception]:
    """redis.RedisError, once the extra is known to be installed."""
    _import_rq()
    import redis

    return redis.RedisError


def _check_url(url: str) -> str:
    if urlsplit(url).scheme.lower() not in ("redis", "rediss", "unix"):
        raise ConfigurationError("the RQ Redis URL must start with redis://, rediss:// or unix://")
    return url


def _check_client(client: object) -> object:
    pool = getattr(client, "connection_pool", None)
    if getattr(pool, "connection_kwargs", {}).get("decode_responses"):
        raise ConfigurationError("RQ needs a Redis client with decode_responses=False")
    return client


class _Connection:
    """A Redis client given or built from a URL (then per process, closed on close())."""

    def __init__(self, connection_or_url: str | redis.Redis, timeout: float) -> None:
        self.timeout = timeout
        self._url = ""
        self._given: Any = None
        self._own: Any = None
        self._pid = 0
        if isinstance(connection_or_url, str):
            self._url = _check_url(connection_or_url)
        else:
            self._given = _check_client(connection_or_url)

    def get(self) -> Any:
        if self._given is not None:
            return self._given
        if self._own is None or self._pid != os.getpid():
            import redis

            # After fork the parent's sockets are not ours: build a new client.
            self._own = redis.Redis.from_url(
                self._url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
            self._pid = os.getpid()
        return self._own

    def close(self) -> None:
        if self._own is not None and self._pid == os.getpid():
            self._own.close()
        self._own = None


class RQJobTerminator:
    """Counts and stops RQ jobs.

    Running jobs are those in the queues' ``StartedJobRegistry`` (``queues``
    None: every queue). Stopping waits up to the grace period for them to
    finish, then sends RQ's stop-job command; a job its worker does not stop
    within ``stop_timeout`` (a dead worker, a stale entry) is marked stopped.
    """

    def __init__(
        self,
        connection_or_url: str | redis.Redis,
        queues: Iterable[str] | None = None,
        *,
        # How often the grace period checks whether jobs are done.
        poll_interval: float = 0.2,
        # How long a worker gets to confirm a stop before the job is marked stopped.
        stop_timeout: float = 5.0,
        # Seconds per Redis operation, for a client built from a URL.
        timeout: float = 5.0,
        # The queues' serializer, if not RQ's default.
        serializer: Any = None,
    ) -> None:
        self._connection = _Connection(connection_or_url, _positive(timeout, "timeout"))
        self.queues: tuple[str, ...] | None = None if queues is None else tuple(queues)
        if self.queues is not None and not all(isinstance(q, str) and q for q in self.queues):
            raise ConfigurationError("queues must be queue names")
        self.poll_interval = _positive(poll_interval, "poll_interval")
        self.stop_timeout = _positive(stop_timeout, "stop_timeout")
        self.serializer = serializer

    def __repr__(self) -> str:
        return f"RQJobTerminator(queues={self.queues!r})"

    def close(self) -> None:
        """Close the Redis client this terminator built (a given one is left open)."""
        self._connection.close()

    def __enter__(self) -> RQJobTerminator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def active_jobs_count(self) -> int:
        redis_error = _redis_error()
        try:
            return len(self._started(self._connection.get()))
        except redis_error as exc:
            raise JobBackendError(f"RQ is unreachable ({type(exc).__name__})") from None

    def terminate_all_jobs(self, grace_period: float) -> int:
        grace = _grace(grace_period)
        redis_error = _redis_error()
        stopped: list[str] = []
        try:
            connection = self._connection.get()
            running = self._wait_for_grace(connection, grace)
            if running:
                self._stop(connection, running, stopped)
        except redis_error as exc:
            raise JobBackendError(
                f"RQ became unreachable while stopping jobs ({type(exc).__name__})",
                stopped=len(stopped),
            ) from None
        return len(stopped)

    def _queue_objects(self, connection: Any) -> list[Any]:
        from rq import Queue

        if self.queues is None:
            return list(Queue.all(connection=connection, serializer=self.serializer))
        return [
            Queue(name, connection=connection, serializer=self.serializer) for name in self.queues
        ]

    def _started(self, connection: Any) -> set[str]:
        from rq.registry import StartedJobRegistry

        ids: set[str] = set()
        now = time.time()
        for queue in self._queue_objects(connection):
            registry = StartedJobRegistry(queue=queue)
            # Entries scored in the past belong to abandoned jobs. They are skipped
            # rather than cleaned up: counting must not move jobs or run their
            # failure callbacks in this process (RQ's own cleanup does that).
            entries = connection.zrangebyscore(registry.key, now, "+inf")
            parse = getattr(registry, "parse_job_id", None)  # RQ >= 2: job:execution
            for entry in entries:
                text = entry.decode() if isinstance(entry, bytes) else str(entry)
                ids.add(parse(text) if parse is not None else text)
        return ids

    def _wait_for_grace(self, connection: Any, grace: float) -> set[str]:
        """Poll until nothing runs or the grace period is over; what still runs."""
        deadline = time.monotonic() + grace
        running = self._started(connection)
        while running:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(self.poll_interval, left))
            running = self._started(connection)
        return running

    def _stop(self, connection: Any, running: set[str], stopped: list[str]) -> None:
        from rq.command import send_stop_job_command
        from rq.exceptions import InvalidJobOperation, NoSuchJobError

        sent: list[str] = []
        orphans: list[str] = []
        for job_id in sorted(running):
            try:
                send_stop_job_command(connection, job_id, serializer=self.serializer)
            except NoSuchJobError:
                continue  # finished and expired meanwhile
            except InvalidJobOperation:
                orphans.append(job_id)  # in the registry, yet no worker holds it
            else:
                sent.append(job_id)
        unconfirmed = self._await_stops(connection, sent, stopped)
        for job_id in [*orphans, *unconfirmed]:
            if self._mark_stopped(connection, job_id):
                self._record(job_id, stopped, marked=True)

    def _await_stops(self, connection: Any, sent: list[str], stopped: list[str]) -> list[str]:
        """Wait for workers to stop the jobs; returns the ones still running."""
        from rq.job import JobStatus

        pending = list(sent)
        deadline = time.monotonic() + self.stop_timeout
        while pending:
            still: list[str] = []
            for job_id in pending:
                status = self._status(connection, job_id)
                if status == JobStatus.STOPPED:
                    self._record(job_id, stopped)
                elif status == JobStatus.STARTED:
                    still.append(job_id)
                # Finished, failed or gone: it ended on its own, not by us.
            pending = still
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(self.poll_interval)
        return pending

    def _status(self, connection: Any, job_id: str) -> Any:
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job

        try:
            return Job.fetch(job_id, connection=connection, serializer=self.serializer).get_status()
        except (NoSuchJobError, InvalidJobOperation):
            return None

    def _mark_stopped(self, connection: Any, job_id: str) -> bool:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus
        from rq.registry import StartedJobRegistry

        try:
            job = Job.fetch(job_id, connection=connection, serializer=self.serializer)
        except NoSuchJobError:
            return False
        if job.get_status() in (JobStatus.FINISHED, JobStatus.FAILED):
            return False
        registry = StartedJobRegistry(job.origin, connection=connection, serializer=self.serializer)
        with connection.pipeline() as pipe:
            job.set_status(JobStatus.STOPPED, pipeline=pipe)
            remove_executions = getattr(registry, "remove_executions", None)
            if remove_executions is not None:  # RQ >= 2: entries are job:execution
                remove_executions(job, pipeline=pipe)
            else:
                registry.remove(job, pipeline=pipe)
            pipe.execute()
        return True

    @staticmethod
    def _record(job_id: str, stopped: list[str], *, marked: bool = False) -> None:
        stopped.append(job_id)
        if marked:
            log_line(
                "Job terminated",
                logging.WARNING,
                tag="EMERGENCY",
                job_id=job_id,
                reason=REASON,
                how="marked stopped: no worker confirmed",
            )
        else:
            log_line("Job terminated", tag="EMERGENCY", job_id=job_id, reason=REASON)


# --- holding new jobs ---------------------------------------------------------


def _with_client(connection_or_url: str | redis.Redis, action: Callable[[Any], Any]) -> Any:
    _import_rq()
    import redis as redis_module

    if isinstance(connection_or_url, str):
        client = redis_module.Redis.from_url(
            _check_url(connection_or_url), socket_timeout=5.0, socket_connect_timeout=5.0
        )
        try:
            return action(client)
        except redis_module.RedisError as exc:
            raise JobBackendError(f"RQ is unreachable ({type(exc).__name__})") from None
        finally:
            client.close()
    try:
        return action(_check_client(connection_or_url))
    except redis_module.RedisError as exc:
        raise JobBackendError(f"RQ is unreachable ({type(exc).__name__})") from None


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


def __getattr__(name: str) -> Any:
    # The worker class subclasses rq.Worker, so it is built on first access:
    # importing maintguard.jobs must not import RQ.
    if name == "MaintenanceAwareWorker":
        global _worker_class
        if _worker_class is None:
            _worker_class = _build_worker_class()
        return _worker_class
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    MaintenanceAwareWorker.__module__ = __name__
    MaintenanceAwareWorker.__qualname__ = "MaintenanceAwareWorker"
    # Named where users (and `rq worker -w`) find it: its public module.
    MaintenanceAwareWorker.__module__ = "maintguard.jobs"
    return MaintenanceAwareWorker


__all__ = [
    "CallableJobTerminator",
    "JobBackendError",
    "JobTerminator",
    "MaintenanceAwareWorker",  # noqa: F822 - built on first access by __getattr__
    "RQJobTerminator",
    "resume_workers",
    "suspend_workers",
    "workers_suspended",
]
