"""Where a Starlette or FastAPI app's user is known: inside every middleware.

``install`` puts the maintenance middleware outermost and this guard around
the router, innermost: whatever order the app added
``AuthenticationMiddleware`` or ``SessionMiddleware`` in, ``request.user``
and ``request.session`` are set by the time a deferred decision is finished
here. A route that carries an ``admin_dependency(...)`` is finished by that
dependency instead, after FastAPI has solved the user's own dependencies.

The guard also ends ``SessionMiddleware`` cookie sessions by the maintenance
epoch (see :mod:`maintguard.adapters.cookie_sessions`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Match

from maintguard.adapters import cookie_sessions
from maintguard.adapters.asgi import request_info, resolve_admin
from maintguard.adapters.asgi_messages import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    adding_headers,
    send_response,
)
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.responses import Response
from maintguard.service import MaintenanceService

__all__ = ["MaintenanceBlocked", "RequestAdmin", "RouterGuard", "admin_dependency"]

PENDING = "maintguard.pending"
_ADMIN_DEPENDENCY = "__maintguard_admin_dependency__"


class MaintenanceBlocked(Exception):
    """Raised by an ``admin_dependency`` to answer a blocked request with the 503."""

    def __init__(self, response: Response) -> None:
        super().__init__("blocked by maintenance")
        self.response = response


async def blocked_handler(request: Request, exc: Exception) -> StarletteResponse:
    """The exception handler ``install`` registers for ``MaintenanceBlocked``."""
    if not isinstance(exc, MaintenanceBlocked):  # registered for that type only
        raise exc
    response = exc.response
    answer = StarletteResponse(response.body, status_code=response.status)
    for name, value in response.headers:
        answer.headers.append(name, value)
    return answer


class RequestAdmin:
    """An ``is_admin`` resolver asking ``predicate(request)`` with the
    Starlette ``Request`` of the ASGI scope (``request.user`` set by
    ``AuthenticationMiddleware``); sync or async, only ``True`` is an admin."""

    def __init__(self, predicate: Callable[[Request], object]) -> None:
        self.predicate = predicate

    async def __call__(self, info: RequestInfo) -> bool:
        scope = info.native
        if not isinstance(scope, dict):
            return False
        answer = self.predicate(Request(scope))
        if inspect.isawaitable(answer):
            answer = await answer
        return answer is True


class NobodyYet:
    """The resolver while only ``admin_dependency`` knows admins: says "not
    admin" here, so that would-be-blocked requests reach the dependency."""

    async def __call__(self, info: RequestInfo) -> bool:
        return False


def has_admin_dependency(routes: list[BaseRoute]) -> bool:
    return any(_has_admin_dependency(route) for route in routes)


def _has_admin_dependency(route: BaseRoute) -> bool:
    dependant = getattr(route, "dependant", None)
    stack = [dependant] if dependant is not None else []
    while stack:
        current = stack.pop()
        if getattr(getattr(current, "call", None), _ADMIN_DEPENDENCY, False):
            return True
        stack.extend(getattr(current, "dependencies", ()) or ())
    return False


