"""maintguard.flask as a Flask developer wires it: Flask-Login, decorators, CLI, exemptions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin, current_user, login_user

from maintguard import MaintenanceService
from maintguard.flask import Maintenance

SECRET = "flask-native-secret-key-0123456789"


class User(UserMixin):
    def __init__(self, name: str, admin: bool) -> None:
        self.id = name
        self.is_admin = admin


USERS = {"ada": User("ada", True), "bob": User("bob", False)}


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService(exempt_paths="/metrics")
    yield service
    service.close()


def build(service: MaintenanceService, tmp_path: Path) -> Flask:
    (tmp_path / "files").mkdir(exist_ok=True)
    (tmp_path / "files" / "site.css").write_text("body{}")
    app = Flask(__name__, static_folder=str(tmp_path / "files"), static_url_path="/assets")
    app.secret_key = SECRET
    manager = LoginManager(app)
    maintenance = Maintenance(
        is_admin=lambda: current_user.is_authenticated and current_user.is_admin
    )

    @manager.user_loader
    def load(user_id: str) -> User | None:
        return USERS.get(user_id)

    @app.before_request
    def remember_who() -> None:
        g.seen_by_before_request = True

    @app.post("/login/<name>")
    def login(name: str) -> str:
        login_user(USERS[name])
        return "ok"

    @app.get("/whoami")
    def whoami() -> str:
        return current_user.id if current_user.is_authenticated else "anonymous"

    @app.post("/upload")
    def upload() -> tuple[str, int]:
        return "uploaded", 201

    @app.get("/reports/<int:number>/export")
    @maintenance.operation("JOB_CREATION")
    def export(number: int) -> str:
        return f"export {number}"

    @app.post("/hooks/payment")
    @maintenance.exempt
    def hook() -> str:
        return "received"

    @app.get("/metrics")
    def metrics() -> str:
        return "up 1"

    maintenance.init_app(app, service)
    return app


@pytest.fixture
def app(service: MaintenanceService, tmp_path: Path) -> Flask:
    return build(service, tmp_path)


def _logged_in(app: Flask, name: str) -> FlaskClient:
    client = app.test_client()
    assert 200 == client.post(f"/login/{name}").status_code
    return client


def test_a_flask_login_admin_passes_a_blocked_route(
    service: MaintenanceService, app: Flask
) -> None:
    """is_admin reads current_user inside the request context: the admin's write passes."""
    ada = _logged_in(app, "ada")
    service.enable_maintenance("Upgrade")
    assert 201 == ada.post("/upload").status_code


def test_a_flask_login_plain_user_gets_503(service: MaintenanceService, app: Flask) -> None:
    """A logged-in non-admin is blocked like anyone."""
    bob = _logged_in(app, "bob")
    service.enable_maintenance("Upgrade")
    assert 503 == bob.post("/upload").status_code


def test_a_session_made_before_maintenance_ends_with_it(
    service: MaintenanceService, app: Flask
) -> None:
    """The signed cookie session of a non-admin, made before, is cleared on
    the next request during maintenance; the read is served logged out."""
    bob = _logged_in(app, "bob")
    assert "bob" == bob.get("/whoami").text
    service.enable_maintenance("Upgrade")
    assert "anonymous" == bob.get("/whoami").text
    service.disable_maintenance()
    assert "anonymous" == bob.get("/whoami").text


def test_an_admin_keeps_the_session(service: MaintenanceService, app: Flask) -> None:
    """The admin's session, made before maintenance, survives it."""
    ada = _logged_in(app, "ada")
    service.enable_maintenance("Upgrade")
    assert "ada" == ada.get("/whoami").text
    service.disable_maintenance()
    assert "ada" == ada.get("/whoami").text


def test_an_admin_logging_in_during_maintenance_keeps_that_session(
    service: MaintenanceService, app: Flask
) -> None:
    """A session made during the maintenance is not ended by it."""
    service.enable_maintenance("Upgrade")
    ada = _logged_in(app, "ada")
    assert "ada" == ada.get("/whoami").text


