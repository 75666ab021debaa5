"""Starlette and FastAPI integration: ``install(app, service)``.

Thin on purpose: the pure ASGI adapter does the work; this module adds it
with ``app.add_middleware`` and turns ``@operation(...)`` declarations into
route rules. A FastAPI app is a Starlette app, so the same calls apply::

    app = FastAPI()

    @app.get("/reports/{report_id}/export")
    @operation(OperationType.JOB_CREATION)
    async def export(report_id: int) -> dict[str, str]: ...

    install(app, service)  # after the routes: it reads the route table once

Routes added after ``install`` are declared by calling
``register_routes(app, service)`` again; nothing is looked up per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Host, Mount, compile_path

from maintguard.adapters.asgi import MaintenanceMiddleware
from maintguard.adapters.routes import add_route_rules, declared_operation, operation
from maintguard.core.operations import OperationType
from maintguard.service import MaintenanceService

__all__ = ["install", "operation", "register_routes", "route_patterns"]

F = TypeVar("F", bound=Callable[..., Any])

# Group names would clash once a mount's pattern and a route's are joined.
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


def install(app: Starlette, service: MaintenanceService) -> None:
    """Register ``app``'s declared routes and add the maintenance middleware.

    Call it before the app starts serving (Starlette refuses middleware
    added later).
    """
    register_routes(app, service)
    app.add_middleware(MaintenanceMiddleware, service=service)


def register_routes(app: Starlette, service: MaintenanceService) -> int:
    """Add a route rule for each route of an ``@operation`` endpoint.

    Mounted sub-routes (and sub-applications) are included with their
    mount's prefix. Idempotent: call it again after adding routes. Returns
    how many rules were added.
    """
    return add_route_rules(service.classifier, route_patterns(app.routes))


def route_patterns(
    routes: Iterable[BaseRoute], prefix: str = ""
) -> Iterator[tuple[str, frozenset[str] | None, OperationType]]:
    """``(anchored regex, methods, declared type)`` for each declared route."""
    for route in routes:
        if isinstance(route, Mount):
            yield from route_patterns(route.routes, prefix + _mount_prefix(route))
            continue
        if isinstance(route, Host):
            yield from route_patterns(route.routes, prefix)
            continue
        for endpoint_route in _expanded(route):
            declared = declared_operation(getattr(endpoint_route, "endpoint", None))
            regex = getattr(endpoint_route, "path_regex", None)
            if declared is None or not isinstance(regex, re.Pattern):
                continue
            methods = getattr(endpoint_route, "methods", None)
            yield (
                _anchored(prefix + _body(regex.pattern)),
                frozenset(methods) if methods else None,
                declared,
            )


def _expanded(route: BaseRoute) -> Iterable[object]:
    """The routes behind ``route``: itself, or what a FastAPI router include holds.

    Recent FastAPI keeps ``include_router`` routes behind one entry and
    resolves them with the router's prefix through ``iter_route_contexts``.
    """
    if hasattr(route, "path_regex") or not type(route).__module__.startswith("fastapi."):
        return (route,)
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies included routes into app.routes
        return (route,)
    return iter_route_contexts([route])


def _mount_prefix(mount: Mount) -> str:
    return _body(compile_path(mount.path)[0].pattern)


def _body(pattern: str) -> str:
    """A Starlette path regex without its anchors and group names."""
    return _NAMED_GROUP.sub("(?:", pattern.removeprefix("^").removesuffix("$"))


def _anchored(body: str) -> str:
    # Starlette redirects "/x" and "/x/" to each other, and the classifier's
    # normalised reading drops a trailing slash: accept both spellings.
    if len(body) > 1 and body.endswith("/"):
        body = body[:-1] + "/?"
    return f"^{body}$"
