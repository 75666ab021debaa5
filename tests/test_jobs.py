"""Background jobs: counting and stopping real RQ jobs run by real workers.

Workers are ``rq worker`` subprocesses (no scheduler) against the test Redis;
job functions live in ``tests/rq_jobs.py`` so that workers can import them.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.worker import Worker

import maintguard
import maintguard.jobs
from maintguard.exceptions import ConfigurationError
from maintguard.jobs import (
    CallableJobTerminator,
    JobBackendError,
    RQJobTerminator,
    resume_workers,
    suspend_workers,
    workers_suspended,
)
from tests import rq_jobs
from tests.servers import RedisServer

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent
RQ = str(Path(sys.executable).with_name("rq"))
QUEUE = "maintguard-tests"
SHORT = 0.4  # seconds: finishes within the grace period
LONG = 10.0  # seconds: must be stopped
GRACE = 1.0


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.02)


class Workers:
    """Starts worker subprocesses and kills each one's process group at the end."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.url = url
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        # The workers import maintguard and tests.rq_jobs however this run does.
        package_root = Path(next(iter(maintguard.__path__))).parent
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(package_root), str(ROOT), os.environ.get("PYTHONPATH", "")]
            ),
        }

    def start(self, *args: str, module: bool = False) -> subprocess.Popen[bytes]:
        command = (
            [sys.executable, "-m", "tests.rq_jobs", self.url, *args]
            if module
            else [RQ, "worker", "-u", self.url, "--logging_level", "WARNING", *args]
        )
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
        try:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the worker and its work horses share a group
            )
        finally:
            log.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def kill_all(self) -> None:
        for process in self.processes:
            self.kill(process)


