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

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Literal, Protocol

import attrs
import hypothesis
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, NoSuchExample

from maintguard.core.classifier import (
    DEFAULT_RULES,
    Classification,
    OperationClassifier,
    Rule,
    Source,
)
from maintguard.core.decision import RequestInfo
from maintguard.core.operations import OperationType
from maintguard.core.paths import MAX_PATH, route_path
from maintguard.core.policy import Outcome, outcome, policy_blocks, strictness
from maintguard.core.state import Mode
from maintguard.service import MaintenanceService

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

Router = Literal["werkzeug", "starlette", "any"]

STANDARD_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
#: The default routes' segments and some near misses (``administrator``).
ROUTE_WORDS: tuple[str, ...] = tuple(
    sorted(
        {seg for pattern, _, _ in DEFAULT_RULES for seg in pattern.split("/") if seg}
        | {"administrator", "uploads", "static2", "custom", "users", "v1", "x", "maintenance"}
    )
)
_EXEMPT_PREFIXES = ("/admin", "/static", "/health", "/login", "/api/health", "/favicon.ico")
_WRITE_TARGETS = ("upload", "batch", "api/jobs", "settings", "start_caption_generation")
_HOSTILE_PIECES = (
    "..",
    ".",
    "",
    ";",
    "..;",
    ".;x",
    ";a=b",
    "%2e%2e",
    "%2f",
    "\\",
    "\\..",
    "\x00",
    "\r\n",
    "\t",
    " ",
    "\u2215",
    "\uff0f",
    "\u0130",
    "\ud800",
    "\udfff",
    "admin",
    "static",
    "upload",
)
_JUNK = st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True)
_PARAMS = st.from_regex(r";[a-z0-9=]{0,8}", fullmatch=True)
_ANY_CHAR = st.characters(exclude_categories=())  # surrogates, NUL and controls too
_PROBE_METHOD = "MAINTGUARD-PROBE"  # a method no rule names
_FRESH_SEGMENT = "maintguard-probe"

_DEFAULT_SETTINGS = hypothesis.settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)


class Classifies(Protocol):
    """Anything that classifies like ``OperationClassifier.classify``."""

    def classify(self, method: str, path: str) -> Classification: ...


# ----------------------------------------------------------------- strategies


def _segments(words: Iterable[str]) -> st.SearchStrategy[str]:
    printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/;\\")
    return st.one_of(
        st.sampled_from(tuple(words)),
        st.text(printable, min_size=1, max_size=10),
        st.text(st.characters(exclude_characters="/;\\"), min_size=1, max_size=6),
    ).filter(lambda segment: segment not in (".", ".."))  # messy paths add those on purpose


@st.composite
def paths(
    draw: st.DrawFn,
    *,
    words: Iterable[str] = ROUTE_WORDS,
    max_segments: int = 5,
    messy: bool = True,
) -> str:
    """Router paths: ``/`` and up to ``max_segments`` segments, drawn from
    ``words`` (the default routes' segments and near misses) and arbitrary
    text. With ``messy``, some segments are ``.``, ``..``, empty or carry
    ``;params``, and some paths end with ``/``."""
    segment = _segments(words)
    if messy:
        segment = st.one_of(
            segment,
            st.sampled_from((".", "..", "")),
            st.tuples(segment, _PARAMS).map("".join),
        )
    parts = draw(st.lists(segment, max_size=max_segments))
    trailing = "/" if messy and parts and draw(st.booleans()) else ""
    return "/" + "/".join(parts) + trailing


def methods() -> st.SearchStrategy[str]:
    """HTTP methods as clients send them: the standard ones in upper, lower
    and mixed case, and any other token."""
    standard = st.sampled_from(STANDARD_METHODS)
    return st.one_of(
        standard,
        standard.map(str.lower),
        standard.map(str.capitalize),
        st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True),
    )


@st.composite
def request_infos(
    draw: st.DrawFn,
    path: st.SearchStrategy[str] | None = None,
    method: st.SearchStrategy[str] | None = None,
) -> RequestInfo:
    """``RequestInfo`` values as an adapter builds them: lower-case header
    names, an optional client address, scheme, query string and cookies."""
    values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    names = st.sampled_from(
        (
            "accept",
            "authorization",
            "origin",
            "x-forwarded-for",
            "x-forwarded-proto",
            "access-control-request-method",
            "user-agent",
            "x-http-method-override",
        )
    )
    return RequestInfo(
        method=draw(method if method is not None else methods()),
        path=draw(path if path is not None else paths()),
        headers=draw(st.dictionaries(names, values, max_size=4)),
        client=draw(st.none() | st.ip_addresses().map(str)),
        scheme=draw(st.sampled_from(("http", "https"))),
        query_string=draw(values),
        cookies=draw(st.dictionaries(st.sampled_from(("session", "maintguard_bypass")), values)),
    )


