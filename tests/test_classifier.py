"""The classifier: rules, ranking, the prefix index and the two readings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maintguard.core.classifier import (
    DEFAULT_RULES,
    Classification,
    OperationClassifier,
    Rule,
    Source,
    _generic,
    literal_prefix,
)
from maintguard.core.operations import OperationType
from maintguard.core.paths import MAX_PATH, normalise
from maintguard.core.policy import strictness
from maintguard.exceptions import ConfigurationError
from maintguard.testing import (
    assert_spellings_keep_operation,
    hostile_paths,
    methods,
    paths,
)
from tests.strategies import VOCABULARY, RuleSpec, regexes, rule_specs

OP = OperationType
EXEMPT = frozenset({OP.HEALTH_CHECK, OP.AUTHENTICATION, OP.ADMIN_OPERATIONS})
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60)
SPELLING_SETTINGS = settings(max_examples=15, deadline=None, database=None)


@pytest.fixture(scope="module")
def classifier() -> OperationClassifier:
    return OperationClassifier()


# ------------------------------------------------------------ never raises


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(hostile_paths(), ANY_TEXT), st.one_of(methods(), ANY_TEXT))
def test_classification_never_raises_on_any_text(path: str, method: str) -> None:
    """Any string at all — NUL, controls, lone surrogates, huge — is classified."""
    found = OperationClassifier().classify(method, path)
    assert isinstance(found.operation, OperationType)


@pytest.mark.parametrize(
    "path", ["/" * 1_000_000, "/a" * 300_000, "/static/" + "../" * 200_000 + "upload"]
)
def test_classification_never_raises_on_a_megabyte_path(
    classifier: OperationClassifier, path: str
) -> None:
    """A path of a megabyte is classified (and not cached)."""
    assert isinstance(classifier.classify("POST", path).operation, OperationType)


# --------------------------------------------------------- the default table


@pytest.mark.parametrize(("pattern", "name", "non_get"), DEFAULT_RULES)
def test_default_routes_classify_as_documented(
    classifier: OperationClassifier, pattern: str, name: str, non_get: bool
) -> None:
    """Each default route, and what lies under it, has its documented type
    for POST; the non-GET ones are reads for GET; health and static
    exemptions hold for GET, HEAD and OPTIONS only (a POST is unclassified)."""
    for path in (pattern, pattern + "/sub"):
        exempt_only_for_reads = OP(name) is OP.HEALTH_CHECK
        expected_post = OP.UNKNOWN if exempt_only_for_reads else OP(name)
        assert expected_post == classifier.classify_operation(path, "POST")
        expected_get = OP.READ_OPERATIONS if non_get else OP(name)
        assert expected_get == classifier.classify_operation(path, "GET")


def test_any_other_get_or_head_is_a_read_and_anything_else_unknown(
    classifier: OperationClassifier,
) -> None:
    """The fallback: GET/HEAD read, every other method UNKNOWN."""
    answers = {m: classifier.classify_operation("/elsewhere", m) for m in ("GET", "HEAD", "POST")}
    expected = {"GET": OP.READ_OPERATIONS, "HEAD": OP.READ_OPERATIONS, "POST": OP.UNKNOWN}
    assert expected == answers


def test_the_seeds_diagnostic_snippet_works(classifier: OperationClassifier) -> None:
    """classify_operation('/start_caption_generation', 'POST') is blocked in normal mode."""
    operation = classifier.classify_operation("/start_caption_generation", "POST")
    assert OP.CAPTION_GENERATION == operation
    assert classifier.is_blocked_operation(operation, "normal") is True


def test_prefix_rules_match_whole_segments_only(classifier: OperationClassifier) -> None:
    """/administrator is not /admin; /admin and /admin/users are."""
    assert OP.READ_OPERATIONS == classifier.classify_operation("/administrator", "GET")
    assert OP.UNKNOWN == classifier.classify_operation("/administrator", "POST")
    assert OP.ADMIN_OPERATIONS == classifier.classify_operation("/admin", "POST")
    assert OP.ADMIN_OPERATIONS == classifier.classify_operation("/admin/users", "POST")


# --------------------------------------------------------------- the readings


def test_climbing_out_of_admin_classifies_as_the_target(classifier: OperationClassifier) -> None:
    """POST /admin/../upload is IMAGE_PROCESSING; the raw reading is the alternate."""
    found = classifier.classify("POST", "/admin/../upload")
    assert (OP.IMAGE_PROCESSING, OP.ADMIN_OPERATIONS) == (found.operation, found.alternate)


def test_long_paths_are_classified_whole(classifier: OperationClassifier) -> None:
    """The part beyond MAX_PATH still counts: no escape by padding a traversal."""
    path = "/static/" + "a" * (2 * MAX_PATH) + "/../../upload"
    assert OP.IMAGE_PROCESSING == classifier.classify_operation(path, "POST")


@pytest.mark.parametrize("path", ["//upload", "upload", "///upload/", "\\upload"])
def test_leading_slashes_are_read_as_werkzeug_reads_them(
    classifier: OperationClassifier, path: str
) -> None:
    """Werkzeug routes //upload and upload to /upload; so it is an upload."""
    assert OP.IMAGE_PROCESSING == classifier.classify_operation(path, "POST")


