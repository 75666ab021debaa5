"""maintguard.testing: its strategies say the truth, its assertions can fail."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from starlette.routing import Match, Mount, Route, Router
from werkzeug.routing import Map
from werkzeug.routing import Rule as WerkzeugRule

from maintguard.core.classifier import Classification, OperationClassifier
from maintguard.core.decision import RequestInfo
from maintguard.core.operations import OperationType
from maintguard.service import MaintenanceService
from maintguard.testing import (
    assert_no_shadowed_rules,
    assert_no_unknown_routes,
    assert_spellings_keep_operation,
    explain,
    hostile_paths,
    lint_rules,
    methods,
    paths,
    request_infos,
    spellings,
)

QUICK = settings(max_examples=30, deadline=None, database=None)
SEGMENT = st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True)
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class RawOnlyClassifier(OperationClassifier):
    """A deliberately bad classifier: it reads only the raw path."""

    def classify(self, method: str, path: str) -> Classification:
        rule = self.match_rule(path, method.upper())
        if rule is not None:
            return Classification(rule.operation, rule, path)
        fallback = "READ_OPERATIONS" if method.upper() in ("GET", "HEAD") else "UNKNOWN"
        return Classification(OperationType(fallback), None, path)


@st.composite
def routes(draw: st.DrawFn) -> tuple[str, int, bool]:
    """(path, fixed segments, trailing slash) of a route under a catch-all."""
    head = draw(st.lists(SEGMENT, min_size=1, max_size=2))
    tail = draw(st.lists(SEGMENT, max_size=3))
    trailing = bool(tail) and draw(st.booleans())
    return "/" + "/".join(head + tail) + ("/" if trailing else ""), len(head), trailing


# ---------------------------------------------------------------- strategies


@given(paths())
def test_paths_start_with_a_slash(path: str) -> None:
    """Every generated path is a router path."""
    assert path.startswith("/")


@given(methods())
def test_methods_are_http_tokens(method: str) -> None:
    """Every generated method is a token a client could send."""
    assert TOKEN.fullmatch(method)


@given(request_infos())
def test_request_infos_carry_lower_case_header_names(info: RequestInfo) -> None:
    """Adapters hand the core lower-case header names; so do the strategies."""
    assert all(name == name.lower() for name in info.headers)


@settings(max_examples=300)
@given(hostile_paths())
def test_hostile_paths_include_what_routers_never_expect(path: str) -> None:
    """Hostile paths are text; some are surrogates, NUL, huge or traversals."""
    assert isinstance(path, str)


def test_hostile_paths_reach_the_nasty_cases() -> None:
    """Lone surrogates, NUL, traversals out of exempt prefixes and huge paths
    are all drawn."""
    wanted = {
        "surrogate": lambda p: any("\ud800" <= c <= "\udfff" for c in p),
        "nul": lambda p: "\x00" in p,
        "traversal": lambda p: p.startswith(("/admin/", "/static/")) and "/.." in p,
        "huge": lambda p: len(p) > 4096,
    }
    for condition in wanted.values():
        find(hostile_paths(), condition, settings=settings(max_examples=2000, database=None))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_werkzeug_spellings_reach_the_same_endpoint(data: st.DataObject) -> None:
    """Each Werkzeug spelling matches the same rule directly, without a redirect."""
    path, fixed, _ = data.draw(routes())
    head = "/".join(path.strip("/").split("/")[:fixed])
    url_map = Map([WerkzeugRule(f"/{head}/<path:rest>", endpoint="catch_all")])
    url_map.add(WerkzeugRule(f"/{head}", endpoint="exact"))
    adapter = url_map.bind("example.org")
    expected = adapter.match(path)[0]
    spelled = data.draw(spellings(path, router="werkzeug", fixed=fixed), label="spelling")
    assert expected == adapter.match(spelled)[0]


async def _nothing(scope: object, receive: object, send: object) -> None:
    raise AssertionError("never called")


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_starlette_spellings_reach_the_same_mount(data: st.DataObject) -> None:
    """Each Starlette spelling fully matches the same Mount or Route."""
    path, fixed, _ = data.draw(routes())
    head = "/".join(path.strip("/").split("/")[:fixed])
    router = Router([Mount(f"/{head}", app=_nothing), Route(f"/{head}", _nothing)])

    def matched(candidate: str) -> int:
        scope = {"type": "http", "path": candidate, "method": "GET", "root_path": ""}
        fits = [i for i, r in enumerate(router.routes) if r.matches(scope)[0] is Match.FULL]
        assert len(fits) == 1
        return fits[0]

    spelled = data.draw(spellings(path, router="starlette", fixed=fixed), label="spelling")
    assert matched(path) == matched(spelled)


@pytest.mark.parametrize(
    ("path", "options"),
    [("relative/path", {}), ("/x", {"fixed": -1}), ("/x", {"router": "django"})],
)
def test_spellings_reject_what_they_cannot_spell(path: str, options: dict[str, object]) -> None:
    """A relative path, a negative fixed count or an unknown router is an error."""
    with pytest.raises(InvalidArgument):
        spellings(path, **options)  # type: ignore[arg-type]


# ------------------------------------------- assert_spellings_keep_operation


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/upload/x"), ("GET", "/admin/users"), ("GET", "/static/app.css"), ("POST", "/")],
)
def test_spellings_assertion_passes_on_the_default_classifier(method: str, path: str) -> None:
    """The default classifier keeps every spelling's operation."""
    assert_spellings_keep_operation(OperationClassifier(), path, method, settings=QUICK)


