"""Blocked and simulated requests: counted exactly, logged at a bounded rate.

Counting is one locked increment in-process (the housekeeper flushes the
batch to the store); the log line goes through the limiter so a flood of
blocked requests writes a summary, not a line each. No I/O beyond logging.
"""

from __future__ import annotations

from maintguard import logs
from maintguard.core.decision import Action, Decision
from maintguard.stores.counters import AttemptCounters
from maintguard.stores.snapshot import View


class BlockedAttempts:
    """Records what the request path blocked or, in test mode, would have."""

    def __init__(
        self,
        counters: AttemptCounters,
        limiter: logs.BlockedLineLimiter,
        *,
        simulation: bool,
        simulation_log_level: int,
    ) -> None:
        self._counters = counters
        self._limiter = limiter
        self._simulation = simulation
        self._simulation_log_level = simulation_log_level

    def record(self, decision: Decision, path: str, user: str | None, view: View) -> None:
        if decision.action is Action.ALLOW:
            return
        simulated = decision.action is Action.SIMULATE
        if simulated and not self._simulation:
            return
        # OperationType and Mode are str subclasses: usable as keys directly.
        operation = decision.operation
        self._counters.record(view.epoch, operation, path, simulated)
        mode = view.state.mode
        if not self._limiter.allow(operation, mode):
            return
        if simulated:
            logs.maintenance(
                "Operation would be blocked",
                level=self._simulation_log_level,
                endpoint=path,
                user=user or "anonymous",
                operation=operation,
                mode=mode,
            )
        else:
            logs.maintenance(
                "Operation blocked", endpoint=path, user=user or "anonymous", operation=operation
            )
