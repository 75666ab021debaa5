"""Counting and stopping RQ jobs: ``RQJobTerminator``.

Running jobs are read from each queue's ``StartedJobRegistry``; stopping
waits out the grace period, sends RQ's stop-job command, and marks stopped
the jobs no worker confirms (a dead worker, a stale entry). RQ is imported
inside the methods, so building a terminator needs the ``rq`` extra only
when it is used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from maintguard.effects.jobs.base import REASON, JobBackendError, _grace, _positive
from maintguard.effects.jobs.rq_client import _Connection, _redis_error
from maintguard.exceptions import ConfigurationError
from maintguard.logs import maintenance as log_line

if TYPE_CHECKING:
    import redis


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
