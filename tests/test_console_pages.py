"""The console's pages and reads, in process (Werkzeug's test client): the
dashboard's security headers, the banner, the metrics' access rules, the
one-shot events answer for integrations that cannot stream, and the
per-minute history kept with the maintenance's counters."""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from werkzeug.test import Client

from maintguard import MaintenanceService
from maintguard.core.decision import RequestInfo
from maintguard.core.responses import Response
from maintguard.stores import MemoryStore
from maintguard.wsgi import MaintenanceMiddleware

TOKEN = "pages-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PREFIX = "/api/maintenance"


def _app(environ: object, start_response: object) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"app"]


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService(
        MemoryStore(), admin_tokens=f"ops:{TOKEN}", allowed_ips="10.9.0.0/16"
    )
    yield service
    service.close()


@pytest.fixture
def client(service: MaintenanceService) -> Client:
    return Client(MaintenanceMiddleware(_app, service))


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_dashboard_allows_only_its_own_script_and_style(client: Client) -> None:
    """The CSP names the hashes of the page's one script and one style block,
    and nothing else may load or run."""
    answer = client.get(f"{PREFIX}/dashboard")
    page = answer.get_data(as_text=True)
    script = re.search(r"<script>(.*)</script>", page, re.S)
    style = re.search(r"<style>(.*)</style>", page, re.S)
    assert script is not None
    assert style is not None
    policy = answer.headers["Content-Security-Policy"]
    assert f"script-src {_hash(script.group(1))}" in policy
    assert f"style-src {_hash(style.group(1))}" in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy


def test_the_dashboard_loads_nothing_from_elsewhere(client: Client) -> None:
    """Self-contained: no src or href to another origin, one script block only."""
    page = client.get(f"{PREFIX}/dashboard").get_data(as_text=True)
    assert [] == re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert 1 == page.count("<script")


def test_the_dashboard_calls_the_api_under_its_prefix() -> None:
    """The page is told its prefix (escaped), so it works under any mount point."""
    service = MaintenanceService(MemoryStore(), prefix="/ops/maint")
    page = (
        Client(MaintenanceMiddleware(_app, service))
        .get("/ops/maint/dashboard")
        .get_data(as_text=True)
    )
    service.close()
    assert 'data-prefix="/ops/maint"' in page


def test_the_banner_script_is_served_as_javascript(client: Client) -> None:
    answer = client.get(f"{PREFIX}/banner.js")
    assert (200, "text/javascript; charset=utf-8") == (answer.status_code, answer.content_type)
    assert "maintguard:status" in answer.get_data(as_text=True)


def test_metrics_need_a_token_or_an_allowed_address(client: Client) -> None:
    """Anonymous: 401; with the token, or from an allowed address: the exposition."""
    anonymous = client.get(f"{PREFIX}/metrics").status_code
    with_token = client.get(f"{PREFIX}/metrics", headers=AUTH).status_code
    allowed = client.get(f"{PREFIX}/metrics", environ_base={"REMOTE_ADDR": "10.9.3.4"}).status_code
    assert (401, 200, 200) == (anonymous, with_token, allowed)


def test_metrics_show_blocked_counts_by_operation_and_mode(
    client: Client, service: MaintenanceService
) -> None:
    service.enable_maintenance("Flood")
    for _ in range(4):
        assert 503 == client.post("/upload").status_code
    text = client.get(f"{PREFIX}/metrics", headers=AUTH).get_data(as_text=True)
    assert (
        'maintguard_blocked_requests_total{mode="normal",operation="IMAGE_PROCESSING"} 4.0' in text
    )
    assert "maintguard_maintenance_active 1.0" in text
    assert 'maintguard_mode{mode="normal"} 1.0' in text


