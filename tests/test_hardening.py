"""The review's hardening findings, each as a user (or an attacker) meets it,
through both adapters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from maintguard import MaintenanceService
from tests.clients import ASGIClient, WSGIClient

TOKEN = "hardening-token-0123456789"


@pytest.fixture(params=["wsgi", "asgi"])
def make_client(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[MaintenanceService] = []

    def build(**options: Any) -> WSGIClient | ASGIClient:
        options.setdefault("admin_tokens", f"ops:{TOKEN}")
        service = MaintenanceService(**options)
        made.append(service)
        return WSGIClient(service) if request.param == "wsgi" else ASGIClient(service)

    yield build
    for service in made:
        service.close()


@pytest.fixture
def client(make_client: Any) -> WSGIClient | ASGIClient:
    return make_client()  # type: ignore[no-any-return]


# -- method override -------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"])
def test_a_method_override_header_is_judged_as_the_method_it_names(
    client: WSGIClient, header: str
) -> None:
    """``GET /upload`` with an override to POST is an upload: 503."""
    client.service.enable_maintenance("Upgrade")
    answer = client.request("GET", "/upload", headers={header: "POST"})
    assert (503, False) == (answer.status, answer.app_called)


def test_a_remembered_read_does_not_let_an_override_through(client: WSGIClient) -> None:
    """A plain ``GET /upload`` (a read, served) is remembered; the same
    request with an override must not reuse that verdict."""
    client.service.enable_maintenance("Upgrade")
    assert 200 == client.request("GET", "/upload").status
    assert 200 == client.request("GET", "/upload").status
    answer = client.request("GET", "/upload", headers={"X-HTTP-Method-Override": "POST"})
    assert 503 == answer.status


def test_a_method_query_field_is_judged_as_the_method_it_names(client: WSGIClient) -> None:
    """``GET /upload?_method=POST`` is an upload too."""
    client.service.enable_maintenance("Upgrade")
    assert 200 == client.request("GET", "/upload").status
    assert 503 == client.request("GET", "/upload?_method=POST").status


def test_a_form_post_is_judged_as_the_methods_its_method_field_may_name(
    make_client: Any,
) -> None:
    """A partial maintenance of user data: ``POST /items/7`` (unclassified,
    allowed) with a form body may carry ``_method=DELETE``, which a rule
    classifies as a user-data modification: blocked, the body unread."""
    from maintguard import OperationClassifier, OperationType

    classifier = OperationClassifier()
    classifier.add_custom_classification(
        pattern=r"/items/.*",
        operation_type=OperationType.USER_DATA_MODIFICATION,
        methods=["DELETE"],
    )
    client = make_client(classifier=classifier)
    client.service.enable_maintenance("Data freeze", operations=["USER_DATA_MODIFICATION"])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert 200 == client.request("POST", "/items/7", body=b"x=1").status
    assert 503 == client.request("POST", "/items/7", headers=form, body=b"_method=DELETE").status


def test_an_override_to_a_safe_method_never_loosens(client: WSGIClient) -> None:
    """``POST /upload`` overridden to GET is still judged as the POST."""
    client.service.enable_maintenance("Upgrade")
    answer = client.request("POST", "/upload", headers={"X-HTTP-Method-Override": "GET"})
    assert 503 == answer.status


def test_the_flask_docs_override_middleware_is_covered() -> None:
    """A real Flask app with the documented override middleware: the upload
    view is reached through ``GET`` + override only when maintguard allows."""
    from flask import Flask
    from werkzeug.test import Client

    from maintguard.wsgi import MaintenanceMiddleware

    app = Flask(__name__)

    @app.route("/upload", methods=["POST"])
    def upload() -> str:
        return "uploaded"

    inner = app.wsgi_app

    def override(environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").upper()
        if method in {"GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"}:
            environ["REQUEST_METHOD"] = method
        return inner(environ, start_response)

    service = MaintenanceService()
    app.wsgi_app = MaintenanceMiddleware(override, service)  # type: ignore[method-assign]
    http = Client(app)
    headers = {"X-HTTP-Method-Override": "POST"}
    assert b"uploaded" == http.get("/upload", headers=headers).data
    service.enable_maintenance("Upgrade")
    assert 503 == http.get("/upload", headers=headers).status_code
    service.close()


# -- exemptions by method ------------------------------------------------------


def test_a_preflight_needs_an_origin(client: WSGIClient) -> None:
    """``OPTIONS`` with ``Access-Control-Request-Method`` but no ``Origin``
    is no CORS preflight: judged like any OPTIONS in an emergency."""
    client.service.enable_emergency("Incident")
    answer = client.request("OPTIONS", "/upload", headers={"Access-Control-Request-Method": "POST"})
    assert 503 == answer.status


def test_a_preflight_with_an_override_is_judged(client: WSGIClient) -> None:
    """A "preflight" that also names an override may be routed as a POST."""
    client.service.enable_maintenance("Upgrade")
    headers = {
        "Access-Control-Request-Method": "POST",
        "Origin": "https://app.example",
        "X-HTTP-Method-Override": "POST",
    }
    assert 503 == client.request("OPTIONS", "/upload", headers=headers).status


# -- memory ------------------------------------------------------------------------


def _wsgi_call(middleware: Any, path: str, method: str = "GET") -> str:
    import io

    seen: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),  # PEP 3333
        "wsgi.input": io.BytesIO(),
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.url_scheme": "http",
    }
    list(middleware(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen[0]


def test_long_wide_paths_cannot_pin_memory() -> None:
    """An anonymous client sending thousands of distinct long emoji paths
    (reads and blocked writes) grows the worker by a bounded amount: the
    classifier cache and the remembered verdicts are bounded in bytes."""
    import gc
    import tracemalloc

    from maintguard.wsgi import MaintenanceMiddleware

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    service = MaintenanceService()
    middleware = MaintenanceMiddleware(app, service)
    service.enable_maintenance("Upgrade")
    _wsgi_call(middleware, "/warm")
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(4000):
            _wsgi_call(middleware, f"/a/{i}/" + "\U0001f600" * 600)
            _wsgi_call(middleware, f"/b/{i}/" + "\U0001f600" * 600, "POST")
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 14 * 1024 * 1024, f"{grown / 1e6:.1f} MB"
    service.close()


def test_a_path_over_the_limit_is_judged_but_not_remembered(client: WSGIClient) -> None:
    """A 5 KiB path is blocked every time, and never kept."""
    client.service.enable_maintenance("Upgrade")
    path = "/upload/" + "\u00e9" * 5000
    statuses = [client.request("POST", path).status for _ in range(3)]
    responder = client.service.responder(client.service.view())
    assert [503, 503, 503] == statuses
    assert not [key for key in responder.verdicts if key[1] == path]


# -- notices to users ----------------------------------------------------------


def _heard(client: WSGIClient) -> list[Any]:
    events: list[Any] = []
    client.service.events.add(events.append)
    return events


def test_notify_on_enable_and_disable_sends_the_notices_users_read(client: WSGIClient) -> None:
    """``"notify": true`` on enable and on disable is accepted (not a 400)
    and the notifiers get the user-facing notices."""
    events = _heard(client)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    enabled = client.request(
        "POST", "/api/maintenance/enable", headers=auth,
        body=b'{"reason": "DB upgrade", "message": "Back soon", "notify": true}',
    )  # fmt: skip
    disabled = client.request(
        "POST", "/api/maintenance/disable", headers=auth, body=b'{"notify": true}'
    )
    client.service.events.drain()
    assert (200, 200) == (enabled.status, disabled.status)
    notices = [(e.to_dict()["event"], e.to_dict()["notice"]) for e in events]
    assert [
        ("activated", "Maintenance in progress: Back soon. Expected back by "),
        ("deactivated", "Services have resumed. Thank you for your patience."),
    ] == [(kind, notice[:53] if kind == "activated" else notice) for kind, notice in notices]


def test_without_notify_the_operators_hear_but_users_are_not_told(client: WSGIClient) -> None:
    """The default still alerts operators; the event asks no user notice."""
    events = _heard(client)
    client.service.enable_maintenance("DB upgrade")
    client.service.events.drain()
    assert [(True, False, None)] == [
        (e.kind.value == "activated", e.notify_users, e.to_dict()["notice"]) for e in events
    ]


def test_notify_on_schedule_says_maintenance_scheduled(client: WSGIClient) -> None:
    """A scheduled window's notice names its start."""
    from datetime import timedelta

    from maintguard.core.state import utcnow

    events = _heard(client)
    client.service.schedule_maintenance(
        "Planned", utcnow() + timedelta(hours=2), message="Planned upgrade", notify=True
    )
    client.service.events.drain()
    (event,) = events
    assert event.notice.startswith("Maintenance scheduled from ")
    assert event.notice.endswith(": Planned upgrade")


