"""The scenario suite: the same behaviours through the WSGI and ASGI adapters."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from maintguard import MaintenanceService, Mode, OperationType
from tests.clients import Answer, ASGIClient, WSGIClient

TOKEN = "s3cret-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "bypass-cookie-secret-0123456789"


def make_service(**options: object) -> MaintenanceService:
    options.setdefault("admin_tokens", f"alice:{TOKEN}")
    service = MaintenanceService(**options)  # type: ignore[arg-type]
    return service


@pytest.fixture(params=["wsgi", "asgi"])
def make_client(request: pytest.FixtureRequest) -> Iterator[object]:
    made: list[MaintenanceService] = []

    def build(**options: object) -> WSGIClient | ASGIClient:
        service = make_service(**options)
        made.append(service)
        return WSGIClient(service) if request.param == "wsgi" else ASGIClient(service)

    yield build
    for service in made:
        service.close()


@pytest.fixture
def client(make_client: object) -> WSGIClient | ASGIClient:
    return make_client()  # type: ignore[operator, no-any-return]


def test_everything_passes_while_maintenance_is_off(client: WSGIClient) -> None:
    """With maintenance off, a write reaches the app."""
    answer = client.request("POST", "/upload")
    assert (200, True) == (answer.status, answer.app_called)


def test_normal_maintenance_blocks_a_write_with_503(client: WSGIClient) -> None:
    """The seeds' check: POST /start_caption_generation answers 503."""
    client.service.enable_maintenance("Database upgrade", duration=300)
    answer = client.request("POST", "/start_caption_generation", body=b'{"test": "data"}')
    assert 503 == answer.status
    assert not answer.app_called


def test_blocked_answer_carries_retry_after_and_no_store(client: WSGIClient) -> None:
    """Retry-After is the whole seconds left of the estimate; never cached."""
    client.service.enable_maintenance("Upgrade", duration=300)
    answer = client.request("POST", "/upload")
    assert "no-store" == answer.headers["cache-control"]
    assert 295 <= int(answer.headers["retry-after"]) <= 300


def test_retry_after_is_absent_when_completion_is_unknown(client: WSGIClient) -> None:
    """An emergency without a duration has no estimate: no Retry-After."""
    client.service.enable_emergency("Incident")
    answer = client.request("GET", "/")
    assert "retry-after" not in answer.headers


def test_normal_maintenance_serves_reads(client: WSGIClient) -> None:
    """Reads stay available during normal maintenance."""
    client.service.enable_maintenance("Upgrade")
    assert 200 == client.request("GET", "/dashboard").status


def test_json_answer_for_api_paths(client: WSGIClient) -> None:
    """Paths under /api/ get the JSON body with the operation type."""
    client.service.enable_maintenance("Upgrade", duration=60, message="Back soon")
    answer = client.request("POST", "/api/jobs")
    assert "application/json" == answer.headers["content-type"]
    body = answer.json()
    assert ("maintenance", "normal", "Back soon", "JOB_CREATION") == (
        body["error"],
        body["mode"],
        body["message"],
        body["operation_type"],
    )
    assert body["estimated_completion"].endswith("Z")


def test_json_answer_when_the_client_asks_for_json(client: WSGIClient) -> None:
    """Accept: application/json chooses JSON on any path."""
    client.service.enable_maintenance("Upgrade")
    answer = client.request("POST", "/upload", headers={"Accept": "application/json"})
    assert "UPLOAD" not in answer.text and "IMAGE_PROCESSING" == answer.json()["operation_type"]


