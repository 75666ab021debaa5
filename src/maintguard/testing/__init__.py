"""Check your maintenance rules in your own tests (``maintguard[testing]``).

Hypothesis strategies — ``paths()``, ``methods()``, ``request_infos()``,
``spellings(path)``, ``hostile_paths()`` — and assertions to drop into a
test suite::

    from maintguard.testing import (
        assert_no_shadowed_rules, assert_no_unknown_routes,
        assert_spellings_keep_operation,
    )

    def test_maintenance_rules():
        classifier = build_my_classifier()
        assert_no_shadowed_rules(classifier)
        assert_no_unknown_routes(classifier, [("POST", "/webhooks/stripe")])
        assert_spellings_keep_operation(classifier, "/api/images/42", "POST")

The assertions run Hypothesis themselves: call them from a plain test, not
from inside a ``@given`` test (or suppress ``HealthCheck.nested_given`` on
the outer one). ``lint_rules`` (behind ``maintguard lint-rules``) and
``explain`` answer the same questions as text.
"""

# The parts: ``strategies``; ``assertions``; ``lint`` (the rule lint behind
# ``lint_rules`` and ``assert_no_shadowed_rules``); ``explanation``
# (``explain``); ``common`` (what they share). Hypothesis is imported by the
# first of them, so a missing ``maintguard[testing]`` extra fails this import
# with ``ModuleNotFoundError`` naming hypothesis, which the CLI reports.

from __future__ import annotations

from maintguard.testing.assertions import (
    assert_no_shadowed_rules,
    assert_no_unknown_routes,
    assert_spellings_keep_operation,
)
from maintguard.testing.explanation import explain
from maintguard.testing.lint import lint_rules
from maintguard.testing.strategies import (
    ROUTE_WORDS,
    STANDARD_METHODS,
    hostile_paths,
    methods,
    paths,
    request_infos,
    spellings,
)

__all__ = [
    "ROUTE_WORDS",
    "STANDARD_METHODS",
    "assert_no_shadowed_rules",
    "assert_no_unknown_routes",
    "assert_spellings_keep_operation",
    "explain",
    "hostile_paths",
    "lint_rules",
    "methods",
    "paths",
    "request_infos",
    "spellings",
]
