"""The policy table: which operation a mode blocks.

Pure functions of (operation, mode, method, partial operations); the
service precomputes nothing here because each answer is a few comparisons.
"""

from __future__ import annotations

from collections.abc import Collection

from maintguard.operations import EXEMPT_TYPES, OperationType
from maintguard.state import Mode

#: Methods that do not change anything by HTTP semantics.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_RANK_EXEMPT = {
    OperationType.HEALTH_CHECK: 0,
    OperationType.AUTHENTICATION: 1,
    OperationType.ADMIN_OPERATIONS: 2,
    OperationType.READ_OPERATIONS: 3,
    OperationType.UNKNOWN: 4,
}
_RANK_WRITE = 5


def strictness(operation: OperationType) -> int:
    """Order operation types by how much a maintenance blocks them.

    Used to pick between two readings of one path: the stricter wins, so a
    spelling never turns a write into a read or a read into an exemption.
    Admin routes rank below reads: they are an exemption (for admins).
    """
    return _RANK_EXEMPT.get(operation, _RANK_WRITE)


def policy_blocks(
    operation: OperationType,
    mode: Mode,
    method: str | None = None,
    operations: Collection[str] | None = None,
) -> bool:
    """Whether the *blocking* policy of ``mode`` stops ``operation``.

    Test mode is judged as normal mode here; callers turn the answer into a
    simulation. ``operations`` is a partial maintenance (only those types).
    """
    if operation in EXEMPT_TYPES:
        return False
    if mode is Mode.EMERGENCY:
        return True
    if operations is not None:
        return operation in operations
    if operation is OperationType.READ_OPERATIONS or operation is OperationType.ADMIN_OPERATIONS:
        return False
    if operation is OperationType.UNKNOWN:
        return method is None or method.upper() not in SAFE_METHODS
    return True


def is_blocked_operation(
    operation: OperationType | str, mode: Mode | str, method: str | None = None
) -> bool:
    """The seeds' question: does ``mode`` block ``operation`` for non-admins?

    Test mode blocks nothing (it only simulates), so it answers ``False``.
    """
    mode = Mode(mode)
    if mode is Mode.TEST:
        return False
    return policy_blocks(OperationType(operation), mode, method)
