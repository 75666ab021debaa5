"""maintguard: maintenance mode for WSGI and ASGI applications.

Put ``maintguard.wsgi.MaintenanceMiddleware`` or
``maintguard.asgi.MaintenanceMiddleware`` in front of your app with a
``MaintenanceService``; switch maintenance on from the HTTP control API, the
``maintguard`` command or code.
"""

from __future__ import annotations

from maintguard.config import Settings
from maintguard.control.status import MaintenanceStatus
from maintguard.core.classifier import Classification, OperationClassifier, Rule
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.operations import OperationType
from maintguard.core.policy import is_blocked_operation
from maintguard.core.state import AuditRecord, MaintenanceState, Mode, ScheduledWindow
from maintguard.effects.events import EventKind, MaintenanceEvent
from maintguard.exceptions import (
    ConfigurationError,
    ConflictError,
    CorruptStateError,
    MaintGuardError,
    MissingExtraError,
    StoreError,
    ValidationError,
)
from maintguard.service import MaintenanceService
from maintguard.stores import StateStore, register_store, store_from_url

__version__ = "0.1.0"

__all__ = [
    "Action",
    "AuditRecord",
    "Classification",
    "ConfigurationError",
    "ConflictError",
    "CorruptStateError",
    "Decision",
    "EventKind",
    "MaintGuardError",
    "MaintenanceEvent",
    "MaintenanceService",
    "MaintenanceState",
    "MaintenanceStatus",
    "MissingExtraError",
    "Mode",
    "OperationClassifier",
    "OperationType",
    "RequestInfo",
    "Rule",
    "ScheduledWindow",
    "Settings",
    "StateStore",
    "StoreError",
    "ValidationError",
    "__version__",
    "is_blocked_operation",
    "register_store",
    "store_from_url",
]
