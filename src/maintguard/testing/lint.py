"""Rule lint: custom and route rules that repeat another, never win, or are unindexed.

``_problems`` finds them (``assert_no_shadowed_rules`` raises on some of
them); ``lint_rules``, behind ``maintguard lint-rules``, lists them all as
text. Prefix rules are judged exactly, regex rules by sampling their
matches with Hypothesis, seeded so that every run gives the same verdict.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import attrs
import hypothesis
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from maintguard.core.classifier import OperationClassifier, Rule, Source
from maintguard.service import MaintenanceService
from maintguard.testing.common import _DEFAULT_SETTINGS
from maintguard.testing.strategies import ROUTE_WORDS, STANDARD_METHODS, _segments

_PROBE_METHOD = "MAINTGUARD-PROBE"  # a method no rule names
_FRESH_SEGMENT = "maintguard-probe"


@attrs.frozen
class _Problem:
    kind: str  # duplicate, shadowed, unindexed, unchecked
    message: str


def _says(rule: Rule) -> tuple[object, ...]:
    """Everything a rule says, whatever its spelling (``/x/`` is ``/x``)."""
    text = rule.literal if rule.kind == "prefix" else rule.pattern
    return (rule.kind, text, rule.operation, rule.methods, rule.except_methods)


def _twins(rules: Iterable[Rule]) -> dict[int, Rule]:
    """For each rule that repeats an earlier (or a default) one: that one."""
    first: dict[tuple[object, ...], Rule] = {}
    for rule in sorted(rules, key=lambda r: (r.source is not Source.DEFAULT, r.order)):
        first.setdefault(_says(rule), rule)
    return {id(rule): first[_says(rule)] for rule in rules if first[_says(rule)] is not rule}


def _probe_methods(rules: Iterable[Rule]) -> list[str]:
    named = set(STANDARD_METHODS)
    for rule in rules:
        named |= rule.methods or set()
        named |= rule.except_methods
    return [*sorted(named), _PROBE_METHOD]


def _can_win(
    classifier: OperationClassifier, rule: Rule, probe: list[str], settings: hypothesis.settings
) -> bool:
    """Exact for prefix rules against prefix rules (their own path is the
    best witness); regex rules, and prefix rules a regex covers, by sampling."""
    applicable = [m for m in probe if rule.applies_to(m)]
    if rule.kind == "prefix":
        base = rule.literal or ""
        witnesses = (base or "/", f"{base}/{_FRESH_SEGMENT}")
        if any(classifier.match_rule(p, m) is rule for p in witnesses for m in applicable):
            return True
        children = _segments(ROUTE_WORDS).map(lambda seg: f"{base}/{seg}")
        strategy: st.SearchStrategy[str] = children
    else:
        if rule.regex is None:  # a regex rule always has one; keeps mypy honest
            return True
        strategy = st.from_regex(rule.regex, fullmatch=True)
    try:
        hypothesis.find(
            st.tuples(strategy, st.sampled_from(applicable)),
            lambda case: classifier.match_rule(case[0], case[1]) is rule,
            settings=settings,
            random=random.Random(0),  # noqa: S311 - the same verdict on every run, not a secret
        )
    except NoSuchExample:
        return False
    return True


def _problems(
    classifier: OperationClassifier, settings: hypothesis.settings | None
) -> list[_Problem]:
    chosen = hypothesis.settings(
        settings or _DEFAULT_SETTINGS, phases=[hypothesis.Phase.generate], database=None
    )
    rules = classifier.rules
    probe = _probe_methods(rules)
    twins = _twins(rules)
    found: list[_Problem] = []
    for rule in rules:
        if rule.source is Source.DEFAULT:
            continue
        twin = twins.get(id(rule))
        if twin is not None:
            found.append(_Problem("duplicate", f"{rule.describe()} repeats {twin.describe()}"))
            continue
        try:
            wins = _can_win(classifier, rule, probe, chosen)
        except Exception as exc:  # a regex Hypothesis cannot sample
            found.append(_Problem("unchecked", f"{rule.describe()} could not be sampled: {exc}"))
            continue
        if not wins:
            found.append(
                _Problem(
                    "shadowed",
                    f"{rule.describe()} never wins: a more specific, earlier or route rule "
                    "always matches first",
                )
            )
        elif rule.kind == "regex" and not rule.bucket:
            found.append(
                _Problem(
                    "unindexed",
                    f"{rule.describe()} has no fixed first segment, so it is tried on every "
                    "request; start it with one (e.g. '/files/.*') if you can",
                )
            )
    return found


def lint_rules(
    classifier: OperationClassifier | MaintenanceService,
    *,
    settings: hypothesis.settings | None = None,
) -> list[str]:
    """Human-readable problems with the custom and route rules (duplicates,
    shadowed rules, unindexed regexes); empty when there are none."""
    target = classifier.classifier if isinstance(classifier, MaintenanceService) else classifier
    return [problem.message for problem in _problems(target, settings)]
