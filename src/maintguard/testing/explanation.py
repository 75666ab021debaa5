"""``explain``: what maintguard does with one request, as text for people.

The operation, the rule that decided it and on which reading, what each mode
does with it and, for a service, the decision right now.
"""

from __future__ import annotations

from maintguard.core.classifier import Classification, OperationClassifier
from maintguard.core.decision import RequestInfo
from maintguard.core.paths import route_path
from maintguard.core.policy import Outcome, outcome
from maintguard.core.state import Mode
from maintguard.service import MaintenanceService
from maintguard.testing.common import _operations


def _verdict(found: Classification, mode: Mode, method: str) -> str:
    outcomes = {outcome(op, mode, method) for op in _operations(found)}
    for worst in (Outcome.BLOCKED, Outcome.SIMULATED):
        if worst in outcomes:
            return "blocked for everyone but admins" if worst is Outcome.BLOCKED else worst.value
    return Outcome.ALLOWED.value


def explain(target: OperationClassifier | MaintenanceService, method: str, path: str) -> str:
    """What maintguard does with ``METHOD PATH``: the operation, the rule
    that decided it on which reading, what each mode does with it and, for a
    service, the decision right now (for a request with no admin
    credentials). ``path`` is the router's path, without a query string."""
    service = target if isinstance(target, MaintenanceService) else None
    classifier = target.classifier if isinstance(target, MaintenanceService) else target
    method = method.upper()
    path = route_path(path)
    found = classifier.classify(method, path)
    lines = [
        f"{method} {path}",
        f"operation: {found.operation.name} ({found.operation.description})",
        f"decided by: {found.describe()}"
        + (f", on the normalised reading {found.path!r}" if found.path != path else ""),
    ]
    if found.alternate is not None:
        lines.append(
            f"the other reading is {found.alternate.name}; the stricter counts, and an "
            "exemption needs both readings"
        )
    modes = "; ".join(f"{mode.value}: {_verdict(found, mode, method)}" for mode in Mode)
    lines.append(f"policy: {modes}")
    if service is not None:
        decision, _ = service.judge(RequestInfo(method=method, path=path))
        lines.append(f"now: {decision.explain()}")
    return "\n".join(lines)