def test_metrics_answer_404_without_prometheus_client(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the maintguard[metrics] extra, the endpoint does not exist."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    assert 404 == client.get(f"{PREFIX}/metrics", headers=AUTH).status_code


def test_the_collector_registers_on_an_applications_registry(service: MaintenanceService) -> None:
    """register(service, registry) adds maintguard's metrics to the app's own registry."""
    from prometheus_client import CollectorRegistry, generate_latest

    from maintguard.control.console.metrics import register

    registry = CollectorRegistry()
    register(service, registry)
    assert b"maintguard_maintenance_active 0.0" in generate_latest(registry)


def test_a_plain_http_request_to_the_websocket_gets_426(client: Client) -> None:
    assert 426 == client.get(f"{PREFIX}/ws").status_code


def test_a_wrong_token_on_the_events_stream_gets_401(client: Client) -> None:
    answer = client.get(f"{PREFIX}/events", headers={"Authorization": "Bearer wrong-token-0000000"})
    assert 401 == answer.status_code


def test_integrations_that_cannot_stream_get_the_current_events(
    service: MaintenanceService,
) -> None:
    """Through ControlAPI.route (as Django serves it): the events of now and a
    retry hint, so an EventSource comes back for the next ones."""
    from maintguard.control.api import ControlAPI

    api = ControlAPI(service)
    answer = api.route(RequestInfo("GET", f"{PREFIX}/events"))
    assert isinstance(answer, Response)
    body = answer.body.decode()
    assert body.startswith("retry: ")
    assert "event: status" in body


def test_the_per_minute_history_outlives_the_maintenance(service: MaintenanceService) -> None:
    """Blocked requests of an ended maintenance still show in the history,
    also to a process started afterwards (it is kept in the store)."""
    from maintguard.control.api import ControlAPI

    service.enable_maintenance("History")
    info = RequestInfo("POST", "/upload")
    for _ in range(3):
        service.record(info, service.decide(info))
    service.flush()
    service.disable_maintenance()
    later = MaintenanceService(service.store)
    later.flush()
    history = ControlAPI(later).console.counts_document(full=True)["history"]
    later.close()
    assert 3 == sum(history["blocked"])


def test_minute_counters_never_show_as_operations(service: MaintenanceService) -> None:
    """The report and the blocked counts list operation types only."""
    service.enable_maintenance("Report", mode="test")
    info = RequestInfo("POST", "/upload")
    service.record(info, service.decide(info))
    service.flush()
    counts = service.attempt_counts()
    assert ["IMAGE_PROCESSING"] == sorted(counts.simulated)
    assert 1 == sum(counts.simulated_minutes.values())


def test_the_test_mode_report_keeps_its_per_minute_counts_after_the_end(
    client: Client, service: MaintenanceService
) -> None:
    """GET /report after a rehearsal: the would-be-blocked requests per minute."""
    service.enable_maintenance("Rehearsal", mode="test")
    for _ in range(2):
        assert 200 == client.post("/upload").status_code
    service.flush()
    service.disable_maintenance()
    report = client.get(f"{PREFIX}/report", headers=AUTH).get_json()
    assert 60 == len(report["per_minute"]["simulated"])
    assert 2 == sum(report["per_minute"]["simulated"])


def test_streams_without_a_token_are_capped_per_process() -> None:
    """Past the limit an anonymous stream gets 503 (clients poll instead); a
    token stream still opens, and a closed stream frees its place."""
    from maintguard.control.api import ControlAPI

    service = MaintenanceService(MemoryStore(), admin_tokens=f"ops:{TOKEN}", event_stream_limit=1)
    console = ControlAPI(service).console
    anonymous = RequestInfo("GET", f"{PREFIX}/events")
    first = console.open(anonymous)
    refused = console.open(anonymous)
    admin = console.open(
        RequestInfo("GET", f"{PREFIX}/events", headers={"authorization": f"Bearer {TOKEN}"})
    )
    assert not isinstance(first, Response)
    first.close()
    again = console.open(anonymous)
    service.close()
    assert isinstance(refused, Response)
    assert 503 == refused.status
    assert not isinstance(admin, Response)
    assert not isinstance(again, Response)


def test_the_one_shot_events_answer_frees_its_place() -> None:
    """Answers that do not stay open never count against the limit."""
    service = MaintenanceService(MemoryStore(), event_stream_limit=1)
    from maintguard.control.api import ControlAPI

    api = ControlAPI(service)
    answers = [api.route(RequestInfo("GET", f"{PREFIX}/events")) for _ in range(3)]
    service.close()
    assert [200, 200, 200] == [getattr(a, "status", None) for a in answers]


def test_a_wsgi_stream_closed_before_it_started_frees_its_place() -> None:
    """The server closes the response without reading it (the client left at
    once): the anonymous stream's place is given back."""
    service = MaintenanceService(MemoryStore(), event_stream_limit=1)
    middleware = MaintenanceMiddleware(_app, service)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"{PREFIX}/events", "wsgi.input": None}
    body = middleware(environ, lambda status, headers, exc_info=None: None)
    held = middleware.api.console.anonymous_streams
    body.close()  # type: ignore[attr-defined]
    freed = middleware.api.console.anonymous_streams
    service.close()
    assert (1, 0) == (held, freed)


def test_counts_land_in_the_minute_they_happened(monkeypatch: pytest.MonkeyPatch) -> None:
    """Across a minute change and a flush, each request counts in its own minute."""
    from maintguard.stores import counters as module

    clock = iter([6000.0, 6001.0, 6061.0, 6062.0])
    # Only the counters' clock: a stand-in for their ``time`` module.
    monkeypatch.setattr(module, "time", SimpleNamespace(time=lambda: next(clock)))
    store = MemoryStore()
    kept = module.AttemptCounters()
    kept.record("e", "IMAGE_PROCESSING", "/upload", False)
    kept.record("e", "IMAGE_PROCESSING", "/upload", True)
    kept.flush(store, "e")
    kept.record("e", "JOB_CREATION", "/api/jobs", False)
    kept.record("e", "JOB_CREATION", "/api/jobs", False)
    totals = kept.totals("e")
    assert ({100: 1, 101: 2}, {100: 1}) == (totals.blocked_minutes, totals.simulated_minutes)
    assert {"IMAGE_PROCESSING": 1, "JOB_CREATION": 2} == totals.blocked


def _sample(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found is not None, f"{name} is missing"
    return float(found.group(1))


def test_metrics_show_how_stale_and_late_this_worker_is(service: MaintenanceService) -> None:
    """Another service's change, once adopted here, gives a propagation lag;
    the snapshot's age and its failed reads are shown too."""
    from maintguard.control.console.metrics import exposition

    other = MaintenanceService(service.store)
    service.view()
    other.enable_maintenance("Elsewhere")
    service.snapshot.refresh()
    text = exposition(service, None).body.decode()
    other.close()
    assert _sample(text, "maintguard_propagation_lag_seconds") >= 0
    assert _sample(text, "maintguard_snapshot_staleness_seconds") >= 0
    assert 0 == _sample(text, "maintguard_store_errors_total")
    assert 1 == _sample(text, "maintguard_maintenance_active")
