"""The policy table of DESIGN.md, cell by cell."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintguard.core.operations import WRITE_TYPES, OperationType
from maintguard.core.policy import (
    SAFE_METHODS,
    Outcome,
    is_blocked_operation,
    outcome,
    policy_blocks,
    strictness,
)
from maintguard.core.state import Mode
from maintguard.exceptions import ConfigurationError
from maintguard.testing import STANDARD_METHODS, methods

CUSTOM = OperationType.register(f"POLICY_CUSTOM_{uuid.uuid4().hex.upper()}")
ALL_METHODS = (*STANDARD_METHODS, *(m.lower() for m in STANDARD_METHODS), "PROPFIND", "purge")
ALLOWED, BLOCKED, SIMULATED = Outcome.ALLOWED, Outcome.BLOCKED, Outcome.SIMULATED


def table(operation: OperationType, mode: Mode, method: str) -> Outcome:
    """DESIGN.md's table, transcribed independently of the code under test."""
    name = operation.name
    if name in ("HEALTH_CHECK", "AUTHENTICATION"):
        return ALLOWED
    if mode is Mode.EMERGENCY:
        return BLOCKED  # ADMIN_OPERATIONS: admins only, who bypass every block
    if name in ("READ_OPERATIONS", "ADMIN_OPERATIONS"):
        return ALLOWED
    if name == "UNKNOWN" and method.upper() in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return ALLOWED
    return SIMULATED if mode is Mode.TEST else BLOCKED


def test_outcome_is_the_design_table_for_every_type_mode_and_method() -> None:
    """Every (operation type, mode, method) cell matches DESIGN.md."""
    cells = [(op, mode, m) for op in OperationType.all() for mode in Mode for m in ALL_METHODS]
    expected = {cell: table(*cell) for cell in cells}
    actual = {cell: outcome(*cell) for cell in cells}
    assert expected == actual


def test_is_blocked_operation_answers_blocked_cells_only() -> None:
    """The seeds' question is True exactly where the table says 'blocked'."""
    cells = [(op, mode, m) for op in OperationType.all() for mode in Mode for m in ALL_METHODS]
    expected = {cell: table(*cell) is BLOCKED for cell in cells}
    actual = {cell: is_blocked_operation(*cell) for cell in cells}
    assert expected == actual


def test_admin_operations_are_blocked_in_an_emergency() -> None:
    """Blocked for everyone but admins, who bypass every block."""
    assert is_blocked_operation(OperationType.ADMIN_OPERATIONS, "emergency") is True


@given(st.sampled_from(OperationType.all()), methods())
def test_test_mode_blocks_nothing(operation: OperationType, method: str) -> None:
    """Test mode only simulates."""
    assert is_blocked_operation(operation, "test", method) is False


def test_unknown_without_a_method_is_blocked_in_normal_mode() -> None:
    """With no method to judge, UNKNOWN is treated as unsafe."""
    assert is_blocked_operation("UNKNOWN", "normal") is True


def test_plain_strings_name_operation_types() -> None:
    """The seeds pass names: 'CAPTION_GENERATION' is the type."""
    assert is_blocked_operation("CAPTION_GENERATION", "normal") is True


def test_partial_maintenance_blocks_only_its_operations() -> None:
    """A normal maintenance limited to uploads blocks uploads and nothing else."""
    only = frozenset({OperationType.IMAGE_PROCESSING})
    blocked = {op for op in OperationType.all() if policy_blocks(op, Mode.NORMAL, "POST", only)}
    assert {OperationType.IMAGE_PROCESSING} == blocked


@pytest.mark.parametrize("method", sorted(SAFE_METHODS))
def test_partial_maintenance_of_unknown_still_serves_safe_methods(method: str) -> None:
    """UNKNOWN is blocked 'unless the method is safe', partial or not."""
    only = frozenset({OperationType.UNKNOWN})
    assert policy_blocks(OperationType.UNKNOWN, Mode.NORMAL, method, only) is False


def test_partial_operations_do_not_soften_an_emergency() -> None:
    """An emergency blocks every non-exempt type whatever the operations list."""
    only = frozenset({OperationType.IMAGE_PROCESSING})
    assert policy_blocks(OperationType.READ_OPERATIONS, Mode.EMERGENCY, "GET", only) is True


def test_strictness_ranks_exemptions_then_reads_then_unknown_then_writes() -> None:
    """health < auth < admin < read < unknown < every write type."""
    ordered = [
        OperationType.HEALTH_CHECK,
        OperationType.AUTHENTICATION,
        OperationType.ADMIN_OPERATIONS,
        OperationType.READ_OPERATIONS,
        OperationType.UNKNOWN,
    ]
    ranks = [strictness(op) for op in ordered]
    assert sorted(ranks) == ranks
    assert len(set(ranks)) == len(ranks)
    assert all(strictness(op) > ranks[-1] for op in WRITE_TYPES)


def test_custom_types_rank_and_block_like_write_types() -> None:
    """A registered type is as strict as the built-in writes and blocked likewise."""
    assert strictness(CUSTOM) == strictness(OperationType.JOB_CREATION)
    assert [BLOCKED, BLOCKED, SIMULATED] == [outcome(CUSTOM, mode, "GET") for mode in Mode]


def test_registering_a_type_twice_raises() -> None:
    """A duplicate OperationType.register is a configuration error."""
    with pytest.raises(ConfigurationError, match="already registered"):
        OperationType.register(CUSTOM.name)


@pytest.mark.parametrize("name", ["lower_case", "1STARTS_WITH_DIGIT", "", "A" * 65, "WITH SPACE"])
def test_registering_a_malformed_name_raises(name: str) -> None:
    """Type names are UPPER_SNAKE_CASE, at most 64 characters."""
    with pytest.raises(ConfigurationError):
        OperationType.register(name)


def test_an_unknown_type_name_raises() -> None:
    """A typo in a type name fails loudly instead of never matching."""
    with pytest.raises(ConfigurationError, match="unknown operation type"):
        is_blocked_operation("CAPTION_GENERATON", "normal")


@pytest.mark.parametrize("mode", ["NORMAL", "off", ""])
def test_an_unknown_mode_raises(mode: str) -> None:
    """Modes are normal, emergency and test."""
    with pytest.raises(ConfigurationError, match="unknown maintenance mode"):
        is_blocked_operation("CAPTION_GENERATION", mode)


@settings(max_examples=50)
@given(st.sampled_from(OperationType.all()), st.sampled_from(list(Mode)), methods())
def test_method_case_does_not_change_the_outcome(
    operation: OperationType, mode: Mode, method: str
) -> None:
    """'get' is judged as 'GET'."""
    assert outcome(operation, mode, method.upper()) == outcome(operation, mode, method.lower())
