"""The control API as a FastAPI router, so it appears in the app's OpenAPI schema.

The maintenance middleware answers these paths before any route (so the
API works whatever the app's routes and dependencies do); the router's
routes describe them in ``/openapi.json`` and ``/docs`` and answer the same
way should a request reach them.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse

from maintguard.adapters.asgi import request_info
from maintguard.control.api import ControlAPI, Pending
from maintguard.core.responses import Response
from maintguard.service import MaintenanceService

__all__ = ["control_router"]

_SUMMARIES = {
    "status": "Maintenance status (anyone)",
    "blocked": "Blocked operation types and attempt counts (anyone)",
    "openapi": "OpenAPI description of the control API (anyone)",
    "health": "maintguard's own health (anyone)",
    "enable": "Switch maintenance on (bearer token)",
    "emergency": "Emergency maintenance (bearer token)",
    "disable": "Switch maintenance off (bearer token)",
    "schedule": "Plan or cancel a maintenance window (bearer token)",
    "audit": "Audit trail, newest first (bearer token)",
    "report": "Test-mode report (bearer token)",
    "bypass": "Set the admin bypass cookie (bearer token)",
}


def _to_starlette(response: Response) -> StarletteResponse:
    answer = StarletteResponse(response.body, status_code=response.status)
    for name, value in response.headers:
        answer.headers.append(name, value)
    return answer


async def _body(request: Request, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def control_router(service: MaintenanceService) -> Any:
    """An ``APIRouter`` with one route per control endpoint (tag ``maintguard``)."""
    from fastapi import APIRouter

    api = ControlAPI(service)
    router = APIRouter(tags=["maintguard"])

    async def serve(request: Request) -> StarletteResponse:
        scope = request.scope
        info = request_info(scope, scope.get("path") or "/")
        answer = await sync_to_async(api.route, thread_sensitive=False)(info)
        if isinstance(answer, Pending):
            body = await _body(request, answer.limit)
            handle = sync_to_async(api.handle, thread_sensitive=False)
            answer = await handle(answer, info, body)
        return _to_starlette(answer)

    for path, endpoint in api.endpoints.items():
        for method in endpoint.methods:
            if method == "HEAD":
                continue
            router.add_api_route(
                path,
                serve,
                methods=[method],
                summary=_SUMMARIES.get(endpoint.name, endpoint.name),
                operation_id=f"maintguard_{endpoint.name}_{method.lower()}",
                response_class=StarletteResponse,
            )
    return router
