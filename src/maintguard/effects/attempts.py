"""Blocked and simulated requests: counted exactly, logged at a bounded rate.

Counting is one locked increment in-process (the housekeeper flushes the
batch to the store); the log line goes through the limiter so a flood of
blocked requests writes a summary, not a line each. No I/O beyond logging.
"""

from __future__ import annotations

from maintguard import logs
from maintguard.core.decision import Action, Decision
from maintguard.core.responses import Response, Verdict, encode_headers
from maintguard.stores.counters import AttemptCounters, sample_of
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

    def verdict(self, decision: Decision, response: Response, path: str, view: View) -> Verdict:
        """A blocked answer to remember, with what ``tally`` needs made once."""
        operation = decision.operation
        sample = sample_of(path)
        tally = self._counters.tally_for(view.epoch, operation, sample)
        return Verdict(
            decision,
            response,
            tuple(encode_headers(response.headers)),
            path,
            sample,
            (str(operation), view.state.mode.value),
            None if tally is None else tally.hit,
        )

    def tally(self, verdict: Verdict, view: View) -> None:
        """``record`` of a remembered block: an anonymous request, whose
        sample, count and log-limit key were made when it was remembered."""
        operation = verdict.decision.operation
        if verdict.hit is not None:
            verdict.hit()
        else:
            self._counters.tally(view.epoch, operation, verdict.sample, False)
        if self._limiter.allow_key(verdict.line_key):
            logs.maintenance(
                "Operation blocked", endpoint=verdict.path, user="anonymous", operation=operation
            )

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
        # Plain strings: a Mode hashes in Python, and the key must equal the
        # remembered blocks' (see ``verdict``).
        if not self._limiter.allow(str(operation), mode.value):
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