def test_spellings_assertion_fails_when_a_spelling_is_read_more_leniently() -> None:
    """A raw-only classifier reads //upload/x as UNKNOWN, not an upload."""
    with pytest.raises(AssertionError, match="less strict than IMAGE_PROCESSING"):
        assert_spellings_keep_operation(RawOnlyClassifier(), "/upload/x", "POST", settings=QUICK)


def test_spellings_assertion_fails_when_a_spelling_gains_an_exemption() -> None:
    """A raw-only classifier lets /upload/public/../x pass as a health check."""
    classifier = RawOnlyClassifier()
    classifier.add_custom_classification(r"/upload/[a-z0-9_-]+/\.\./.*", "HEALTH_CHECK")
    with pytest.raises(AssertionError, match="is HEALTH_CHECK"):
        assert_spellings_keep_operation(
            classifier, "/upload/x", "POST", router="starlette", settings=QUICK
        )


def test_spellings_assertion_fails_when_a_spelling_escapes_a_partial_maintenance() -> None:
    """Equally strict is not enough: another write type escapes an uploads-only
    maintenance."""
    classifier = RawOnlyClassifier()
    classifier.add_custom_classification(r"/upload/x/\.\./.*", "CAPTION_GENERATION")
    with pytest.raises(AssertionError, match="partial normal maintenance"):
        assert_spellings_keep_operation(
            classifier, "/upload/x", "POST", router="starlette", settings=QUICK
        )


def test_spellings_assertion_explores_beyond_one_spelling_of_each_kind() -> None:
    """Hypothesis finds an escape the fixed spellings (x/../) do not show."""
    classifier = RawOnlyClassifier()
    # Any junk segment but the fixed spelling's "x" climbing back with "..".
    classifier.add_custom_classification(r"/upload/.*[a-w0-9_-]/\.\./.*", "HEALTH_CHECK")
    explore = settings(max_examples=100, derandomize=True, database=None)
    with pytest.raises(AssertionError, match="is HEALTH_CHECK"):
        assert_spellings_keep_operation(
            classifier, "/upload/x", "POST", router="starlette", settings=explore
        )


def test_spellings_assertion_accepts_a_service() -> None:
    """A MaintenanceService is checked through its classifier."""
    service = MaintenanceService()
    assert_spellings_keep_operation(service, "/upload/x", "POST", settings=QUICK)


# -------------------------------------------------- assert_no_unknown_routes


def test_unknown_routes_assertion_passes_when_every_route_is_classified() -> None:
    """Covered routes, reads and framework-added OPTIONS pass."""
    routes_ = [("POST", "/upload"), ("GET", "/anything"), ("OPTIONS", "/hooks"), ("PUT", "/admin")]
    assert_no_unknown_routes(OperationClassifier(), routes_)


def test_unknown_routes_assertion_names_every_unknown_route() -> None:
    """A write route no rule covers fails, and the message names it."""
    routes_ = [("POST", "/webhooks/stripe"), ("post", "/upload"), ("DELETE", "/things/<int:id>")]
    with pytest.raises(AssertionError, match=r"POST /webhooks/stripe, DELETE /things/<int:id>"):
        assert_no_unknown_routes(OperationClassifier(), routes_)


def test_unknown_routes_assertion_checks_options_when_asked() -> None:
    """ignore_methods=() makes OPTIONS count too."""
    with pytest.raises(AssertionError, match="OPTIONS /hooks"):
        assert_no_unknown_routes(OperationClassifier(), [("OPTIONS", "/hooks")], ignore_methods=())