@pytest.mark.parametrize(("pattern", "name", "non_get"), DEFAULT_RULES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_spelling_of_a_default_route_keeps_its_operation(
    classifier: OperationClassifier, pattern: str, name: str, non_get: bool, method: str
) -> None:
    """No spelling a router sends to the same handler is classified more
    leniently or gains an exemption (admin, health, static, auth)."""
    for path in (pattern, f"{pattern}/item/42"):
        assert_spellings_keep_operation(classifier, path, method, settings=SPELLING_SETTINGS)


EXEMPT_ROUTES = st.sampled_from([p for p, name, _ in DEFAULT_RULES if OP(name) in EXEMPT])


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(hostile_paths(), st.tuples(EXEMPT_ROUTES, hostile_paths()).map("".join)),
    methods(),
)
def test_an_exemption_needs_both_readings(path: str, method: str) -> None:
    """A path is exempt (admin, health, static, auth) only when its raw and its
    normalised reading both are."""
    classifier = OperationClassifier()
    found = classifier.classify(method, path)
    if found.operation in EXEMPT:
        for reading in (path, normalise(path)):
            rule = classifier.match_rule(reading, method.upper())
            assert rule is not None
            assert rule.operation in EXEMPT


@settings(max_examples=200, deadline=None)
@given(paths(), methods())
def test_lower_case_methods_are_read_upper_case(path: str, method: str) -> None:
    """'post' is classified as 'POST', whatever the spelling of the method."""
    classifier = OperationClassifier()
    expected = classifier.classify(method.upper(), path)
    assert expected == classifier.classify(method.lower(), path)
    assert expected == classifier.classify(method, path)


# ------------------------------------------------------------------- ranking


def test_a_custom_rule_beats_a_default_one_at_equal_specificity() -> None:
    """Re-declaring /upload makes it a batch operation, GET included."""
    classifier = OperationClassifier()
    classifier.add_custom_classification("/upload", "BATCH_OPERATIONS")
    assert OP.BATCH_OPERATIONS == classifier.classify_operation("/upload/x", "POST")
    assert OP.BATCH_OPERATIONS == classifier.classify_operation("/upload/x", "GET")


def test_the_more_specific_rule_wins() -> None:
    """A broad custom /api leaves /api/health alone; a narrower custom regex
    beats the default /api/images."""
    classifier = OperationClassifier()
    classifier.add_custom_classification("/api", "BATCH_OPERATIONS")
    classifier.add_custom_classification(r"/api/images/thumbs/.*", "READ_OPERATIONS")
    assert OP.HEALTH_CHECK == classifier.classify_operation("/api/health", "GET")
    assert OP.BATCH_OPERATIONS == classifier.classify_operation("/api/other", "POST")
    assert OP.READ_OPERATIONS == classifier.classify_operation("/api/images/thumbs/1", "POST")
    assert OP.IMAGE_PROCESSING == classifier.classify_operation("/api/images/1", "POST")


