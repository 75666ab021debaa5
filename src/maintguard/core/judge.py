"""Judging one request against the current state: allow, block or simulate.

No I/O: the classifier's index, the policy table and the token, cookie and
IP checks. The application's ``is_admin`` resolver is the one call that may
be slow, so it is asked only when a request would be blocked, and only by
``resolve_admin`` (the service runs it on a bounded pool of its own, time-limited).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs

from maintguard import logs
from maintguard.core.bypass import BypassCookies
from maintguard.core.classifier import Classification, OperationClassifier
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.identity import (
    AdminToken,
    IPNetwork,
    bearer_token,
    client_address,
    ip_allowed,
    match_token,
)
from maintguard.core.operations import OperationType
from maintguard.core.overrides import override_methods
from maintguard.core.policy import policy_blocks
from maintguard.core.state import MaintenanceState, Mode

logger = logging.getLogger("maintguard")

IsAdmin = Callable[[RequestInfo], object]


@attrs.define
class Judge:
    """Decides requests; its parts are fixed at start-up but the resolver,
    which tests and integrations may set later."""

    classifier: OperationClassifier
    tokens: tuple[AdminToken, ...]
    cookies: BypassCookies
    allowed_ips: tuple[IPNetwork, ...]
    trusted_proxies: tuple[IPNetwork, ...]
    resolver: IsAdmin | None = None
    #: Logs resolver failures at a bounded rate.
    failures: logs.ResolverFailures = attrs.field(factory=logs.ResolverFailures)

    def judge(
        self, info: RequestInfo, state: MaintenanceState, enabled: bool
    ) -> tuple[Decision, bool]:
        """The decision before the resolver; ``True`` when the resolver still
        has to be asked (the request would be blocked)."""
        method = info.method.upper()
        classification = self.classifier.classify(method, info.path)
        operation = classification.operation
        if not state.active or not enabled:
            return Decision(
                Action.ALLOW, operation, None, "maintenance is off", classification
            ), False
        others = override_methods(info, method)
        if (
            method == "OPTIONS"
            and not others
            and info.header("access-control-request-method")
            and info.header("origin")
        ):
            return Decision(
                Action.ALLOW,
                operation,
                state.mode,
                "CORS preflights are never blocked",
                classification,
            ), False
        policy_mode = Mode.NORMAL if state.mode is Mode.TEST else state.mode
        blocked = _blocks(classification, policy_mode, method, state)
        # An override the app may honour: judged as that method too, the
        # stricter wins.
        for other in others if not blocked else ():
            overridden = self.classifier.classify(other, info.path)
            if _blocks(overridden, policy_mode, other, state):
                classification, operation, blocked = overridden, overridden.operation, True
                break
        if not blocked:
            return Decision(
                Action.ALLOW, operation, state.mode, _allowed_why(operation, state), classification
            ), False
        admin = self.fast_admin(info, state)
        if admin is not None:
            return Decision(
                Action.ALLOW,
                operation,
                state.mode,
                f"admin ({admin}) bypasses every block",
                classification,
                admin,
            ), False
        return _blocked(operation, state, classification), self.resolver is not None

    @staticmethod
    def finish(decision: Decision, admin: str | None) -> Decision:
        """Complete a pending decision with the resolver's answer."""
        if admin is None:
            return decision
        return attrs.evolve(
            decision,
            action=Action.ALLOW,
            why=f"admin ({admin}) bypasses every block",
            admin=admin,
        )

    def fast_admin(self, info: RequestInfo, state: MaintenanceState) -> str | None:
        """Token, cookie and IP checks: no I/O, in the documented order."""
        token = match_token(self.tokens, bearer_token(info.header("authorization")))
        if token is not None:
            return token.label
        if self.cookies.verify(info, state):
            return "bypass-cookie"
        if self.allowed_ips:
            address = client_address(
                info.client, info.header("x-forwarded-for"), self.trusted_proxies
            )
            if ip_allowed(address, self.allowed_ips):
                return f"ip:{address}"
        return None

    def resolve_admin(self, info: RequestInfo) -> str | None:
        """Ask the application's resolver; one that raises means "not admin"."""
        resolver = self.resolver
        if resolver is None:
            return None
        try:
            answer = resolver(info)
        except Exception as exc:  # a broken resolver means "not admin"
            self.failures.report(type(exc).__name__)
            return None
        return "resolver" if answer is True else None


def _blocks(
    classification: Classification, mode: Mode, method: str, state: MaintenanceState
) -> bool:
    """Whether either reading of the path (raw, normalised) is blocked."""
    if policy_blocks(classification.operation, mode, method, state.operations):
        return True
    alternate = classification.alternate
    return alternate is not None and policy_blocks(alternate, mode, method, state.operations)


def _blocked(
    operation: OperationType, state: MaintenanceState, classification: Classification
) -> Decision:
    if state.mode is Mode.TEST:
        return Decision(
            Action.SIMULATE,
            operation,
            state.mode,
            "test mode blocks nothing; normal maintenance would block this",
            classification,
        )
    if state.operations is not None and state.mode is not Mode.EMERGENCY:
        why = f"this partial maintenance blocks {', '.join(sorted(state.operations))}"
    elif state.mode is Mode.EMERGENCY:
        why = "an emergency blocks everything but health checks, logins and admins"
    elif operation is OperationType.UNKNOWN:
        why = "unclassified requests with an unsafe method are blocked"
    else:
        why = f"normal maintenance blocks {operation.name}"
    return Decision(Action.BLOCK, operation, state.mode, why, classification)


def _allowed_why(operation: OperationType, state: MaintenanceState) -> str:
    if operation is OperationType.HEALTH_CHECK:
        return "health checks and static files are never blocked"
    if operation is OperationType.AUTHENTICATION:
        return "logins stay reachable; the app calls check_login"
    if state.operations is not None and state.mode is not Mode.EMERGENCY:
        return "this partial maintenance does not block it"
    if operation in (OperationType.READ_OPERATIONS, OperationType.ADMIN_OPERATIONS):
        return f"{state.mode.value} maintenance allows {operation.name}"
    return f"{operation.name} is allowed with a safe method"
