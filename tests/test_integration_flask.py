"""maintguard.flask: a real Flask app protected through ``init_app``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, Response, jsonify, session
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from flask.views import MethodView

from maintguard import ConfigurationError, MaintenanceService, OperationType
from maintguard.flask import (
    current_service,
    init_app,
    operation,
    register_routes,
    rule_pattern,
    session_admin,
)

SECRET_KEY = "flask-test-secret-key-0123456789"


def create_app(service: MaintenanceService) -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET_KEY

    @app.get("/")
    def index() -> str:
        return "home"

    @app.post("/login/<name>")
    def login(name: str) -> tuple[Response, int]:
        is_admin = name == "root"
        if not current_service().check_login(is_admin=is_admin):
            return jsonify(error="logins are paused"), 503
        session["user"] = name
        session["role"] = "admin" if is_admin else "user"
        return jsonify(user=name), 200

    @app.post("/comments")
    def comment() -> tuple[str, int]:
        return "created", 201

    @app.get("/reports/<int:report_id>")
    def report(report_id: int) -> str:
        return f"report {report_id}"

    @app.get("/reports/<int:report_id>/export")
    @operation(OperationType.JOB_CREATION)
    def export(report_id: int) -> str:
        return f"export {report_id}"

    @operation("READ_OPERATIONS")
    @app.route("/api/jobs/preview", methods=["POST"])
    def preview() -> str:
        return "preview"

    @app.get("/service")
    def which_service() -> str:
        return "same" if current_service() is service else "other"

    init_app(app, service)
    return app


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService(is_admin=session_admin(lambda s: s.get("role") == "admin"))
    yield service
    service.close()


@pytest.fixture
def app(service: MaintenanceService) -> Flask:
    return create_app(service)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_normal_maintenance_blocks_a_write_route(
    service: MaintenanceService, client: FlaskClient
) -> None:
    """A POST to a write route answers 503 during normal maintenance."""
    service.enable_maintenance("Database upgrade")
    assert 503 == client.post("/comments").status_code


def test_normal_maintenance_serves_reads(service: MaintenanceService, client: FlaskClient) -> None:
    """A GET reaches the view during normal maintenance."""
    service.enable_maintenance("Database upgrade")
    response = client.get("/reports/7")
    assert (200, b"report 7") == (response.status_code, response.data)


def test_declared_get_route_is_blocked_as_its_declared_operation(
    service: MaintenanceService, client: FlaskClient
) -> None:
    """@operation(JOB_CREATION) on a GET beats the default "GET is a read" rule."""
    service.enable_maintenance("Database upgrade")
    response = client.get("/reports/7/export", headers={"Accept": "application/json"})
    assert (503, "JOB_CREATION") == (response.status_code, response.json["operation_type"])


def test_declaration_beats_a_stricter_default_rule(
    service: MaintenanceService, client: FlaskClient
) -> None:
    """A POST under /api/jobs declared a read is served, although the default says JOB_CREATION."""
    service.enable_maintenance("Database upgrade")
    assert 200 == client.post("/api/jobs/preview").status_code


def test_declaration_is_limited_to_the_rule_methods(service: MaintenanceService) -> None:
    """A declared GET-only route classifies only GET/HEAD; another method falls to the rules."""
    classifier = service.classifier
    create_app(service)
    assert OperationType.JOB_CREATION == classifier.classify_operation("/reports/7/export", "GET")
    assert OperationType.UNKNOWN == classifier.classify_operation("/reports/7/export", "DELETE")


def test_rule_pattern_turns_converters_into_segment_regexes(app: Flask) -> None:
    """Each converter matches one segment; literal text is escaped and anchored."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "export")
    assert r"^/reports/[^/]+/export$" == rule_pattern(rule, app)


def test_rule_pattern_lets_a_path_converter_span_segments(service: MaintenanceService) -> None:
    """A ``path`` converter matches across slashes; dots are literal."""
    app = Flask(__name__)

    @app.get("/files/<path:name>.txt")
    @operation("IMAGE_PROCESSING")
    def file(name: str) -> str:
        return name

    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "file")
    assert r"^/files/.+\.txt$" == rule_pattern(rule, app)
    init_app(app, service)
    assert "IMAGE_PROCESSING" == service.classifier.classify_operation("/files/a/b.txt")


