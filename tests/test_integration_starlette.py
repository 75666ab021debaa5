"""maintguard.starlette: real Starlette and FastAPI apps protected through ``install``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from maintguard import MaintenanceService, OperationType
from maintguard.starlette import install, operation, register_routes, route_patterns


class TestClient:
    """A synchronous client over ``httpx.ASGITransport`` (one event loop per request)."""

    __test__ = False

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, path, **options)

        return asyncio.run(send())

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService()
    yield service
    service.close()


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("home")


async def comment(request: Request) -> PlainTextResponse:
    return PlainTextResponse("created", status_code=201)


async def report(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"report {request.path_params['report_id']}")


@operation(OperationType.JOB_CREATION)
async def export(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"export {request.path_params['report_id']}")


def starlette_app(service: MaintenanceService) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/comments", comment, methods=["POST"]),
            Route("/reports/{report_id:int}", report),
            Route("/reports/{report_id:int}/export", export),
            Mount("/v1", routes=[Route("/reports/{report_id:int}/export", export)]),
        ]
    )
    install(app, service)
    return app


def fastapi_app(service: MaintenanceService) -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/tenants/{tenant}")

    @app.get("/reports/{report_id}")
    async def read_report(report_id: int) -> dict[str, int]:
        return {"report": report_id}

    @app.get("/reports/{report_id}/export")
    @operation("JOB_CREATION")
    async def export_report(report_id: int) -> dict[str, int]:
        return {"export": report_id}

    @operation(OperationType.READ_OPERATIONS)
    @app.post("/search")
    async def search() -> dict[str, list[str]]:
        return {"results": []}

    @router.post("/uploads")
    @operation("IMAGE_PROCESSING")
    async def tenant_upload(tenant: str) -> dict[str, str]:
        return {"tenant": tenant}

    app.include_router(router)
    install(app, service)
    return app


def test_normal_maintenance_blocks_a_write_route(service: MaintenanceService) -> None:
    """A POST to a write route answers 503 during normal maintenance."""
    client = TestClient(starlette_app(service))
    service.enable_maintenance("Database upgrade")
    assert 503 == client.post("/comments").status_code


def test_normal_maintenance_serves_reads(service: MaintenanceService) -> None:
    """A GET reaches the endpoint during normal maintenance."""
    client = TestClient(starlette_app(service))
    service.enable_maintenance("Database upgrade")
    response = client.get("/reports/7")
    assert (200, "report 7") == (response.status_code, response.text)


def test_declared_get_route_is_blocked_as_its_declared_operation(
    service: MaintenanceService,
) -> None:
    """@operation(JOB_CREATION) on a GET endpoint beats the default "GET is a read" rule."""
    client = TestClient(starlette_app(service))
    service.enable_maintenance("Database upgrade")
    response = client.get("/reports/7/export", headers={"Accept": "application/json"})
    assert (503, "JOB_CREATION") == (response.status_code, response.json()["operation_type"])


def test_declared_route_inside_a_mount_carries_the_mount_prefix(
    service: MaintenanceService,
) -> None:
    """A declared route under Mount("/v1") is declared at /v1/…."""
    client = TestClient(starlette_app(service))
    service.enable_maintenance("Database upgrade")
    assert 503 == client.get("/v1/reports/7/export").status_code


def test_route_patterns_are_anchored_starlette_regexes() -> None:
    """Route regexes are joined with their mount prefix, without group names."""
    routes = [Mount("/v1/{tenant}", routes=[Route("/reports/{report_id:int}/export", export)])]
    expected = [
        (
            r"^/v1/(?:[^/]+)/reports/(?:[0-9]+)/export$",
            frozenset({"GET", "HEAD"}),
            OperationType.JOB_CREATION,
        )
    ]
    assert expected == list(route_patterns(routes))


def test_http_endpoint_class_can_be_declared(service: MaintenanceService) -> None:
    """@operation on an HTTPEndpoint class declares the route for every method."""

    @operation("BATCH_OPERATIONS")
    class Nightly(HTTPEndpoint):
        async def get(self, request: Request) -> PlainTextResponse:
            return PlainTextResponse("batch")

    app = Starlette(routes=[Mount("/jobs", app=Starlette(routes=[Route("/nightly", Nightly)]))])
    install(app, service)
    service.enable_maintenance("Upgrade")
    assert 503 == TestClient(app).get("/jobs/nightly").status_code


def test_register_routes_adds_each_declaration_once(service: MaintenanceService) -> None:
    """Calling register_routes again after install adds nothing twice."""
    app = starlette_app(service)
    assert 0 == register_routes(app, service)


def test_control_api_is_served(service: MaintenanceService) -> None:
    """install puts the control API in front of the app's routes."""
    response = TestClient(starlette_app(service)).get("/api/maintenance/status")
    assert (200, False) == (response.status_code, response.json()["is_active"])


def test_fastapi_declared_endpoint_is_blocked(service: MaintenanceService) -> None:
    """A FastAPI GET endpoint declared JOB_CREATION answers 503; its undecorated sibling serves."""
    client = TestClient(fastapi_app(service))
    service.enable_maintenance("Database upgrade")
    assert (503, 200) == (
        client.get("/reports/7/export").status_code,
        client.get("/reports/7").status_code,
    )


def test_fastapi_post_declared_a_read_is_served(service: MaintenanceService) -> None:
    """A POST declared READ_OPERATIONS is served; undeclared, an unsafe method is blocked."""
    client = TestClient(fastapi_app(service))
    service.enable_maintenance("Database upgrade")
    assert 200 == client.post("/search").status_code


def test_fastapi_router_prefix_is_part_of_the_declaration(service: MaintenanceService) -> None:
    """A declared endpoint of an included router is declared under the router's prefix."""
    fastapi_app(service)
    classifier = service.classifier
    assert (OperationType.IMAGE_PROCESSING, OperationType.UNKNOWN) == (
        classifier.classify_operation("/tenants/acme/uploads", "POST"),
        classifier.classify_operation("/tenants/acme/uploads/x", "POST"),
    )


def test_unknown_operation_type_fails_at_decoration() -> None:
    """A typo in @operation fails when the module is imported, not per request."""
    with pytest.raises(ValueError, match="NOT_A_TYPE"):
        operation("NOT_A_TYPE")


def test_register_routes_twice_adds_get_routes_once() -> None:
    """A second call finds the GET route's rule (stored with HEAD) already there."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from maintguard import MaintenanceService
    from maintguard.starlette import operation, register_routes

    @operation("JOB_CREATION")
    async def export(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/reports/export", export, methods=["GET"])])
    service = MaintenanceService()
    assert (1, 0) == (register_routes(app, service), register_routes(app, service))