# -------------------------------------------------- assert_no_shadowed_rules


@pytest.fixture
def classifier() -> OperationClassifier:
    """Defaults plus distinct custom rules that each decide something."""
    classifier = OperationClassifier()
    classifier.add_custom_classification(r"/api/custom/.*", "BATCH_OPERATIONS")
    classifier.add_custom_classification("/api/custom", "JOB_CREATION", ["POST"])
    classifier.add_custom_classification("/upload", "BATCH_OPERATIONS")
    classifier.add_custom_classification(r"/reports/\d+/export", "JOB_CREATION")
    return classifier


def test_shadow_assertion_passes_on_rules_that_each_decide_something(
    classifier: OperationClassifier,
) -> None:
    """Overriding a default (/upload) is deciding something, not shadowing."""
    assert_no_shadowed_rules(classifier, settings=QUICK)


def test_shadow_assertion_fails_on_an_exact_duplicate(classifier: OperationClassifier) -> None:
    """/api/custom/ repeats /api/custom: same segments, type and methods."""
    classifier.add_custom_classification("/api/custom/", "JOB_CREATION", ["post"])
    with pytest.raises(AssertionError, match=r"'/api/custom/' \[POST\] repeats"):
        assert_no_shadowed_rules(classifier, settings=QUICK)


def test_shadow_assertion_fails_on_a_copy_of_a_default_rule() -> None:
    """The seeds' 'add missing classification' for a default route changes nothing."""
    classifier = OperationClassifier()
    classifier.add_custom_classification(r"/start_caption_generation", "CAPTION_GENERATION")
    with pytest.raises(AssertionError, match="repeats default prefix rule"):
        assert_no_shadowed_rules(classifier, settings=QUICK)


def test_shadow_assertion_fails_on_a_prefix_rule_an_earlier_one_covers(
    classifier: OperationClassifier,
) -> None:
    """An equal prefix for fewer methods, added later, never decides anything."""
    classifier.add_custom_classification("/upload", "JOB_CREATION", ["PUT"])
    with pytest.raises(AssertionError, match=r"'/upload' \[PUT\] never wins"):
        assert_no_shadowed_rules(classifier, settings=QUICK)


def test_shadow_assertion_fails_on_a_regex_an_earlier_regex_covers(
    classifier: OperationClassifier,
) -> None:
    """/api/custom/[a-z]+ is always beaten by the earlier /api/custom/.*."""
    classifier.add_custom_classification(r"/api/custom/[a-z]+", "JOB_CREATION")
    with pytest.raises(AssertionError, match=r"'/api/custom/\[a-z\]\+' never wins"):
        assert_no_shadowed_rules(classifier, settings=QUICK)


def test_shadow_assertion_fails_on_rules_under_a_route_declaration(
    classifier: OperationClassifier,
) -> None:
    """A route declaration for /reports beats the regex under it everywhere."""
    classifier.add_route("/reports", "READ_OPERATIONS")
    with pytest.raises(AssertionError, match=r"export' never wins"):
        assert_no_shadowed_rules(classifier, settings=QUICK)


def test_lint_rules_is_empty_for_good_rules(classifier: OperationClassifier) -> None:
    """No problem, no message."""
    assert [] == lint_rules(classifier, settings=QUICK)


def test_lint_rules_notes_a_regex_tried_on_every_request(classifier: OperationClassifier) -> None:
    """A regex with no fixed first segment cannot be indexed."""
    classifier.add_custom_classification(r"/.*\.php", "BATCH_OPERATIONS")
    [message] = lint_rules(classifier, settings=QUICK)
    assert "tried on every request" in message


# ------------------------------------------------------------------- explain


def test_explain_names_the_rule_the_readings_and_each_mode() -> None:
    """A traversal out of /admin is explained as the upload it is."""
    text = explain(OperationClassifier(), "post", "/admin/../upload")
    assert "POST /admin/../upload" in text
    assert "operation: IMAGE_PROCESSING" in text
    assert "default prefix rule '/upload'" in text
    assert "other reading is ADMIN_OPERATIONS" in text
    assert "test: simulated" in text


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService()
    yield service
    service.close()


def test_explain_with_a_service_gives_the_current_decision(service: MaintenanceService) -> None:
    """With maintenance on, an upload is blocked now, and the text says so."""
    service.enable_maintenance("database upgrade")
    text = explain(service, "POST", "/upload")
    assert "now: BLOCK" in text
