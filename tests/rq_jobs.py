"""Job functions and a worker entry point for the RQ tests.

Worker subprocesses import this module by name, so it lives in the tests
package rather than inside a test file. ``python -m tests.rq_jobs URL QUEUE
FLAG_KEY`` runs a ``MaintenanceAwareWorker`` that holds jobs while the Redis
key ``FLAG_KEY`` exists — the shape of an application that passes
``is_blocked=lambda: service.get_maintenance_status().is_active``.
"""

from __future__ import annotations

import sys
import time


def sleep_for(seconds: float) -> float:
    """A job that runs for ``seconds`` and returns them."""
    time.sleep(seconds)
    return seconds


def run_flag_worker(url: str, queue: str, flag_key: str) -> None:
    import redis

    import maintguard.jobs

    connection = redis.Redis.from_url(url)
    worker = maintguard.jobs.MaintenanceAwareWorker(
        [queue],
        connection=connection,
        is_blocked=lambda: bool(connection.exists(flag_key)),
        block_poll_interval=0.2,
    )
    worker.work(logging_level="WARNING")


if __name__ == "__main__":
    run_flag_worker(*sys.argv[1:4])
