"""maintguard.starlette as a FastAPI/Starlette developer wires it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from maintguard import MaintenanceService
from maintguard.starlette import admin_dependency, install


class HeaderUsers(AuthenticationBackend):
    """``X-User: name`` logs in; ``ada`` is an admin."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Any] | None:
        name = conn.headers.get("x-user")
        if not name:
            return None
        user = SimpleUser(name)
        user.is_admin = name == "ada"  # type: ignore[attr-defined]
        return AuthCredentials(["authenticated"]), user


def call(app: Any, method: str, path: str, **options: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, path, **options)

    return asyncio.run(send())


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService()
    yield service
    service.close()


def _request_user_is_admin(request: Request) -> bool:
    return getattr(request.user, "is_admin", False) is True


@pytest.mark.parametrize("auth_first", [True, False])
def test_request_user_admin_passes_whatever_the_middleware_order(
    service: MaintenanceService, auth_first: bool
) -> None:
    """AuthenticationMiddleware added before or after install(): request.user decides."""
    app = FastAPI()

    @app.post("/upload")
    async def upload() -> dict[str, bool]:
        return {"ok": True}

    if auth_first:
        app.add_middleware(AuthenticationMiddleware, backend=HeaderUsers())
    install(app, service, is_admin=_request_user_is_admin)
    if not auth_first:
        app.add_middleware(AuthenticationMiddleware, backend=HeaderUsers())
    service.enable_maintenance("Upgrade")
    assert 200 == call(app, "POST", "/upload", headers={"X-User": "ada"}).status_code
    assert 503 == call(app, "POST", "/upload", headers={"X-User": "bob"}).status_code
    assert 503 == call(app, "POST", "/upload").status_code


def test_a_fastapi_dependency_marks_the_admin(service: MaintenanceService) -> None:
    """admin_dependency(check): the route's own dependency decides; others get 503."""

    def current_user(request: Request) -> str | None:
        return request.headers.get("x-user")

    def is_admin(user: str | None = Depends(current_user)) -> bool:
        return user == "ada"

    app = FastAPI(dependencies=[Depends(admin_dependency(is_admin))])

    @app.post("/jobs")
    async def jobs() -> dict[str, bool]:
        return {"ok": True}

    install(app, service)
    service.enable_maintenance("Upgrade")
    assert 200 == call(app, "POST", "/jobs", headers={"X-User": "ada"}).status_code
    headers = {"X-User": "bob", "Accept": "application/json"}
    blocked = call(app, "POST", "/jobs", headers=headers)
    assert (503, "maintenance") == (blocked.status_code, blocked.json()["error"])


def test_install_keeps_the_users_app(service: MaintenanceService) -> None:
    """install() returns the FastAPI app itself: routes can still be added and served."""
    app = FastAPI()
    assert app is install(app, service)

    @app.get("/later")
    async def later() -> dict[str, bool]:
        return {"later": True}

    assert {"later": True} == call(app, "GET", "/later").json()


def test_the_control_api_appears_in_the_apps_openapi(service: MaintenanceService) -> None:
    """The control endpoints are in /openapi.json, tagged maintguard, without warnings."""
    app = FastAPI()
    install(app, service)
    paths = call(app, "GET", "/openapi.json").json()["paths"]
    assert "maintguard" in paths["/api/maintenance/enable"]["post"]["tags"]
    assert {"post", "delete"} == set(paths["/api/maintenance/schedule"])


def test_lifespan_starts_and_stops_the_service(service: MaintenanceService) -> None:
    """The app's lifespan starts the snapshot refresher and stops it at shutdown."""
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("home"))])
    install(app, service)

    async def run() -> tuple[bool, bool]:
        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent: list[str] = []
        started: list[bool] = []

        async def receive() -> dict[str, str]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                started.append(service.snapshot._started)

        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
        assert ["lifespan.startup.complete", "lifespan.shutdown.complete"] == sent
        return started[0], service.snapshot._started

    assert (True, False) == asyncio.run(run())


def test_staticfiles_mounts_pass_reads_in_an_emergency(
    service: MaintenanceService, tmp_path: Path
) -> None:
    """A StaticFiles mount is exempt for GET in an emergency; other routes are not."""
    (tmp_path / "site.css").write_text("body{}")
    app = Starlette(
        routes=[
            Route("/", lambda request: PlainTextResponse("home")),
            Mount("/assets", app=StaticFiles(directory=tmp_path)),
        ]
    )
    install(app, service)
    service.enable_emergency("Incident", background=False)
    assert 200 == call(app, "GET", "/assets/site.css").status_code
    assert 503 == call(app, "GET", "/").status_code


def test_test_mode_marks_a_dependency_route_as_simulated(service: MaintenanceService) -> None:
    """In test mode the dependency route is served, marked X-Maintenance-Simulated."""

    def nobody(request: Request) -> bool:
        return False

    app = FastAPI(dependencies=[Depends(admin_dependency(nobody))])

    @app.post("/jobs")
    async def jobs() -> dict[str, bool]:
        return {"ok": True}

    install(app, service)
    service.enable_maintenance("Rehearsal", mode="test")
    answer = call(app, "POST", "/jobs")
    assert (200, "blocked") == (answer.status_code, answer.headers["x-maintenance-simulated"])
