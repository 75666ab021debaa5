"""Route declarations shared by the framework integrations.

``@operation("JOB_CREATION")`` marks a view or endpoint; an integration
turns each marked route into a ROUTE rule, which beats every other rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from maintguard.core.classifier import OperationClassifier, Source
from maintguard.core.operations import OperationType

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__maintguard_operation__"

#: ``(anchored regex, methods or None, declared type)`` of one route.
Declaration = tuple[str, frozenset[str] | None, OperationType]


def operation(operation_type: OperationType | str) -> Callable[[F], F]:
    """Declare what a view does; the declaration beats every classifier rule.

    The view (a function or a class-based view) is returned unchanged, only
    marked, so the decorator may sit above or below the route decorator. An
    unknown type fails here, at import.
    """
    declared = OperationType(operation_type)

    def mark(view: F) -> F:
        setattr(view, _MARK, declared)
        return view

    return mark


def exempt(view: F) -> F:
    """Declare a view never blocked, whatever its method: a webhook receiver,
    a status page, a login helper. The same as ``@operation("HEALTH_CHECK")``."""
    return operation(OperationType.HEALTH_CHECK)(view)


def declared_operation(view: object) -> OperationType | None:
    """The type ``@operation`` gave ``view`` (or its ``view_class``), if any."""
    found = getattr(view, _MARK, None)
    if found is None:  # class-based views: the mark sits on the class
        found = getattr(getattr(view, "view_class", None), _MARK, None)
    return found if isinstance(found, OperationType) else None


def add_route_rules(classifier: OperationClassifier, declarations: Iterable[Declaration]) -> int:
    """Add a ROUTE rule per declaration not already there; return how many."""
    known = {
        (r.pattern, r.methods, r.operation) for r in classifier.rules if r.source is Source.ROUTE
    }
    added = 0
    for pattern, methods, declared in declarations:
        if methods is not None and "GET" in methods:
            methods = methods | {"HEAD"}  # as the classifier stores it
        declaration = (pattern, methods, declared)
        if declaration in known:
            continue
        classifier.add_route(pattern, declared, methods)
        known.add(declaration)
        added += 1
    return added