@pytest.fixture
def connection(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def workers(redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(redis_url, tmp_path)
    try:
        yield pool
    finally:
        pool.kill_all()


@pytest.fixture
def terminator(redis_url: str) -> Iterator[RQJobTerminator]:
    with RQJobTerminator(redis_url, poll_interval=0.05, stop_timeout=3.0) as built:
        yield built


def enqueue(connection: redis.Redis, seconds: float) -> Job:
    return Queue(QUEUE, connection=connection).enqueue(rq_jobs.sleep_for, seconds, job_timeout=60)


def status(connection: redis.Redis, job: Job) -> JobStatus:
    return Job.fetch(job.id, connection=connection).get_status()


def worker_count(connection: redis.Redis) -> int:
    return len(Worker.all(connection=connection))


def test_active_jobs_count_reflects_running_jobs(
    connection: redis.Redis, workers: Workers, terminator: RQJobTerminator
) -> None:
    assert terminator.active_jobs_count() == 0
    workers.start(QUEUE)
    workers.start(QUEUE)
    enqueue(connection, LONG)
    enqueue(connection, LONG)
    enqueue(connection, LONG)  # a third stays queued: not running

    wait_until(lambda: terminator.active_jobs_count() == 2)
    time.sleep(0.3)

    assert terminator.active_jobs_count() == 2


def test_a_short_job_finishes_in_the_grace_period_and_a_long_one_is_stopped(
    connection: redis.Redis,
    workers: Workers,
    terminator: RQJobTerminator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    workers.start(QUEUE)
    workers.start(QUEUE)
    wait_until(lambda: worker_count(connection) == 2)
    long_job = enqueue(connection, LONG)
    short_job = enqueue(connection, SHORT)
    wait_until(lambda: terminator.active_jobs_count() == 2, timeout=SHORT / 2 + 5)
    caplog.set_level(logging.INFO, logger="maintguard")

    started = time.monotonic()
    stopped = terminator.terminate_all_jobs(grace_period=GRACE)
    elapsed = time.monotonic() - started

    assert stopped == 1
    assert status(connection, short_job) == JobStatus.FINISHED
    assert status(connection, long_job) == JobStatus.STOPPED
    assert GRACE <= elapsed < GRACE + 5
    lines = [r.getMessage() for r in caplog.records]
    assert f'[EMERGENCY] Job terminated: job_id="{long_job.id}" reason="emergency_mode"' in lines
    assert not any(short_job.id in line for line in lines)


def test_jobs_that_all_finish_early_end_the_wait_early(
    connection: redis.Redis, workers: Workers, terminator: RQJobTerminator
) -> None:
    workers.start(QUEUE)
    job = enqueue(connection, SHORT)
    wait_until(lambda: terminator.active_jobs_count() == 1)

    started = time.monotonic()
    stopped = terminator.terminate_all_jobs(grace_period=30)

    assert stopped == 0
    assert time.monotonic() - started < 5
    assert status(connection, job) == JobStatus.FINISHED


def test_nothing_running_stops_nothing_at_once(terminator: RQJobTerminator) -> None:
    started = time.monotonic()

    assert terminator.terminate_all_jobs(grace_period=30) == 0
    assert time.monotonic() - started < 1


def test_a_job_whose_worker_died_is_marked_stopped(
    connection: redis.Redis, workers: Workers, redis_url: str
) -> None:
    process = workers.start(QUEUE)
    job = enqueue(connection, LONG)
    with RQJobTerminator(redis_url, [QUEUE], poll_interval=0.05, stop_timeout=0.5) as terminator:
        wait_until(lambda: terminator.active_jobs_count() == 1)
        workers.kill(process)  # worker and horse gone; the registry still says "started"

        stopped = terminator.terminate_all_jobs(grace_period=0.2)

        assert stopped == 1
        assert status(connection, job) == JobStatus.STOPPED
        assert terminator.active_jobs_count() == 0


def test_only_the_named_queues_are_counted(
    connection: redis.Redis, workers: Workers, redis_url: str
) -> None:
    workers.start(QUEUE)
    enqueue(connection, LONG)
    with (
        RQJobTerminator(redis_url, ["other"]) as other,
        RQJobTerminator(redis_url, [QUEUE]) as ours,
    ):
        wait_until(lambda: ours.active_jobs_count() == 1)

        assert other.active_jobs_count() == 0


def test_maintenance_aware_worker_holds_a_job_that_arrives_while_it_waits(
    connection: redis.Redis, workers: Workers, redis_url: str
) -> None:
    """RQ's own flag is read only before a wait; this worker also holds jobs arriving during one."""
    workers.start("-w", "maintguard.jobs.MaintenanceAwareWorker", QUEUE)
    wait_until(lambda: worker_count(connection) == 1)
    time.sleep(0.3)  # the worker now waits for a job
    suspend_workers(redis_url)
    job = enqueue(connection, 0.01)

    time.sleep(2.5)

    assert status(connection, job) == JobStatus.QUEUED
    assert job.id in Queue(QUEUE, connection=connection).job_ids
    assert workers_suspended(redis_url)

    resume_workers(redis_url)

    wait_until(lambda: status(connection, job) == JobStatus.FINISHED, timeout=10)
    assert not workers_suspended(redis_url)


def test_maintenance_aware_worker_follows_a_predicate(
    connection: redis.Redis, workers: Workers
) -> None:
    flag = "maintguard-tests:maintenance"
    connection.set(flag, 1)
    workers.start(QUEUE, flag, module=True)
    wait_until(lambda: worker_count(connection) == 1)
    job = enqueue(connection, 0.01)

    time.sleep(1.5)

    assert status(connection, job) == JobStatus.QUEUED

    connection.delete(flag)

    wait_until(lambda: status(connection, job) == JobStatus.FINISHED, timeout=10)


def test_unreachable_redis_is_a_maintguard_error(own_redis: RedisServer) -> None:
    own_redis.stop()
    with RQJobTerminator(own_redis.url, timeout=0.5) as terminator:
        with pytest.raises(JobBackendError):
            terminator.active_jobs_count()
        with pytest.raises(JobBackendError):
            terminator.terminate_all_jobs(grace_period=0)


def test_worker_class_is_built_on_first_access() -> None:
    worker_class = maintguard.jobs.MaintenanceAwareWorker

    assert issubclass(worker_class, Worker)
    assert worker_class is maintguard.jobs.MaintenanceAwareWorker
    assert worker_class.__module__ == "maintguard.jobs"


@pytest.mark.parametrize("grace", [-1, float("nan"), float("inf")])
def test_grace_period_must_be_finite_and_not_negative(
    terminator: RQJobTerminator, grace: float
) -> None:
    with pytest.raises(ConfigurationError, match="grace_period"):
        terminator.terminate_all_jobs(grace_period=grace)


def test_only_redis_urls_are_accepted() -> None:
    with pytest.raises(ConfigurationError, match="redis://"):
        RQJobTerminator("http://localhost:6379")


def test_callable_terminator_adapts_functions() -> None:
    graces: list[float] = []

    def terminate(grace_period: float) -> int:
        graces.append(grace_period)
        return 3

    terminator = CallableJobTerminator(count=lambda: 4, terminate=terminate)

    assert terminator.active_jobs_count() == 4
    assert terminator.terminate_all_jobs(2.5) == 3
    assert graces == [2.5]


def test_callable_terminator_rejects_a_result_that_is_not_a_count() -> None:
    terminator = CallableJobTerminator(count=lambda: -1, terminate=lambda grace: True)

    with pytest.raises(JobBackendError):
        terminator.active_jobs_count()
    with pytest.raises(JobBackendError):
        terminator.terminate_all_jobs(1)
