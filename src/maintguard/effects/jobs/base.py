"""What a job terminator is, and the one that adapts the application's own functions.

``JobTerminator`` is the protocol the service talks to; the checks here
(``_count``, ``_grace``, ``_positive``) are shared by every terminator so that
a backend's bad answer or a bad setting fails the same way whichever is used.
Nothing here imports a job backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from maintguard.exceptions import ConfigurationError, MaintGuardError

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
