"""Assertions for an application's own tests: no spelling escapes, no route is
unknown, no rule is shadowed. Each raises ``AssertionError`` with what it found.

They run Hypothesis themselves: call them from a plain test, not from inside
a ``@given`` test.
"""

from __future__ import annotations

from collections.abc import Iterable

import hypothesis

from maintguard.core.classifier import Classification, OperationClassifier
from maintguard.core.operations import OperationType
from maintguard.core.policy import policy_blocks, strictness
from maintguard.core.state import Mode
from maintguard.service import MaintenanceService
from maintguard.testing.common import _DEFAULT_SETTINGS, Classifies, _classifier, _operations
from maintguard.testing.lint import _problems
from maintguard.testing.strategies import Router, _canonical_spellings, spellings


def _blocks(found: Classification, mode: Mode, method: str, only: frozenset[str] | None) -> bool:
    return any(policy_blocks(op, mode, method, only) for op in _operations(found))


def _escape(original: Classification, spelled: Classification, method: str) -> str | None:
    """Why ``spelled`` is treated more leniently than ``original``, or None."""
    if strictness(spelled.operation) < strictness(original.operation):
        return f"is {spelled.operation.name}, less strict than {original.operation.name}"
    for mode in (Mode.NORMAL, Mode.EMERGENCY):
        for only in (None, frozenset({original.operation})):
            if _blocks(original, mode, method, only) and not _blocks(spelled, mode, method, only):
                kind = "partial " if only else ""
                return f"escapes a {kind}{mode.value} maintenance that blocks the route"
    return None


def assert_spellings_keep_operation(
    classifier: Classifies | MaintenanceService,
    path: str,
    method: str = "GET",
    *,
    router: Router = "any",
    fixed: int = 1,
    settings: hypothesis.settings | None = None,
) -> None:
    """Every spelling of ``path`` (see ``spellings``) is classified the same
    or stricter, and none is let through where ``path`` is blocked (normal,
    emergency, or a partial maintenance of its type): no client escapes by
    spelling the route differently. Raises ``AssertionError``."""
    target = _classifier(classifier)
    original = target.classify(method, path)

    def check(spelling: str) -> None:
        problem = _escape(original, target.classify(method, spelling), method.upper())
        if problem is not None:
            raise AssertionError(
                f"{method} {spelling!r} {problem}: {method} {path!r} is "
                f"{original.operation.name} ({original.describe()})"
            )

    for spelling in _canonical_spellings(path, router, fixed):
        check(spelling)
    explore = hypothesis.given(spellings(path, router=router, fixed=fixed))(check)
    hypothesis.settings(settings or _DEFAULT_SETTINGS)(explore)()


def assert_no_unknown_routes(
    classifier: Classifies | MaintenanceService,
    routes: Iterable[tuple[str, str]],
    *,
    ignore_methods: Iterable[str] = ("OPTIONS",),
) -> None:
    """None of ``routes`` — ``(method, path)`` pairs, e.g. from
    ``app.url_map.iter_rules()`` — falls through to ``UNKNOWN``.

    ``OPTIONS`` is ignored by default: frameworks add it to every route and
    CORS preflights are never blocked. A placeholder such as ``<int:id>``
    is classified as the literal segment it is."""
    target = _classifier(classifier)
    ignored = {m.upper() for m in ignore_methods}
    unknown = [
        f"{method.upper()} {path}"
        for method, path in routes
        if method.upper() not in ignored
        and target.classify(method, path).operation is OperationType.UNKNOWN
    ]
    if unknown:
        raise AssertionError(
            f"{len(unknown)} route(s) fall through to UNKNOWN (blocked in every "
            f"maintenance unless the method is safe): {', '.join(unknown)}; classify them with "
            "add_custom_classification(pattern, operation_type, methods)"
        )


def assert_no_shadowed_rules(
    classifier: OperationClassifier | MaintenanceService,
    *,
    settings: hypothesis.settings | None = None,
) -> None:
    """No custom or route rule repeats another exactly or can never win.

    Exact for prefix rules; a regex rule is sampled with ``from_regex`` and
    reported when none of the samples is decided by it."""
    target = classifier.classifier if isinstance(classifier, MaintenanceService) else classifier
    problems = [
        p.message for p in _problems(target, settings) if p.kind in ("duplicate", "shadowed")
    ]
    if problems:
        raise AssertionError("; ".join(problems))