class RouterGuard:
    """Wraps the app's router: finishes deferred decisions, ends stale cookie sessions."""

    def __init__(self, app: ASGIApp, service: MaintenanceService, routes: list[BaseRoute]) -> None:
        self.app = app
        self.service = service
        self.routes = routes  # the router's own list: routes added later count too

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service = self.service
        scope["maintguard.service"] = service  # for admin_dependency
        pending: tuple[RequestInfo, Decision] | None = scope.get(PENDING)
        by_dependency = pending is not None and self._dependency_decides(scope)
        admin: str | None = None
        asked = False
        if pending is not None and not by_dependency:
            scope.pop(PENDING, None)
            info, decision = pending
            admin, asked = await resolve_admin(service, info), True
            decision = service.finish(info, decision, admin)
            scope["maintguard.decision"] = decision
            if decision.action is not Action.ALLOW:
                service.record(info, decision)
            if decision.action is Action.BLOCK:
                await self._end_session(scope, None, True)
                responder = service.responder(service.view())
                await send_response(
                    responder.with_retry_after(service.blocked_response(info, decision)), send
                )
                return
            extra = service.answers.extra_headers(decision)
            if extra:
                send = adding_headers(send, extra)
        if "session" in scope:
            if not by_dependency:
                decided: Decision | None = scope.get("maintguard.decision")
                if admin is None and decided is not None and decided.admin is not None:
                    admin, asked = decided.admin, True
                await self._end_session(scope, admin, asked)
            send = _stamping(scope, send)
        await self.app(scope, receive, send)

    def _dependency_decides(self, scope: Scope) -> bool:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return _has_admin_dependency(route)
        return False

    async def _end_session(self, scope: Scope, admin: str | None, asked: bool) -> None:
        await end_session(self.service, scope, admin, asked)


async def end_session(
    service: MaintenanceService, scope: Scope, admin: str | None, asked: bool
) -> None:
    """Clear a cookie session the current maintenance ended (never an admin's)."""
    session = scope.get("session")
    state = service.view().state
    if not isinstance(session, dict) or not cookie_sessions.ended(
        session, state, service.settings.session_cleanup and service.enabled
    ):
        return
    if not asked:
        info = request_info(scope, scope.get("path") or "/")
        admin = service.decider.fast_admin(info, state) or await resolve_admin(service, info)
    if admin is None:
        session.clear()
    else:
        cookie_sessions.renew(session, admin)


def _stamping(scope: Scope, send: Send) -> Send:
    """Stamp the session as the response starts: ``SessionMiddleware``,
    further out, writes the cookie from it right after."""

    async def stamped(message: Message) -> None:
        if message.get("type") == "http.response.start":
            session = scope.get("session")
            if isinstance(session, dict):
                cookie_sessions.stamp(session)
        await send(message)

    return stamped


def admin_dependency(is_admin: Callable[..., Any]) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that finishes the maintenance decision with
    ``is_admin``, itself a dependency (``Depends`` rules apply: it may take
    the user's own ``current_user`` dependency). Only ``True`` is an admin::

        def user_is_admin(user: User = Depends(current_user)) -> bool:
            return user.is_admin

        maintenance_admin = admin_dependency(user_is_admin)
        app = FastAPI(dependencies=[Depends(maintenance_admin)])

    ``install`` must see the routes that carry it (declare them first).
    """
    from fastapi import Depends

    marker = Depends(is_admin)

    async def maintguard_admin(
        request: Request, response: StarletteResponse, answer: Any = marker
    ) -> None:
        await dependency_decides(request, answer is True, response)

    setattr(maintguard_admin, _ADMIN_DEPENDENCY, True)
    return maintguard_admin


async def dependency_decides(
    request: Request, is_admin: bool, response: StarletteResponse | None = None
) -> None:
    """Finish a deferred decision: allow, or raise ``MaintenanceBlocked``."""
    scope = request.scope
    service: MaintenanceService | None = scope.get("maintguard.service")
    pending: tuple[RequestInfo, Decision] | None = scope.pop(PENDING, None)
    if service is None:
        return
    admin = "dependency" if is_admin else None
    if admin is None and pending is not None:
        admin = await resolve_admin(service, pending[0])
    if "session" in scope:
        await end_session(service, scope, admin, True)
    if pending is None:
        return
    info, decision = pending
    decision = service.finish(info, decision, admin)
    scope["maintguard.decision"] = decision
    if decision.action is not Action.ALLOW:
        service.record(info, decision)
    if decision.action is Action.BLOCK:
        responder = service.responder(service.view())
        raise MaintenanceBlocked(
            responder.with_retry_after(service.blocked_response(info, decision))
        )
    if response is not None:  # FastAPI merges these into the endpoint's answer
        for name, value in service.answers.extra_headers(decision):
            response.headers[name] = value
