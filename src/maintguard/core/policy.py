"""The policy table: which operation a mode blocks.

Pure functions of (operation, mode, method, partial operations); the
service precomputes nothing here because each answer is a few comparisons.

| operation | normal | emergency | test |
|---|---|---|---|
| write types, custom types | blocked | blocked | simulated |
| READ_OPERATIONS | allowed | blocked | allowed |
| UNKNOWN | blocked unless the method is safe | blocked | simulated |
| AUTHENTICATION, HEALTH_CHECK | allowed | allowed | allowed |
| ADMIN_OPERATIONS | allowed | admins only | allowed |

Admins bypass every block, so "blocked" always means "for everyone but
admins"; ADMIN_OPERATIONS in an emergency is simply blocked.
"""

from __future__ import annotations

import enum
from collections.abc import Collection

from maintguard.core.operations import EXEMPT_TYPES, OperationType
from maintguard.core.state import MaintenanceState, Mode
from maintguard.exceptions import ConfigurationError

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


class Outcome(str, enum.Enum):
    """What a mode does with a request of some operation, for non-admins."""

    ALLOWED = "allowed"
    BLOCKED = "blocked"
    SIMULATED = "simulated"  # test mode: served, recorded as would-be-blocked


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
    simulation. ``operations`` is a partial maintenance (only those types;
    an emergency ignores it). ``method=None`` means "some unsafe method".
    """
    if operation in EXEMPT_TYPES:
        return False
    if mode is Mode.EMERGENCY:
        return True
    if operation is OperationType.UNKNOWN and method is not None and method.upper() in SAFE_METHODS:
        return False
    if operations is not None:
        return operation in operations
    return operation is not OperationType.READ_OPERATIONS and (
        operation is not OperationType.ADMIN_OPERATIONS
    )


def _mode(mode: Mode | str) -> Mode:
    try:
        return Mode(mode)
    except ValueError:
        raise ConfigurationError(
            f"unknown maintenance mode {mode!r}; expected normal, emergency or test"
        ) from None


def outcome(
    operation: OperationType | str,
    mode: Mode | str,
    method: str | None = None,
    operations: Collection[str] | None = None,
) -> Outcome:
    """The table's cell for (operation, mode, method), for non-admins."""
    mode = _mode(mode)
    policy_mode = Mode.NORMAL if mode is Mode.TEST else mode
    if not policy_blocks(OperationType(operation), policy_mode, method, operations):
        return Outcome.ALLOWED
    return Outcome.SIMULATED if mode is Mode.TEST else Outcome.BLOCKED


def is_blocked_operation(
    operation: OperationType | str, mode: Mode | str, method: str | None = None
) -> bool:
    """The seeds' question: does ``mode`` block ``operation`` for non-admins?

    Test mode blocks nothing (it only simulates), so it answers ``False``.
    An unknown mode or operation type raises ``ConfigurationError``.
    """
    return outcome(operation, mode, method) is Outcome.BLOCKED


def blocked_operations(state: MaintenanceState) -> tuple[OperationType, ...]:
    """What ``state`` blocks for a write, as the status lists it (test mode
    lists what it would block)."""
    if not state.active:
        return ()
    policy_mode = Mode.NORMAL if state.mode is Mode.TEST else state.mode
    return tuple(
        op for op in OperationType.all() if policy_blocks(op, policy_mode, "POST", state.operations)
    )