def test_html_page_is_self_contained_and_escapes_the_message(client: WSGIClient) -> None:
    """Browsers get an inline-styled page; the message is HTML-escaped."""
    client.service.enable_maintenance("Upgrade", message="<script>alert(1)</script> & more")
    answer = client.request("POST", "/upload", headers={"Accept": "text/html"})
    assert answer.headers["content-type"].startswith("text/html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in answer.text
    assert "<script>" not in answer.text
    assert "<link" not in answer.text and "src=" not in answer.text


def test_reason_stays_internal_once_a_message_is_set(client: WSGIClient) -> None:
    """With a message, the reason appears in no 503 body but in the status."""
    client.service.enable_maintenance("CVE-2026-1234 patching", message="Scheduled upgrade")
    html_answer = client.request("POST", "/upload")
    json_answer = client.request("POST", "/api/jobs")
    status = client.request("GET", "/api/maintenance/status").json()
    assert "CVE-2026" not in html_answer.text and "CVE-2026" not in json_answer.text
    assert ("CVE-2026-1234 patching", "Scheduled upgrade") == (status["reason"], status["message"])


def test_head_gets_headers_without_a_body(client: WSGIClient) -> None:
    """A blocked HEAD request answers 503 with no body."""
    client.service.enable_emergency("Incident")
    answer = client.request("HEAD", "/")
    assert (503, b"") == (answer.status, answer.body)


def test_replaceable_page_template(make_client: object) -> None:
    """A template string replaces the page; placeholders are escaped."""
    client = make_client(page="<p>Closed: $message</p>")  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade", message="a<b")
    assert "<p>Closed: a&lt;b</p>" == client.request("POST", "/upload").text


def test_emergency_blocks_reads(client: WSGIClient) -> None:
    """An emergency blocks even GET / (the seeds' maintenance page)."""
    client.service.enable_emergency("Security incident")
    assert 503 == client.request("GET", "/").status


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health"),
        ("GET", "/healthz"),
        ("GET", "/static/app.css"),
        ("GET", "/favicon.ico"),
        ("POST", "/login"),
        ("POST", "/logout"),
        ("GET", "/api/maintenance/status"),
        ("GET", "/api/health/maintenance"),
    ],
)
def test_emergency_never_blocks_probes_static_logins_or_the_control_api(
    client: WSGIClient, method: str, path: str
) -> None:
    """Health checks, static files, logins and the status API stay reachable."""
    client.service.enable_emergency("Security incident")
    assert 200 == client.request(method, path).status


def test_emergency_keeps_admin_routes_for_admins_only(client: WSGIClient) -> None:
    """In an emergency /admin is blocked for others and open to a token holder."""
    client.service.enable_emergency("Incident")
    assert 503 == client.request("GET", "/admin/users").status
    assert 200 == client.request("GET", "/admin/users", headers=AUTH).status


def test_admin_token_bypasses_every_block(client: WSGIClient) -> None:
    """A valid bearer token lets a blocked write through."""
    client.service.enable_maintenance("Upgrade")
    assert 200 == client.request("POST", "/upload", headers=AUTH).status


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong",
        "Bearer ",
        "Bearer",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN} {TOKEN}",
        f"bearer  {TOKEN}",
        f"Bearer {TOKEN}, Bearer {TOKEN}",
    ],
)
def test_malformed_or_wrong_tokens_are_not_admin(client: WSGIClient, authorization: str) -> None:
    """Any other Authorization value leaves the request blocked (no 500)."""
    client.service.enable_maintenance("Upgrade")
    assert 503 == client.request("POST", "/upload", headers={"Authorization": authorization}).status


def test_test_mode_serves_and_marks_what_it_would_block(client: WSGIClient) -> None:
    """Test mode blocks nothing; would-be-blocked answers carry the header."""
    client.service.enable_maintenance("Rehearsal", mode=Mode.TEST)
    answer = client.request("POST", "/upload")
    assert (200, "blocked") == (answer.status, answer.headers["x-maintenance-simulated"])
    assert "x-maintenance-simulated" not in client.request("GET", "/").headers


def test_test_mode_report_counts_would_be_blocked_requests(client: WSGIClient) -> None:
    """The report lists simulated blocks with sample paths."""
    client.service.enable_maintenance("Rehearsal", mode="test")
    client.request("POST", "/upload")
    client.request("POST", "/upload/avatar")
    report = client.request("GET", "/api/maintenance/report", headers=AUTH).json()
    entry = next(e for e in report["operations"] if e["operation_type"] == "IMAGE_PROCESSING")
    assert 2 == entry["would_block_count"]
    assert ["/upload", "/upload/avatar"] == entry["sample_paths"]


def test_blocked_operations_endpoint_counts_attempts(client: WSGIClient) -> None:
    """GET blocked-operations lists what is blocked and how often it was tried."""
    client.service.enable_maintenance("Upgrade")
    for _ in range(3):
        client.request("POST", "/batch/run")
    data = client.request("GET", "/api/maintenance/blocked-operations").json()
    counts = {e["operation_type"]: e["attempt_count"] for e in data["blocked_operations"]}
    assert 3 == counts["BATCH_OPERATIONS"]
    assert "READ_OPERATIONS" not in counts


