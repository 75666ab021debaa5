"""Strategies for maintguard's own tests: random regexes and rule sets.

What users need (paths, methods, spellings, hostile paths) lives in
``maintguard.testing``; these only serve the classifier's internal checks.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st

from maintguard.core.operations import OperationType

#: Segments shared by generated rules and paths, so that they meet often.
VOCABULARY = ("admin", "api", "upload", "health", "x", "a", "images", "static", "jobs")

_LITERALS = ("a", "b", "x", "/", "/", "-", "_", "\\.", "\\/", "\\-", "\\?", "api")
_CLASSES = ("[a-c]", "[^/]", "\\d", "\\w", ".", "[/x]")
_QUANTIFIERS = ("", "", "", "*", "+", "?", "{0,2}", "{2}", "*?", "+?", "??", "{1,}")
_GROUP_QUANTIFIERS = ("", "", "?", "{0,2}", "{1,2}")


@st.composite
def _sequence(draw: st.DrawFn, depth: int) -> str:
    atoms = st.tuples(
        st.sampled_from(_LITERALS) | st.sampled_from(_CLASSES), st.sampled_from(_QUANTIFIERS)
    )
    if depth > 0:
        # A group repeats a bounded number of times: (.*)*x backtracks exponentially.
        group = st.tuples(st.sampled_from(("(", "(?:")), _regex_body(depth - 1)).map(
            lambda t: f"{t[0]}{t[1]})"
        )
        atoms = atoms | st.tuples(group, st.sampled_from(_GROUP_QUANTIFIERS))
    pieces = draw(st.lists(atoms, max_size=3))
    return "".join(atom + quantifier for atom, quantifier in pieces)


def _regex_body(depth: int) -> st.SearchStrategy[str]:
    single = _sequence(depth)
    alternation = st.lists(single, min_size=2, max_size=3).map("|".join)
    return st.one_of(single, single, single, alternation)


@st.composite
def regexes(draw: st.DrawFn, *, rooted: bool = False) -> str:
    """Valid Python regexes: a run of literals (some escaped, some
    quantified) then classes, groups and alternations, sometimes anchored.
    ``rooted``: the pattern starts with ``/`` (or ``^/``), as a rule's must."""
    literal = st.tuples(st.sampled_from(_LITERALS), st.sampled_from(_QUANTIFIERS))
    run = "".join(a + q for a, q in draw(st.lists(literal, max_size=6)))
    body = draw(_regex_body(1))
    start = draw(st.sampled_from(("", "", "^")))
    if rooted:
        start += "/"
    end = draw(st.sampled_from(("", "", "$")))
    return f"{start}{run}{body}{end}"


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
    tails = st.sampled_from((".*", "[a-z]+", "x\\d*", "(a|b)", "up.*", "[^/]*/.*", "s?"))
    return st.one_of(
        st.tuples(_prefix_patterns(), tails).map(lambda t: f"{t[0].rstrip('/')}/{t[1]}"),
        st.tuples(_prefix_patterns(), tails).map(lambda t: f"{t[0]}{t[1]}"),
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
