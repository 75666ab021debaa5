"""Strategies for maintguard's own tests: random regexes and rule sets.

What users need (paths, methods, spellings, hostile paths) lives in
``maintguard.testing``; these only serve the classifier's internal checks.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from maintguard.operations import OperationType

#: Segments shared by generated rules and paths, so that they meet often.
VOCABULARY = ("admin", "api", "upload", "health", "x", "a", "images", "static", "jobs")

_LITERALS = ("a", "b", "x", "/", "/", "-", "_", "\\.", "\\/", "\\-", "api", "admin")
_CLASSES = ("[a-c]", "[^/]", "\\d", "\\w", ".", "[/x]")
_QUANTIFIERS = ("", "", "", "*", "+", "?", "{0,2}", "{2}", "*?", "+?", "??", "{1,}")


@st.composite
def _sequence(draw: st.DrawFn, depth: int) -> str:
    atoms = [st.sampled_from(_LITERALS), st.sampled_from(_CLASSES)]
    if depth > 0:
        inner = _regex_body(depth - 1)
        atoms.append(st.tuples(st.sampled_from(("(", "(?:")), inner).map(lambda t: f"{t[0]}{t[1]})"))
    pieces = draw(st.lists(st.tuples(st.one_of(atoms), st.sampled_from(_QUANTIFIERS)), max_size=5))
    return "".join(atom + quantifier for atom, quantifier in pieces)


def _regex_body(depth: int) -> st.SearchStrategy[str]:
    single = _sequence(depth)
    alternation = st.lists(single, min_size=2, max_size=3).map("|".join)
    return st.one_of(single, single, alternation)


@st.composite
def regexes(draw: st.DrawFn, *, rooted: bool = False) -> str:
    """Valid Python regexes made of literals (some escaped), classes,
    quantifiers, groups and alternations, sometimes anchored. ``rooted``:
    the pattern starts with ``/`` (or ``^/``), as a rule's must."""
    body = draw(_regex_body(2))
    start = draw(st.sampled_from(("", "^")))
    if rooted:
        start += "/"
    end = draw(st.sampled_from(("", "", "$")))
    return f"{start}{body}{end}"


@attrs.frozen
class RuleSpec:
    """A rule to add: through ``add_route`` when ``route``, else custom."""

    pattern: str
    kind: str
    operation: OperationType
    methods: tuple[str, ...] | None
    route: bool


def _prefix_patterns() -> st.SearchStrategy[str]:
    segments = st.lists(st.sampled_from(VOCABULARY), max_size=3)
    return segments.map(lambda segs: "/" + "/".join(segs))


def _regex_patterns() -> st.SearchStrategy[str]:
    tails = st.sampled_from((".*", "[a-z]+", "x\\d*", "(a|b)", "up.*", "[^/]*/.*", "s?", ""))
    return st.one_of(
        st.tuples(_prefix_patterns(), st.sampled_from(("/", "")), tails).map(
            lambda t: f"{t[0].rstrip('/')}{t[1]}{t[2]}" if t[2] else f"{t[0]}/.*"
        ),
        regexes(rooted=True),
    )


@st.composite
def rule_specs(draw: st.DrawFn) -> RuleSpec:
    """One custom or route rule over ``VOCABULARY``: a prefix or a regex,
    any built-in operation, every method or a few (some in lower case)."""
    kind = draw(st.sampled_from(("prefix", "regex")))
    pattern = draw(_prefix_patterns() if kind == "prefix" else _regex_patterns())
    builtin = [op for op in OperationType.all() if op.is_builtin]
    methods = draw(
        st.none()
        | st.lists(
            st.sampled_from(("GET", "POST", "put", "DELETE", "head")), min_size=1, max_size=3
        ).map(tuple)
    )
    return RuleSpec(pattern, kind, draw(st.sampled_from(builtin)), methods, draw(st.booleans()))