def test_partial_maintenance_blocks_only_the_named_types(client: WSGIClient) -> None:
    """operations=[IMAGE_PROCESSING] blocks uploads and nothing else."""
    client.service.enable_maintenance("Storage move", operations=["IMAGE_PROCESSING"])
    assert 503 == client.request("POST", "/upload").status
    assert 200 == client.request("POST", "/start_caption_generation").status
    status = client.request("GET", "/api/maintenance/status").json()
    assert ["IMAGE_PROCESSING"] == status["blocked_operations"]


def test_cors_preflight_passes_to_the_app(client: WSGIClient) -> None:
    """OPTIONS with Access-Control-Request-Method is never blocked."""
    client.service.enable_emergency("Incident")
    answer = client.request(
        "OPTIONS",
        "/api/jobs",
        headers={"Access-Control-Request-Method": "POST", "Origin": "https://app.example"},
    )
    assert (200, True) == (answer.status, answer.app_called)


def test_blocked_answers_carry_cors_headers_for_configured_origins(make_client: object) -> None:
    """A configured origin gets Access-Control-Allow-Origin on the 503."""
    client = make_client(cors_origins=["https://app.example"])  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    allowed = client.request("POST", "/api/jobs", headers={"Origin": "https://app.example"})
    other = client.request("POST", "/api/jobs", headers={"Origin": "https://evil.example"})
    assert "https://app.example" == allowed.headers["access-control-allow-origin"]
    assert "access-control-allow-origin" not in other.headers


def test_method_override_headers_are_ignored(client: WSGIClient) -> None:
    """X-HTTP-Method-Override: GET does not turn a blocked POST into a read."""
    client.service.enable_maintenance("Upgrade")
    for header in ("X-HTTP-Method-Override", "X-Method-Override", "X-HTTP-Method"):
        assert 503 == client.request("POST", "/upload", headers={header: "GET"}).status


def test_lower_case_method_is_read_upper_case(client: WSGIClient) -> None:
    """A 'post' is a POST, as the router reads it."""
    client.service.enable_maintenance("Upgrade")
    assert 503 == client.request("post", "/upload").status


@pytest.mark.parametrize(
    "path",
    ["/admin/../upload", "//upload", "/upload/", "/./upload", "/upload;x=1", "/static/../upload"],
)
def test_odd_spellings_do_not_escape_a_block(client: WSGIClient, path: str) -> None:
    """Every spelling of /upload that a router could serve stays blocked."""
    client.service.enable_maintenance("Upgrade")
    assert 503 == client.request("POST", path).status


def test_mount_point_is_stripped_before_classifying(client: WSGIClient) -> None:
    """Under SCRIPT_NAME/root_path /app, /app/upload is the /upload route."""
    client.service.enable_maintenance("Upgrade")
    assert 503 == client.request("POST", "/upload", root_path="/app").status
    assert 200 == client.request("GET", "/static/x.css", root_path="/app").status


def test_debug_header_names_the_operation(make_client: object) -> None:
    """debug_headers=True adds X-Maintenance-Operation."""
    client = make_client(debug_headers=True)  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    assert (
        "IMAGE_PROCESSING" == client.request("POST", "/upload").headers["x-maintenance-operation"]
    )


def test_feature_switch_off_passes_everything(make_client: object) -> None:
    """MAINTENANCE_MODE_ENABLED=false: maintenance on, yet nothing is blocked."""
    from maintguard import Settings

    client = make_client(settings=Settings(maintenance_mode_enabled=False))  # type: ignore[operator]
    client.service.enable_emergency("Incident")
    assert 200 == client.request("POST", "/upload").status


def test_resolver_is_asked_only_for_requests_that_would_be_blocked(make_client: object) -> None:
    """The app's is_admin is not called for allowed requests."""
    asked: list[str] = []

    def is_admin(info: object) -> bool:
        asked.append(info.path)  # type: ignore[attr-defined]
        return info.header("x-user") == "root"  # type: ignore[attr-defined, no-any-return]

    client = make_client(is_admin=is_admin)  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    client.request("GET", "/")
    assert 200 == client.request("POST", "/upload", headers={"X-User": "root"}).status
    assert 503 == client.request("POST", "/upload", headers={"X-User": "bob"}).status
    assert ["/upload", "/upload"] == asked