def test_a_route_declaration_beats_every_rule() -> None:
    """A route's own declaration wins over longer custom and default rules."""
    classifier = OperationClassifier()
    classifier.add_custom_classification("/api/images/thumbs", "BATCH_OPERATIONS")
    classifier.add_route("/api", "JOB_CREATION", ["POST"])
    assert OP.JOB_CREATION == classifier.classify_operation("/api/images/thumbs/1", "POST")
    assert OP.JOB_CREATION == classifier.classify_operation("/api/health", "POST")


def test_the_first_of_equal_custom_rules_wins() -> None:
    """Among equally specific custom rules, the one added first decides."""
    classifier = OperationClassifier(defaults=False)
    classifier.add_custom_classification("/jobs", "JOB_CREATION")
    classifier.add_custom_classification("/jobs", "BATCH_OPERATIONS")
    assert OP.JOB_CREATION == classifier.classify_operation("/jobs", "POST")


def test_a_method_string_is_one_method() -> None:
    """methods='POST' means POST, not the letters P, O, S and T."""
    classifier = OperationClassifier(defaults=False)
    classifier.add_custom_classification("/hooks", "JOB_CREATION", methods="post")
    assert OP.JOB_CREATION == classifier.classify_operation("/hooks", "POST")
    assert OP.READ_OPERATIONS == classifier.classify_operation("/hooks", "GET")


def test_adding_a_rule_changes_answers_already_cached() -> None:
    """A rule added after a classification applies to the next one."""
    classifier = OperationClassifier(defaults=False)
    assert OP.UNKNOWN == classifier.classify_operation("/hooks", "POST")
    classifier.add_custom_classification("/hooks", "JOB_CREATION")
    assert OP.JOB_CREATION == classifier.classify_operation("/hooks", "POST")


@pytest.mark.parametrize(
    ("pattern", "options"),
    [
        ("/api/(", {}),
        ("api/custom", {}),
        ("", {}),
        ("/a{99999999999}", {}),
        ("/files/../x", {}),
        ("/files;v=1", {}),
        ("/files/./x", {"kind": "prefix"}),
        ("^/files", {"kind": "prefix"}),
        ("/files", {"kind": "glob"}),
        ("/files", {"methods": []}),
        ("/files", {"methods": ["GET POST"]}),
        ("/files", {"methods": [1]}),
    ],
)
def test_bad_rules_raise_configuration_error(pattern: str, options: dict[str, object]) -> None:
    """Invalid regexes, relative or unroutable prefixes, unknown kinds and
    malformed method lists fail at start-up."""
    with pytest.raises(ConfigurationError):
        OperationClassifier().add_custom_classification(pattern, "BATCH_OPERATIONS", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("operation", ["NO_SUCH_TYPE", None, 3])
def test_an_unknown_operation_type_raises_configuration_error(operation: object) -> None:
    """A rule must name a registered operation type."""
    with pytest.raises(ConfigurationError):
        OperationClassifier().add_custom_classification("/x", operation)  # type: ignore[arg-type]


# --------------------------------------------------------------- the index


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_match_of_a_regex_starts_with_its_literal_prefix(data: st.DataObject) -> None:
    """literal_prefix is sound: no full match can avoid it (the index relies on it)."""
    pattern = data.draw(regexes(), label="pattern")
    text = data.draw(st.from_regex(pattern, fullmatch=True), label="text")
    assert text.startswith(literal_prefix(pattern))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"/api/custom/.*", "/api/custom/"),
        (r"/reports/\d+/(edit|delete)", "/reports/"),
        (r"/a|/b", ""),
        (r"/a[|]b|c", ""),
        (r"/a[]|]x", "/a"),
        (r"^/files/v1\.0/x?", "/files/v1.0/"),
        (r"/ab*", "/a"),
        (r"/ab+", "/ab"),
    ],
)
def test_literal_prefix_stops_where_the_pattern_stops_being_literal(
    pattern: str, expected: str
) -> None:
    """Alternation inside a group does not cost the prefix; at top level it does."""
    assert expected == literal_prefix(pattern)