def test_test_mode_ends_no_session(service: MaintenanceService, app: Flask) -> None:
    """Test mode blocks nothing and logs nobody out."""
    bob = _logged_in(app, "bob")
    service.enable_maintenance("Rehearsal", mode="test")
    assert "bob" == bob.get("/whoami").text


def test_operation_blocks_a_get_that_starts_a_job(service: MaintenanceService, app: Flask) -> None:
    """@maintenance.operation("JOB_CREATION") on a GET view: 503 in normal maintenance."""
    service.enable_maintenance("Upgrade")
    assert 503 == app.test_client().get("/reports/4/export").status_code
    assert 200 == app.test_client().get("/whoami").status_code


def test_exempt_serves_a_post_in_an_emergency(service: MaintenanceService, app: Flask) -> None:
    """@maintenance.exempt: the view answers even in an emergency."""
    service.enable_emergency("Incident", background=False)
    assert 200 == app.test_client().post("/hooks/payment").status_code


def test_the_static_url_and_exempt_paths_pass_reads_in_an_emergency(
    service: MaintenanceService, app: Flask
) -> None:
    """The app's static_url_path and exempt_paths serve GET in an emergency; a POST there does not."""
    service.enable_emergency("Incident", background=False)
    client = app.test_client()
    with client.get("/assets/site.css") as answer:  # closes the file it streams
        assert 200 == answer.status_code
    assert 200 == client.get("/metrics").status_code
    assert 503 == client.post("/metrics").status_code


def test_flask_maintguard_runs_the_cli_with_the_apps_service(
    service: MaintenanceService, tmp_path: Path
) -> None:
    """`flask maintguard status` uses the app's service; memory:// is refused with a clear line."""
    app = build(service, tmp_path)
    result = app.test_cli_runner().invoke(args=["maintguard", "status"])
    assert 0 != result.exit_code
    assert "MAINTENANCE_STORE_URL" in result.output


def test_flask_maintguard_enable_switches_a_shared_store(tmp_path: Path) -> None:
    """With a SQLite store, `flask maintguard enable` switches the app's state."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    service = MaintenanceService(url)
    service.store.create_schema()  # type: ignore[attr-defined]
    app = build(service, tmp_path)
    result = app.test_cli_runner().invoke(args=["maintguard", "enable", "--reason", "Upgrade"])
    assert 0 == result.exit_code, result.output
    service.snapshot.refresh()
    assert service.get_maintenance_status().is_active
    service.close()


def test_is_admin_runs_after_before_request_handlers(service: MaintenanceService) -> None:
    """A user loaded into ``g`` by a before_request handler is known to is_admin."""
    app = Flask(__name__)

    @app.before_request
    def load_user() -> None:
        g.role = "admin" if app.config.get("ROLE_HEADER") is None else "user"

    @app.post("/upload")
    def upload() -> tuple[str, int]:
        return "uploaded", 201

    Maintenance(app, service, is_admin=lambda: g.get("role") == "admin")
    service.enable_maintenance("Upgrade")
    assert 201 == app.test_client().post("/upload").status_code
    app.config["ROLE_HEADER"] = "x"
    assert 503 == app.test_client().post("/upload").status_code


def test_an_app_that_never_reads_the_session_gets_no_vary_cookie(
    service: MaintenanceService,
) -> None:
    """Outside maintenance, maintguard does not touch the session (no Vary: Cookie)."""
    app = Flask(__name__)
    app.secret_key = SECRET

    @app.post("/upload")
    def upload() -> tuple[str, int]:
        return "uploaded", 201

    Maintenance(app, service)
    answer = app.test_client().post("/upload")
    assert 201 == answer.status_code
    assert "Cookie" not in answer.headers.get("Vary", "")


def test_with_the_feature_switched_off_nobody_is_logged_out(tmp_path: Path) -> None:
    """maintenance_mode_enabled=False passes everything and ends no session."""
    service = MaintenanceService(maintenance_mode_enabled=False)
    app = build(service, tmp_path)
    bob = _logged_in(app, "bob")
    service.enable_maintenance("Upgrade")
    assert ("bob", 201) == (bob.get("/whoami").text, bob.post("/upload").status_code)
    service.close()