def test_a_raising_resolver_means_not_admin(
    make_client: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A resolver that raises blocks the request and is logged, never a 500."""

    def is_admin(info: object) -> bool:
        raise RuntimeError("database down")

    client = make_client(is_admin=is_admin)  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    with caplog.at_level(logging.WARNING, logger="maintguard"):
        assert 503 == client.request("POST", "/upload").status
    assert "Admin resolver failed" in caplog.text


def _bypass_cookie(client: WSGIClient) -> str:
    answer = client.request("POST", "/api/maintenance/bypass", headers=AUTH)
    assert 200 == answer.status
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    return cookie.split(";", 1)[0]


def test_bypass_cookie_lets_an_admin_browser_through(make_client: object) -> None:
    """The signed cookie from POST /bypass passes blocked requests."""
    client = make_client(bypass_cookie_secret=SECRET)  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    cookie = _bypass_cookie(client)
    assert 200 == client.request("POST", "/upload", headers={"Cookie": cookie}).status


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),
        lambda c: c.split("=", 1)[0] + "=garbage",
        lambda c: c.split("=", 1)[0] + "=9999999999.x.y",
        lambda c: c.split("=", 1)[0] + "=" + "A" * 5000,
        lambda c: c + "; " + c.split("=", 1)[0] + "=\x00\xff",
    ],
)
def test_tampered_or_garbage_bypass_cookies_are_not_admin(
    make_client: object, mangle: object
) -> None:
    """Tampered, garbage or oversized cookies: blocked, never a 500."""
    client = make_client(bypass_cookie_secret=SECRET)  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    cookie = mangle(_bypass_cookie(client))  # type: ignore[operator]
    assert 503 == client.request("POST", "/upload", headers={"Cookie": cookie}).status


def test_bypass_cookie_dies_with_its_maintenance(make_client: object) -> None:
    """A cookie from one maintenance does not open the next one."""
    client = make_client(bypass_cookie_secret=SECRET)  # type: ignore[operator]
    client.service.enable_maintenance("First")
    cookie = _bypass_cookie(client)
    client.service.disable_maintenance()
    client.service.enable_maintenance("Second")
    assert 503 == client.request("POST", "/upload", headers={"Cookie": cookie}).status


def test_ip_allowlist_admits_an_allowed_client(make_client: object) -> None:
    """A client address in allowed_ips counts as admin."""
    client = make_client(allowed_ips=["10.1.0.0/16"])  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    assert 200 == client.request("POST", "/upload", client="10.1.2.3").status
    assert 503 == client.request("POST", "/upload", client="10.2.0.1").status


def test_forwarded_for_is_ignored_from_an_untrusted_peer(make_client: object) -> None:
    """A forged X-Forwarded-For from a direct client changes nothing."""
    client = make_client(allowed_ips=["10.1.0.0/16"], trusted_proxies=["127.0.0.1"])  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    forged = client.request(
        "POST", "/upload", client="203.0.113.9", headers={"X-Forwarded-For": "10.1.2.3"}
    )
    assert 503 == forged.status


def test_forwarded_for_from_a_trusted_proxy_uses_the_right_most_untrusted_hop(
    make_client: object,
) -> None:
    """Behind a trusted proxy, the right-most untrusted hop is the client."""
    client = make_client(allowed_ips=["10.1.0.0/16"], trusted_proxies=["127.0.0.1"])  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    good = client.request("POST", "/upload", headers={"X-Forwarded-For": "203.0.113.9, 10.1.2.3"})
    spoofed = client.request(
        "POST", "/upload", headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"}
    )
    junk = client.request("POST", "/upload", headers={"X-Forwarded-For": "10.1.2.3, not-an-ip"})
    assert (200, 503, 503) == (good.status, spoofed.status, junk.status)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("BREW", "/coffee", {}),
        ("GET", "/" + "a/" * 3000, {}),
        ("POST", "/%00/\x7f", {}),
        ("POST", "/ünïcödé/upload", {}),
        ("POST", "/upload", {"Cookie": "=;;=;maintguard_bypass"}),
        ("POST", "/upload", {"Accept": "*/*;q=x, json"}),
        ("POST", "/upload", {"Origin": "\x01"}),
        ("POST", "/upload", {"X-Forwarded-For": ",,,[::1]:x"}),
    ],
)
def test_hostile_requests_get_a_well_formed_answer(
    client: WSGIClient, method: str, path: str, headers: dict[str, str]
) -> None:
    """Odd methods, paths and headers never cause a 500 during maintenance."""
    client.service.enable_maintenance("Upgrade")
    answer = client.request(method, path, headers=headers)
    assert answer.status in (200, 503)


def test_blocked_log_lines_are_rate_limited_with_a_summary(
    client: WSGIClient, caplog: pytest.LogCaptureFixture
) -> None:
    """After a burst, similar lines are dropped and summarised later."""
    client.service.enable_maintenance("Upgrade")
    with caplog.at_level(logging.INFO, logger="maintguard"):
        for _ in range(20):
            client.request("POST", "/upload")
        client.service.limiter.flush(now=float("inf"))
    messages = [r.getMessage() for r in caplog.records]
    assert 5 == sum("Operation blocked: endpoint=" in m for m in messages)
    assert any("(+15 more in 60 s)" in m for m in messages)


def test_no_token_or_cookie_ever_reaches_the_log(
    make_client: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Tokens and bypass cookies never appear in log lines."""
    client = make_client(bypass_cookie_secret=SECRET)  # type: ignore[operator]
    with caplog.at_level(logging.DEBUG, logger="maintguard"):
        client.request("POST", "/api/maintenance/enable", headers=AUTH, body=b'{"reason": "x"}')
        cookie = _bypass_cookie(client)
        client.request("POST", "/upload", headers={"Cookie": cookie + "x"})
        client.request("POST", "/upload", headers={"Authorization": "Bearer wrong-token-xyz"})
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (TOKEN, cookie.split("=", 1)[1], "wrong-token-xyz", SECRET):
        assert secret not in text


def test_status_endpoint_shows_the_seeds_fields(client: WSGIClient) -> None:
    """GET status answers every field the manuals read."""
    client.service.enable_maintenance("Deployment validation test", duration=300)
    status = client.request("GET", "/api/maintenance/status").json()
    expected = {
        "is_active",
        "mode",
        "reason",
        "message",
        "estimated_duration",
        "started_at",
        "estimated_completion",
        "ends_at",
        "blocked_operations",
        "active_jobs_count",
        "upcoming",
        "store",
        "version",
    }
    assert expected <= set(status)
    assert (True, "normal", 300.0, "memory") == (
        status["is_active"],
        status["mode"],
        status["estimated_duration"],
        status["store"],
    )


def test_health_endpoint_is_ok_while_maintenance_is_on(client: WSGIClient) -> None:
    """Maintenance is not a fault: health answers ok, 200."""
    client.service.enable_emergency("Incident")
    answer = client.request("GET", "/api/health/maintenance")
    assert (200, "ok") == (answer.status, answer.json()["status"])


def test_openapi_document_is_served(client: WSGIClient) -> None:
    """GET openapi.json describes the control API with its bearer scheme."""
    document = client.request("GET", "/api/maintenance/openapi.json").json()
    assert "3.1.0" == document["openapi"]
    assert "/api/maintenance/status" in document["paths"]
    assert "bearer" == document["components"]["securitySchemes"]["bearer"]["scheme"]


def test_custom_operation_types_are_blocked_by_default(make_client: object) -> None:
    """A registered type used in a custom rule is blocked like a write type."""
    name = "REPORT_EXPORT_ADAPTERS"
    operation = OperationType.get(name) or OperationType.register(name)
    client = make_client()  # type: ignore[operator]
    client.service.classifier.add_custom_classification(r"/api/reports/.*", operation)
    client.service.enable_maintenance("Upgrade")
    answer = client.request("GET", "/api/reports/2026/export")
    assert (503, name) == (answer.status, answer.json()["operation_type"])


def answer_json(answer: Answer) -> dict[str, object]:
    return json.loads(answer.body)  # type: ignore[no-any-return]


def test_a_remembered_block_never_hides_an_admin_token(client: WSGIClient) -> None:
    """After plain requests to a path were blocked, a token holder still passes."""
    client.service.enable_maintenance("Upgrade")
    assert 503 == client.request("POST", "/upload").status
    assert 503 == client.request("POST", "/upload").status
    assert 200 == client.request("POST", "/upload", headers=AUTH).status


def test_a_remembered_block_never_hides_a_bypass_cookie(make_client: object) -> None:
    """The same holds for the bypass cookie."""
    client = make_client(bypass_cookie_secret=SECRET)  # type: ignore[operator]
    client.service.enable_maintenance("Upgrade")
    assert 503 == client.request("POST", "/upload").status
    cookie = _bypass_cookie(client)
    assert 200 == client.request("POST", "/upload", headers={"Cookie": cookie}).status


def test_remembered_answers_end_with_the_state(client: WSGIClient) -> None:
    """A new state answers afresh: nothing remembered outlives its maintenance."""
    client.service.enable_maintenance("Upgrade", message="First")
    assert b"First" in client.request("POST", "/upload").body
    client.service.enable_maintenance("Upgrade", message="Second")
    assert b"Second" in client.request("POST", "/upload").body
    client.service.disable_maintenance()
    assert 200 == client.request("POST", "/upload").status


def test_remembered_answers_keep_the_accept_choice(client: WSGIClient) -> None:
    """HTML for a browser and JSON for an API client on the same path."""
    client.service.enable_maintenance("Upgrade")
    html = client.request("POST", "/upload", headers={"Accept": "text/html"})
    data = client.request("POST", "/upload", headers={"Accept": "application/json"})
    assert html.headers["content-type"].startswith("text/html")
    assert "IMAGE_PROCESSING" == data.json()["operation_type"]


def test_a_preflight_is_never_remembered_for_later_requests(client: WSGIClient) -> None:
    """After a CORS preflight passed, a plain OPTIONS to the same path is still judged."""
    client.service.enable_emergency("Incident")
    preflight = {"Access-Control-Request-Method": "POST", "Origin": "https://app.example"}
    assert 200 == client.request("options", "/upload", headers=preflight).status
    assert 503 == client.request("options", "/upload").status


def test_a_get_only_custom_rule_covers_head(client: WSGIClient) -> None:
    """Routers run a GET view for HEAD, so a GET rule classifies HEAD too."""
    client.service.classifier.add_custom_classification(
        "/reports/export", "BATCH_OPERATIONS", methods=["GET"]
    )
    client.service.enable_maintenance("Upgrade")
    assert (503, 503) == (
        client.request("GET", "/reports/export").status,
        client.request("HEAD", "/reports/export").status,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"reason": "db", "message": "back soon \\ud83d"}', "message"),
        (b'{"reason": "db \\udfff"}', "reason"),
        (b'{"reason": "x", "ends_at": "9999-12-31T23:59:59-00:01"}', "ends_at"),
        (b'{"reason": "x", "ends_at": "0001-01-01T00:00:00+00:01"}', "ends_at"),
        (b'{"reason": "x", "duration": 1' + b"0" * 400 + b"}", "duration"),
    ],
)
def test_unencodable_or_out_of_range_values_are_refused(
    client: WSGIClient, body: bytes, field: str
) -> None:
    """Lone surrogates and out-of-range times or numbers: 400, nothing changes."""
    answer = client.request("POST", "/api/maintenance/enable", headers=AUTH, body=body)
    assert (400, field) == (answer.status, answer.json()["field"])
    assert 0 == client.request("GET", "/api/maintenance/status").json()["version"]


def test_an_unencodable_field_name_gets_a_400(client: WSGIClient) -> None:
    """An unknown field named with a lone surrogate is answered, not a 500."""
    answer = client.request(
        "POST", "/api/maintenance/enable", headers=AUTH, body=b'{"\\ud800": 1, "reason": "x"}'
    )
    assert 400 == answer.status


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3"])
def test_non_ascii_digits_in_a_query_are_refused(client: WSGIClient, limit: str) -> None:
    """'²' passes str.isdigit but is no number: 400, not 500."""
    answer = client.request("GET", f"/api/maintenance/audit?limit={limit}", headers=AUTH)
    assert (400, "limit") == (answer.status, answer.json()["field"])
