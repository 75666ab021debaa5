"""The answers to blocked and simulated requests: the 503 and its headers.

One ``BlockedResponder`` is built per state and reused for every blocked
request until the state changes, so a flood of blocked requests costs a
dictionary lookup, not a page render each.
"""

from __future__ import annotations

from collections.abc import Iterable

from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.responses import (
    BlockedResponder,
    PageRenderer,
    Response,
    compile_page,
    wants_json,
)
from maintguard.core.state import MaintenanceState


class BlockedAnswers:
    """Builds the 503 (JSON or HTML) and the extra headers of every answer."""

    def __init__(
        self, page: str | PageRenderer | None, cors_origins: Iterable[str], debug_headers: bool
    ) -> None:
        self.page = compile_page(page)
        self.cors_origins = frozenset(cors_origins)
        self.debug_headers = debug_headers
        self._cached: tuple[object, BlockedResponder] | None = None

    def responder(self, key: object, state: MaintenanceState) -> BlockedResponder:
        """The responder for ``state``, cached under ``key`` (the snapshot's
        view: a new view is a new state)."""
        cached = self._cached
        if cached is not None and cached[0] is key:
            return cached[1]
        completion = state.estimated_completion
        responder = BlockedResponder(
            mode=state.mode.value,
            message=state.message if state.message is not None else (state.reason or "maintenance"),
            operation_label=lambda op: op.description,
            estimated_completion=completion.timestamp() if completion is not None else None,
            page=self.page,
        )
        self._cached = (key, responder)
        return responder

    def forget(self) -> None:
        """The state changed: the next blocked request builds a new responder."""
        self._cached = None

    def respond(
        self,
        responder: BlockedResponder,
        info: RequestInfo,
        decision: Decision,
        as_json: bool | None = None,
    ) -> Response:
        """The 503 (without ``Retry-After``, which the responder adds when it
        is sent): JSON or HTML by path and Accept unless ``as_json`` says."""
        if as_json is None:
            as_json = wants_json(info.path, info.header("accept"))
        return responder.respond(
            decision.operation,
            as_json=as_json,
            head=info.method == "HEAD",
            extra_headers=self.cors_headers(info.header("origin")) + self.extra_headers(decision),
        )

    def extra_headers(self, decision: Decision) -> list[tuple[str, str]]:
        """Headers added to answers: the test-mode mark, the debug header."""
        extra: list[tuple[str, str]] = []
        if decision.action is Action.SIMULATE:
            extra.append(("X-Maintenance-Simulated", "blocked"))
        if self.debug_headers:
            extra.append(("X-Maintenance-Operation", decision.operation.name))
        return extra

    def cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if not origin or not self.cors_origins:
            return []
        if "*" in self.cors_origins:
            return [("Access-Control-Allow-Origin", "*")]
        if origin in self.cors_origins:
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return []