@st.composite
def _traversal(draw: st.DrawFn) -> str:
    """An exempt prefix climbing out to a write route: /static/x/../../upload."""
    prefix = draw(st.sampled_from(_EXEMPT_PREFIXES))
    junk = draw(st.lists(_JUNK, max_size=3))
    climb = draw(st.sampled_from(("/..", "/..;", "\\..", "/./..", "//..")))
    up = climb * (len(junk) + draw(st.integers(1, 3)))
    sep = "/".join(("", *junk))
    return f"{prefix}{sep}{up}/{draw(st.sampled_from(_WRITE_TARGETS))}"


@st.composite
def _long_path(draw: st.DrawFn) -> str:
    """Longer than ``MAX_PATH``: many segments, a huge one, then a climb out."""
    count = draw(st.integers(MAX_PATH // 2, 6 * MAX_PATH))
    body = draw(st.sampled_from(("/a" * (count // 2), "/" + "a" * count, "/" * count)))
    tail = draw(st.sampled_from(("", "/../" * (count // 2) + "upload", "/x")))
    return draw(st.sampled_from(_EXEMPT_PREFIXES)) + body + tail


def hostile_paths() -> st.SearchStrategy[str]:
    """Paths meant to break or fool a classifier: any text at all (NUL,
    control characters, lone surrogates), traversals out of exempt prefixes,
    look-alike slashes, ``;`` and backslash tricks, and paths far longer
    than ``MAX_PATH``."""
    pieces = st.lists(st.sampled_from(_HOSTILE_PIECES) | _JUNK, max_size=8)
    return st.one_of(
        st.text(_ANY_CHAR, max_size=40),
        st.text(_ANY_CHAR, max_size=40).map(lambda text: "/" + text),
        pieces.map(lambda parts: "/" + "/".join(parts)),
        pieces.map(lambda parts: "\\".join(parts)),
        _traversal(),
        _long_path(),
    )


def _split(path: str, fixed: int) -> tuple[list[str], list[str], bool]:
    if not path.startswith("/") or fixed < 0:
        raise InvalidArgument(
            f"spellings() needs a path starting with '/' and fixed >= 0, not {path!r}, {fixed}"
        )
    trailing = len(path) > 1 and path.endswith("/")
    inner = path[1:-1] if trailing else path[1:]
    segments = inner.split("/") if inner else []
    return segments[:fixed], segments[fixed:], trailing


@st.composite
def _spelled(draw: st.DrawFn, head: list[str], tail: list[str], trailing: bool, router: str) -> str:
    werkzeug = router == "werkzeug"
    leading = "/" * draw(st.integers(0, 3)) if werkzeug else ""
    start = leading + "/" + "/".join(head)
    if not tail:
        return start + ("/" if trailing else "")
    pieces: list[str] = []
    for segment in tail:
        noise = st.sampled_from((".",)) | _JUNK.map(lambda junk: junk + "/..")
        pieces.extend(draw(st.lists(noise, max_size=2)))
        params = draw(st.none() | _PARAMS) if segment else None
        pieces.append(segment + (params or ""))
    separators = [draw(st.sampled_from(("/", "//"))) for _ in pieces]
    if werkzeug:
        separators[0] = "/"  # Werkzeug's <path:…> cannot start with '/': //x redirects
    body = "".join(sep + piece for sep, piece in zip(separators, pieces, strict=True))
    if trailing or draw(st.booleans()):
        body += "/"
    return (start if head else leading) + body


def spellings(path: str, *, router: Router = "any", fixed: int = 1) -> st.SearchStrategy[str]:
    """Other spellings of ``path`` that the router sends to the same handler.

    ``fixed`` is how many leading segments the route spells out; the rest is
    taken to be matched by a catch-all (Werkzeug/Flask ``<path:rest>``,
    Starlette ``{rest:path}`` or a ``Mount``), as blueprints, mounted
    sub-apps and static files are. Only spellings that reach the same
    handler *without a redirect* are drawn:

    - **Werkzeug** (``router="werkzeug"``): extra leading slashes
      (``MapAdapter.match`` strips them: ``//upload`` is ``/upload``); in the
      catch-all part, ``.`` segments, ``seg/..`` pairs, ``;params``, a
      trailing slash and repeated slashes — except right after the fixed
      part, which Werkzeug answers with a redirect.
    - **Starlette** (``router="starlette"``): in the catch-all part, the same
      and repeated slashes anywhere; leading slashes do not route.
    - ``router="any"``: either router's spellings (never a mix of both).

    A path with no catch-all part (``fixed`` covers it) has only Werkzeug's
    leading-slash spellings. Neither router resolves dot segments or strips
    ``;params`` in the fixed part, so those are not spellings of a route.
    """
    head, tail, trailing = _split(path, fixed)
    if router not in ("werkzeug", "starlette", "any"):
        raise InvalidArgument(f"unknown router {router!r}")
    routers = ("werkzeug", "starlette") if router == "any" else (router,)
    return st.one_of(*(_spelled(head, tail, trailing, name) for name in routers))


def _canonical_spellings(path: str, router: Router, fixed: int) -> list[str]:
    """One spelling per kind, checked before Hypothesis explores the rest."""
    head, tail, trailing = _split(path, fixed)
    start = "/" + "/".join(head) if head else ""
    rest = "/".join(tail) + ("/" if trailing else "")
    found: list[str] = []
    if router in ("werkzeug", "any"):
        found.append("//" + path.lstrip("/"))
    if tail:
        last = "/".join([*tail[:-1], tail[-1] + ";p"]) if tail[-1] else rest
        found += [f"{start}/./{rest}", f"{start}/x/../{rest}", f"{start}/{last}"]
        if not trailing:
            found.append(f"{start}/{rest}/")
        if len(tail) > 1:
            found.append(f"{start}/{tail[0]}//{'/'.join(tail[1:])}")
        if router in ("starlette", "any"):
            found.append(f"{start}//{rest}")
    return found


# ----------------------------------------------------------------- assertions


def _classifier(target: Classifies | MaintenanceService) -> Classifies:
    return target.classifier if isinstance(target, MaintenanceService) else target


def _operations(found: Classification) -> tuple[OperationType, ...]:
    if found.alternate is None:
        return (found.operation,)
    return (found.operation, found.alternate)


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


def lint_rules(
    classifier: OperationClassifier | MaintenanceService,
    *,
    settings: hypothesis.settings | None = None,
) -> list[str]:
    """Human-readable problems with the custom and route rules (duplicates,
    shadowed rules, unindexed regexes); empty when there are none."""
    target = classifier.classifier if isinstance(classifier, MaintenanceService) else classifier
    return [problem.message for problem in _problems(target, settings)]


def _verdict(found: Classification, mode: Mode, method: str) -> str:
    outcomes = {outcome(op, mode, method) for op in _operations(found)}
    for worst in (Outcome.BLOCKED, Outcome.SIMULATED):
        if worst in outcomes:
            return "blocked for everyone but admins" if worst is Outcome.BLOCKED else worst.value
    return Outcome.ALLOWED.value


def explain(target: OperationClassifier | MaintenanceService, method: str, path: str) -> str:
    """What maintguard does with ``METHOD PATH``: the operation, the rule
    that decided it on which reading, what each mode does with it and, for a
    service, the decision right now (for a request with no admin
    credentials). ``path`` is the router's path, without a query string."""
    service = target if isinstance(target, MaintenanceService) else None
    classifier = target.classifier if isinstance(target, MaintenanceService) else target
    method = method.upper()
    path = route_path(path)
    found = classifier.classify(method, path)
    lines = [
        f"{method} {path}",
        f"operation: {found.operation.name} ({found.operation.description})",
        f"decided by: {found.describe()}"
        + (f", on the normalised reading {found.path!r}" if found.path != path else ""),
    ]
    if found.alternate is not None:
        lines.append(
            f"the other reading is {found.alternate.name}; the stricter counts, and an "
            "exemption needs both readings"
        )
    modes = "; ".join(f"{mode.value}: {_verdict(found, mode, method)}" for mode in Mode)
    lines.append(f"policy: {modes}")
    if service is not None:
        decision, _ = service.judge(RequestInfo(method=method, path=path))
        lines.append(f"now: {decision.explain()}")
    return "\n".join(lines)