def test_notify_must_be_a_boolean(client: WSGIClient) -> None:
    """``"notify": "yes"`` is a 400 naming the field, and changes nothing."""
    answer = client.request(
        "POST", "/api/maintenance/enable", headers={"Authorization": f"Bearer {TOKEN}"},
        body=b'{"reason": "x", "notify": "yes"}',
    )  # fmt: skip
    assert (400, "notify", False) == (
        answer.status, answer.json()["field"], client.service.get_maintenance_status().is_active
    )  # fmt: skip


# -- custom operation types across processes -------------------------------------------


def test_a_custom_type_registered_elsewhere_keeps_the_state_readable(tmp_path: Any) -> None:
    """Another process (here: a subprocess) registers ``REPORT_EXPORT`` and
    starts a partial maintenance of it; this process never registered it,
    yet reads the state, enforces the built-in rules and shows the type."""
    import subprocess
    import sys

    from maintguard.stores.sql import SQLStore

    url = f"sqlite:///{tmp_path / 'maint.db'}"
    SQLStore.from_url(url).create_schema()
    name = f"REPORT_EXPORT_{abs(hash(str(tmp_path))) % 10**8}"  # unregistered here
    script = (
        "from maintguard import MaintenanceService, OperationType\n"
        f"OperationType.register({name!r})\n"
        f"MaintenanceService({url!r}).enable_maintenance("
        f"'Reports frozen', operations=[{name!r}, 'IMAGE_PROCESSING'])\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    service = MaintenanceService(url)
    status = service.get_maintenance_status()
    assert (True, None) == (status.is_active, status.override)
    assert sorted([name, "IMAGE_PROCESSING"]) == sorted(op.name for op in status.blocked_operations)
    from maintguard import RequestInfo

    assert service.decide(RequestInfo("POST", "/upload")).blocked
    service.close()


def test_registering_a_type_first_seen_in_stored_state_is_no_error() -> None:
    """A worker that read ``LATE_TYPE`` from the store, then imports the
    app's module that registers it, starts fine: the same type."""
    from maintguard import OperationType

    seen = OperationType.stored("LATE_TYPE_FROM_STORE")
    registered = OperationType.register("LATE_TYPE_FROM_STORE", "late exports")
    assert (seen, "late exports") == (registered, registered.description)


# -- exemptions by method -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/static/app.js", "/healthz/deep", "/api/health", "/favicon.ico"])
def test_a_post_under_a_static_or_health_prefix_is_not_exempt(
    client: WSGIClient, path: str
) -> None:
    """In an emergency, a POST under ``/static`` or ``/healthz`` (which a
    catch-all view might serve) is blocked; GET, HEAD and OPTIONS pass."""
    client.service.enable_emergency("Incident")
    assert (503, 200, 200, 200) == (
        client.request("POST", path).status,
        client.request("GET", path).status,
        client.request("HEAD", path).status,
        client.request("OPTIONS", path).status,
    )


@pytest.mark.parametrize(
    "path",
    ["/api/auth/register", "/api/auth/signup", "/api/auth/password-reset", "/login/password/reset"],
)
def test_sign_up_and_password_reset_are_user_data_modifications(
    client: WSGIClient, path: str
) -> None:
    """They write user data: blocked in normal maintenance, unlike a login."""
    client.service.enable_maintenance("Upgrade")
    assert (503, 200) == (
        client.request("POST", path).status,
        client.request("POST", "/api/auth/login").status,
    )


# -- scheduled emergencies ------------------------------------------------------------


@pytest.mark.parametrize("extra", ["ends_at", "operations"])
def test_a_scheduled_emergency_obeys_the_emergency_rules(client: WSGIClient, extra: str) -> None:
    """``schedule`` with ``mode: "emergency"`` refuses ``ends_at`` and
    ``operations`` (400 naming the field), as ``enable`` does."""
    import json
    from datetime import timedelta

    from maintguard.core.state import format_time, utcnow

    start = utcnow() + timedelta(hours=1)
    values = {
        "ends_at": format_time(start + timedelta(hours=1)),
        "operations": ["IMAGE_PROCESSING"],
    }
    data = {"reason": "x", "starts_at": format_time(start), "mode": "emergency"}
    body = json.dumps({**data, extra: values[extra]}).encode()
    answer = client.request(
        "POST", "/api/maintenance/schedule", headers={"Authorization": f"Bearer {TOKEN}"},
        body=body,
    )  # fmt: skip
    assert (400, extra, None) == (
        answer.status, answer.json()["field"], client.service.get_maintenance_status().upcoming
    )  # fmt: skip


# -- bypass cookie on HTTPS ----------------------------------------------------------------


def test_on_https_only_the_host_prefixed_bypass_cookie_counts(make_client: Any) -> None:
    """A valid cookie under the plain name (which a sibling subdomain or a
    plain-HTTP response could set) makes no admin on HTTPS."""
    from maintguard import RequestInfo

    client = make_client(bypass_cookie_secret="bypass-secret-0123456789abcdef")
    service = client.service
    service.enable_maintenance("Upgrade")
    https = RequestInfo("POST", "/upload", scheme="https")
    name, value, _ = service.bypass_cookie(https)
    plain = RequestInfo("POST", "/upload", scheme="https", cookies={"maintguard_bypass": value})
    hosted = RequestInfo("POST", "/upload", scheme="https", cookies={name: value})
    assert ("__Host-maintguard_bypass", True, False) == (
        name, service.decide(hosted).allowed, service.decide(plain).allowed
    )  # fmt: skip


# -- route declarations cover only their own route ---------------------------------------


def _flask_app() -> Any:
    from flask import Flask

    from maintguard.flask import init_app, operation

    app = Flask(__name__)

    @app.post("/api/search/<index>")
    @operation("READ_OPERATIONS")
    def search(index: str) -> str:
        return "searched"

    @app.post("/api/search/reindex")
    def reindex() -> str:
        return "reindexed"

    @app.post("/orders/<int:order>")
    @operation("READ_OPERATIONS")
    def order(order: int) -> str:
        return "order"

    @app.post("/orders/cancel-all")
    def cancel_all() -> str:
        return "cancelled"

    @app.post("/reports/summary")
    @operation("READ_OPERATIONS")
    def summary() -> str:
        return "summary"

    service = MaintenanceService()
    init_app(app, service)
    return app, service


@pytest.mark.parametrize("path", ["/api/search/reindex", "/orders/cancel-all"])
def test_a_converter_declaration_does_not_loosen_a_static_route(path: str) -> None:
    """``@operation`` on ``POST /api/search/<index>`` (or ``<int:order>``)
    does not make the static ``POST /api/search/reindex`` Werkzeug prefers
    (or ``/orders/cancel-all``) a read: it stays blocked."""
    app, service = _flask_app()
    service.enable_maintenance("Upgrade")
    assert 503 == app.test_client().post(path).status_code
    service.close()


def test_a_static_declaration_still_loosens_its_own_route() -> None:
    """A declaration on a route without converters keeps its full power."""
    app, service = _flask_app()
    service.enable_maintenance("Upgrade")
    assert 200 == app.test_client().post("/reports/summary").status_code
    service.close()
