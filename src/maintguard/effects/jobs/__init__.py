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

The parts: ``base`` (the protocol, the callable adapter, shared checks),
``rq_client`` (reaching RQ's Redis), ``rq_terminator`` and ``rq_worker``
(the suspension flag and the worker). This module only gathers them.
"""

from __future__ import annotations

from typing import Any

from maintguard.effects.jobs.base import REASON as REASON
from maintguard.effects.jobs.base import CallableJobTerminator as CallableJobTerminator
from maintguard.effects.jobs.base import JobBackendError as JobBackendError
from maintguard.effects.jobs.base import JobTerminator as JobTerminator
from maintguard.effects.jobs.rq_terminator import RQJobTerminator as RQJobTerminator
from maintguard.effects.jobs.rq_worker import resume_workers as resume_workers
from maintguard.effects.jobs.rq_worker import suspend_workers as suspend_workers
from maintguard.effects.jobs.rq_worker import worker_class
from maintguard.effects.jobs.rq_worker import workers_suspended as workers_suspended


def __getattr__(name: str) -> Any:
    # The worker class subclasses rq.Worker, so it is built on first access:
    # importing maintguard.jobs must not import RQ.
    if name == "MaintenanceAwareWorker":
        return worker_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CallableJobTerminator",
    "JobBackendError",
    "JobTerminator",
    "MaintenanceAwareWorker",  # built on first access by __getattr__
    "RQJobTerminator",
    "resume_workers",
    "suspend_workers",
    "workers_suspended",
]
