"""What the assertions, the rule lint and ``explain`` share.

``Classifies`` is what they accept in place of an ``OperationClassifier``;
``_DEFAULT_SETTINGS`` bounds the Hypothesis runs they start themselves.
"""

from __future__ import annotations

from typing import Protocol

import hypothesis

from maintguard.core.classifier import Classification
from maintguard.core.operations import OperationType
from maintguard.service import MaintenanceService

_DEFAULT_SETTINGS = hypothesis.settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)


class Classifies(Protocol):
    """Anything that classifies like ``OperationClassifier.classify``."""

    def classify(self, method: str, path: str) -> Classification: ...


def _classifier(target: Classifies | MaintenanceService) -> Classifies:
    return target.classifier if isinstance(target, MaintenanceService) else target


def _operations(found: Classification) -> tuple[OperationType, ...]:
    if found.alternate is None:
        return (found.operation,)
    return (found.operation, found.alternate)