def _covers(rule: Rule, path: str) -> bool:
    if rule.kind == "regex":
        return re.fullmatch(rule.pattern, path) is not None
    literal = "" if normalise(rule.pattern) == "/" else normalise(rule.pattern)
    return literal == "" or path == literal or path.startswith(literal + "/")


def _applies(rule: Rule, method: str) -> bool:
    if rule.methods is not None:
        return method in rule.methods
    return method not in rule.except_methods


def _linear(rules: Sequence[Rule], path: str, method: str) -> Rule | None:
    """The spec: of all rules that match, a route declaration first, then the
    longest literal prefix, then custom over default, then the first added;
    a declaration whose pattern covers many paths only tightens."""
    matching = [r for r in rules if _applies(r, method) and _covers(r, path)]

    def best(candidates: Sequence[Rule]) -> Rule | None:
        return max(
            candidates,
            key=lambda r: (r.source is Source.ROUTE, len(r.literal), r.source, -r.order),
            default=None,
        )

    winner = best(matching)
    if winner is None or winner.source is not Source.ROUTE or not _generic(winner):
        return winner
    other = best([r for r in matching if r.source is not Source.ROUTE])
    fallback = OP.READ_OPERATIONS if method in ("GET", "HEAD") else OP.UNKNOWN
    other_operation = fallback if other is None else other.operation
    return other if strictness(other_operation) > strictness(winner.operation) else winner


def _linear_classify(rules: Sequence[Rule], method: str, path: str) -> Classification:
    method = method.upper()

    def one(reading: str) -> Classification:
        rule = _linear(rules, reading, method)
        if rule is not None:
            return Classification(rule.operation, rule, reading)
        fallback = OP.READ_OPERATIONS if method in ("GET", "HEAD") else OP.UNKNOWN
        return Classification(fallback, None, reading)

    raw, clean = one(path), one(normalise(path))
    if raw.operation == clean.operation:
        return raw
    if strictness(clean.operation) > strictness(raw.operation):
        return Classification(clean.operation, clean.rule, clean.path, raw.operation)
    return Classification(raw.operation, raw.rule, raw.path, clean.operation)


def _build(specs: Iterable[RuleSpec]) -> OperationClassifier:
    classifier = OperationClassifier()
    for spec in specs:
        add = classifier.add_route if spec.route else classifier.add_custom_classification
        add(spec.pattern, spec.operation, spec.methods, kind=spec.kind)
    return classifier


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule_specs(), max_size=12), st.data())
def test_the_index_answers_like_a_linear_scan(specs: list[RuleSpec], data: st.DataObject) -> None:
    """For random rule sets, the indexed classifier gives exactly the answer
    of a scan over every rule with the documented ranking."""
    classifier = _build(specs)
    rules = classifier.rules
    regex_rules = [r for r in rules if r.regex is not None]
    samples = [paths(words=VOCABULARY)]
    if regex_rules:
        rule = data.draw(st.sampled_from(regex_rules), label="sampled rule")
        samples.append(st.from_regex(rule.pattern, fullmatch=True))
    for _ in range(5):
        path = data.draw(st.one_of(samples), label="path")
        method = data.draw(st.sampled_from(("GET", "post", "PUT", "DELETE", "HEAD")))
        expected = _linear_classify(rules, method, path)
        actual = classifier.classify(method, path)
        assert expected == actual
        assert expected.rule is actual.rule


@pytest.mark.parametrize(
    ("pattern", "path"),
    [(r"^/search$", "/search"), (r"/search/?$", "/search/"), (r"^/search/[^/]+$", "/search/x")],
)
def test_an_anchored_single_segment_route_is_indexed_under_its_segment(
    pattern: str, path: str
) -> None:
    """Routes declared by the integrations (``^/search$``) are not tried on every path."""
    from maintguard.testing import lint_rules

    classifier = OperationClassifier(defaults=False)
    rule = classifier.add_route(pattern, "JOB_CREATION", ["POST"])
    assert "/search" == rule.bucket
    assert "JOB_CREATION" == classifier.classify_operation(path, "POST")
    assert [] == lint_rules(classifier)
