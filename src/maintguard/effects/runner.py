"""Side effects of a maintenance start: sessions, then jobs, then the record.

They run once, in the process that made the change (or won the window's
compare-and-set), on a background thread so that the API can answer 202 as
soon as the protection is in force. A failing step is logged and recorded;
it never undoes the protection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from maintguard import logs
from maintguard.core.state import MaintenanceState, Mode

logger = logging.getLogger("maintguard")


class ProgressRecorder(Protocol):
    """Writes a change to the state (``StateWriter.change``): used to show the
    side effects' progress in the status."""

    def change(
        self,
        action: str,
        actor: str,
        build: Callable[[MaintenanceState], MaintenanceState | None],
        expected_version: int | None,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> tuple[MaintenanceState, MaintenanceState]: ...


class SideEffects:
    """Runs and tracks the side effects of this process's changes."""

    def __init__(
        self,
        session_invalidator: Any,
        job_terminator: Any,
        *,
        session_cleanup: bool,
        recorder: ProgressRecorder,
    ) -> None:
        self.session_invalidator = session_invalidator
        self.job_terminator = job_terminator
        self._session_cleanup = session_cleanup
        self._recorder = recorder
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.last_outcome: dict[str, Any] = {}
        self._summarised = True

    def start(
        self, state: MaintenanceState, *, terminate_jobs: bool, grace: float, background: bool
    ) -> None:
        sessions = self.session_invalidator is not None and self._session_cleanup
        jobs = terminate_jobs and state.mode is Mode.EMERGENCY and self.job_terminator is not None
        if not sessions and not jobs:
            return
        if not background:
            self._run(state, sessions, jobs, grace)
            return
        thread = threading.Thread(
            target=self._run,
            args=(state, sessions, jobs, grace),
            name="maintguard-side-effects",
            daemon=True,
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float | None = 60.0) -> None:
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _run(self, state: MaintenanceState, sessions: bool, jobs: bool, grace: float) -> None:
        tag = "EMERGENCY" if state.mode is Mode.EMERGENCY else "MAINTENANCE"
        outcome: dict[str, Any] = {}
        if sessions:
            outcome.update(self._sessions(state, tag))
            self._progress(state, outcome)
        if jobs:
            outcome.update(self._jobs(grace))
            self._progress(state, outcome)
        with self._lock:
            self.last_outcome = outcome
            self._summarised = False
        self._record(state, outcome)

    def _sessions(self, state: MaintenanceState, tag: str) -> dict[str, Any]:
        invalidator = self.session_invalidator
        dry_run = state.mode is Mode.TEST
        try:
            report = invalidator.invalidate(keep_admins=True, dry_run=dry_run)
        except Exception as exc:
            logs.maintenance(
                "Session invalidation failed",
                level=logging.ERROR,
                tag=tag,
                error=type(exc).__name__,
            )
            return {"sessions": "failed"}
        # The invalidator logs its own per-batch and summary lines.
        return {
            "sessions": "done" if report.complete else "incomplete",
            "sessions_invalidated": report.invalidated,
            "sessions_kept_admin": report.kept_admin,
            "sessions_failed": report.failed,
            "sessions_simulated": dry_run,
        }

    def _jobs(self, grace: float) -> dict[str, Any]:
        terminator = self.job_terminator
        try:
            stopped = int(terminator.terminate_all_jobs(grace))
        except Exception as exc:
            logs.maintenance(
                "Job termination failed",
                level=logging.ERROR,
                tag="EMERGENCY",
                error=type(exc).__name__,
            )
            return {"jobs": "failed"}
        logs.maintenance("Jobs terminated", tag="EMERGENCY", count=stopped, grace_period=grace)
        return {"jobs": "done", "jobs_stopped": stopped}

    def _same_maintenance(self, started: MaintenanceState, current: MaintenanceState) -> bool:
        return current.active and current.started_at == started.started_at

    def _progress(self, state: MaintenanceState, outcome: dict[str, Any]) -> None:
        """Show progress in the status, only while the same maintenance holds."""

        def build(current: MaintenanceState) -> MaintenanceState | None:
            if not self._same_maintenance(state, current):
                return None
            return attrs.evolve(current, progress={**current.progress, **outcome})

        try:
            self._recorder.change("progress", "maintguard", build, None, state.reason, outcome)
        except Exception as exc:
            logger.warning(
                "[MAINTENANCE] Could not record side-effect progress: error=%s",
                type(exc).__name__,
            )

    def _record(self, state: MaintenanceState, outcome: dict[str, Any]) -> None:
        logs.maintenance(
            "Side effects finished",
            tag="EMERGENCY" if state.mode is Mode.EMERGENCY else "MAINTENANCE",
            **{key: value for key, value in outcome.items()},
        )

    def summarise(self) -> None:
        """Housekeeping: one summary line per finished run."""
        with self._lock:
            if self._summarised or not self.last_outcome:
                return
            self._summarised = True
            outcome = dict(self.last_outcome)
        logs.maintenance("Housekeeping summary", **outcome)
