"""Starlette and FastAPI integration: ``install(app, service)``.

Thin on purpose: the pure ASGI adapter does the work; this module adds it
with ``app.add_middleware`` and turns ``@operation(...)`` declarations into
route rules. A FastAPI app is a Starlette app, so the same calls apply::

    app = FastAPI()

    @app.get("/reports/{report_id}/export")
    @operation(OperationType.JOB_CREATION)
    async def export(report_id: int) -> dict[str, str]: ...

    install(app, service, is_admin=lambda request: request.user.is_admin)
    # after the routes: it reads the route table once; ``app`` stays a FastAPI

Routes added after ``install`` are declared by calling
``register_routes(app, service)`` again; nothing is looked up per request.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute, Host, Mount, compile_path
from starlette.staticfiles import StaticFiles

from maintguard.adapters.asgi import MaintenanceMiddleware
from maintguard.adapters.routes import add_route_rules, declared_operation, exempt, operation
from maintguard.adapters.starlette_api import control_router
from maintguard.adapters.starlette_guard import (
    MaintenanceBlocked,
    NobodyYet,
    RequestAdmin,
    RouterGuard,
    admin_dependency,
    blocked_handler,
    has_admin_dependency,
)
from maintguard.core.operations import OperationType
from maintguard.service import MaintenanceService

__all__ = [
    "MaintenanceBlocked",
    "admin_dependency",
    "exempt",
    "install",
    "operation",
    "register_routes",
    "route_patterns",
    "static_prefixes",
]

F = TypeVar("F", bound=Callable[..., Any])

# Group names would clash once a mount's pattern and a route's are joined.
_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


def install(
    app: Starlette,
    service: MaintenanceService,
    *,
    is_admin: Callable[[Request], object] | None = None,
    api_router: bool = True,
) -> Starlette:
    """Protect ``app`` with ``service``; returns ``app`` itself (still the
    user's app: ``app.get``, ``app.include_router`` keep working).

    - adds the maintenance middleware with ``app.add_middleware`` (outermost),
      and a guard around the router (innermost), where ``request.user`` and
      ``request.session`` are known whatever the middleware order;
    - ``is_admin(request)`` (sync or async; only ``True`` is an admin) is the
      resolver, e.g. ``lambda r: r.user.is_authenticated and r.user.is_admin``;
    - registers the declared routes, exempts ``StaticFiles`` mounts for reads;
    - FastAPI: includes the control API as a router (``api_router=False``
      leaves it out of the app's OpenAPI schema), and answers a blocked
      ``admin_dependency`` with the 503;
    - the app's lifespan starts the service's background work and stops it.

    Call it after declaring the routes, before the app starts serving
    (Starlette refuses middleware added later).
    """
    if is_admin is not None:
        service.is_admin_resolver = RequestAdmin(is_admin)
    elif service.is_admin_resolver is None and has_admin_dependency(app.router.routes):
        service.is_admin_resolver = NobodyYet()  # decisions wait for the dependency
    register_routes(app, service)
    for prefix in static_prefixes(app.routes):
        service.classifier.add_exempt(prefix)
    router = app.router
    # Without a router stack to wrap (an old Starlette) nothing inside would
    # finish a deferred decision: then the middleware decides it all itself.
    deferred = hasattr(router, "middleware_stack")
    if deferred:
        router.middleware_stack = RouterGuard(router.middleware_stack, service, router.routes)
    app.add_exception_handler(MaintenanceBlocked, blocked_handler)
    if api_router and hasattr(app, "include_router"):
        app.include_router(control_router(service))
    router.lifespan_context = _running(router.lifespan_context, service)
    app.add_middleware(MaintenanceMiddleware, service=service, defer_resolver=deferred)
    return app


def _running(lifespan: Any, service: MaintenanceService) -> Any:
    """The app's lifespan, with the service started first and closed last."""

    @contextlib.asynccontextmanager
    async def running(app: Any) -> AsyncIterator[Any]:
        await sync_to_async(service.snapshot.start, thread_sensitive=False)()
        try:
            async with lifespan(app) as state:
                yield state
        finally:
            await sync_to_async(service.flush, thread_sensitive=False)()
            service.close()

    return running


def static_prefixes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[str]:
    """The paths of ``StaticFiles`` mounts (nested mounts included)."""
    for route in routes:
        if isinstance(route, Mount):
            path = prefix + route.path.rstrip("/")
            if isinstance(route.app, StaticFiles) and path.startswith("/") and "{" not in path:
                yield path
            else:
                yield from static_prefixes(route.routes, path)


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