def test_method_view_class_can_be_declared(service: MaintenanceService) -> None:
    """@operation on a MethodView class declares every method of its rule."""
    app = Flask(__name__)

    @operation("BATCH_OPERATIONS")
    class Batch(MethodView):
        def get(self) -> str:
            return "batch"

    app.add_url_rule("/nightly", view_func=Batch.as_view("nightly"))
    init_app(app, service)
    service.enable_maintenance("Upgrade")
    assert 503 == app.test_client().get("/nightly").status_code


def test_routes_added_after_init_app_are_declared_by_register_routes(
    service: MaintenanceService, app: Flask
) -> None:
    """register_routes picks up later routes and adds nothing twice."""

    @app.get("/late")
    @operation("BATCH_OPERATIONS")
    def late() -> str:
        return "late"

    assert (1, 0) == (register_routes(app, service), register_routes(app, service))
    service.enable_maintenance("Upgrade")
    assert 503 == app.test_client().get("/late").status_code


def test_init_app_twice_is_a_configuration_error(service: MaintenanceService, app: Flask) -> None:
    """A second init_app would wrap the app twice: it is refused."""
    with pytest.raises(ConfigurationError, match="already called"):
        init_app(app, service)


def test_current_service_is_the_one_given_to_init_app(client: FlaskClient) -> None:
    """current_service() returns the app's service inside a request."""
    assert b"same" == client.get("/service").data


def test_control_api_is_served(client: FlaskClient) -> None:
    """init_app puts the control API in front of the app's routes."""
    response = client.get("/api/maintenance/status")
    assert (200, False) == (response.status_code, response.json["is_active"])


def test_logged_in_admin_session_passes_during_an_emergency(
    service: MaintenanceService, client: FlaskClient
) -> None:
    """The app's own signed session says "admin": the emergency lets it through."""
    assert 200 == client.post("/login/root").status_code
    service.enable_emergency("Incident")
    assert 200 == client.get("/").status_code


def test_non_admin_session_is_blocked_during_an_emergency(
    service: MaintenanceService, client: FlaskClient
) -> None:
    """A logged-in ordinary user is blocked like anyone else."""
    assert 200 == client.post("/login/alice").status_code
    service.enable_emergency("Incident")
    assert 503 == client.get("/").status_code


def test_forged_admin_session_cookie_is_not_admin(
    service: MaintenanceService, app: Flask, client: FlaskClient
) -> None:
    """A session claiming admin but signed with another key opens empty: blocked, not 500."""
    forger = Flask("forger")
    forger.secret_key = "not-the-apps-secret-key-98765"
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert serializer is not None
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], serializer.dumps({"role": "admin"}))
    service.enable_emergency("Incident")
    assert 503 == client.get("/").status_code


def test_garbage_session_cookie_is_not_admin(
    service: MaintenanceService, app: Flask, client: FlaskClient
) -> None:
    """An admin cookie with its signature tampered with is blocked, not 500."""
    client.post("/login/root")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    # Flip the signature's first character: its last one may only carry
    # padding bits that base64 ignores.
    signed, _, signature = cookie.value.rpartition(".")
    flipped = "A" if signature[0] != "A" else "B"
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], f"{signed}.{flipped}{signature[1:]}")
    service.enable_emergency("Incident")
    assert 503 == client.get("/").status_code


def test_login_of_a_non_admin_is_refused_during_maintenance(
    service: MaintenanceService, client: FlaskClient
) -> None:
    """The login route stays reachable; check_login refuses a non-admin."""
    service.enable_maintenance("Upgrade")
    assert (503, 200) == (
        client.post("/login/alice").status_code,
        client.post("/login/root").status_code,
    )


def test_unknown_operation_type_fails_at_decoration() -> None:
    """A typo in @operation fails when the module is imported, not per request."""
    with pytest.raises(ValueError, match="NOT_A_TYPE"):
        operation("NOT_A_TYPE")
