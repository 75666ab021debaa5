"""Django integration: ``maintguard.django.MaintenanceMiddleware``.

Thin on purpose: the core decides, this module only translates between
Django's request and response and maintguard's ``RequestInfo`` and
``Response``. Configure it in ``settings.py``::

    MAINTGUARD_SERVICE = "myproject.maintenance:service"
    MIDDLEWARE = [
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "maintguard.django.MaintenanceMiddleware",  # after auth: it reads request.user
        ...,
    ]

and build the service with ``is_admin=staff_admin`` so that staff users keep
working during maintenance.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Protocol

import attrs
from django.conf import settings  # type: ignore[import-untyped, import-not-found, unused-ignore]
from django.http import HttpResponse  # type: ignore[import-untyped, import-not-found, unused-ignore]
from django.utils.functional import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    empty,
)

from maintguard.adapters.headers import WSGIHeaders
from maintguard.control.api import ControlAPI, Pending
from maintguard.core.decision import Action, RequestInfo
from maintguard.core.paths import route_path
from maintguard.core.responses import Response, Verdict
from maintguard.exceptions import ConfigurationError
from maintguard.service import MaintenanceService

__all__ = ["MaintenanceMiddleware", "load_service", "request_info", "staff_admin"]

SETTING = "MAINTGUARD_SERVICE"


class _User(Protocol):
    pk: object
    is_authenticated: bool


class _Request(Protocol):
    """What this module reads of a ``django.http.HttpRequest``."""

    method: str | None
    path_info: str
    META: MutableMapping[str, Any]
    COOKIES: Mapping[str, str]

    @property
    def scheme(self) -> str | None: ...

    def read(self, size: int) -> bytes: ...


class _Response(Protocol):
    """What this module writes on a ``django.http.HttpResponse``."""

    def __setitem__(self, header: str, value: str) -> None: ...


def load_service(value: object = None) -> MaintenanceService:
    """The service named by ``settings.MAINTGUARD_SERVICE``.

    ``"package.module:service"`` or ``"package.module.service"``; a
    ``MaintenanceService`` instance is accepted as is.
    """
    if value is None:
        value = getattr(settings, SETTING, None)
    if isinstance(value, MaintenanceService):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"settings.{SETTING} must name the MaintenanceService, "
            "e.g. 'myproject.maintenance:service'"
        )
    module_name, sep, attr = value.partition(":")
    if not sep:
        module_name, _, attr = value.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(
            f"settings.{SETTING} = {value!r} cannot be imported: {exc}"
        ) from None
    if not isinstance(found, MaintenanceService):
        raise ConfigurationError(
            f"settings.{SETTING} = {value!r} is a {type(found).__name__}, not a MaintenanceService"
        )
    return found


def request_info(request: _Request, path: str | None = None) -> RequestInfo:
    """A Django request as the core sees it; ``native`` is the request itself."""
    meta = request.META
    return RequestInfo(
        method=(request.method or "GET").upper(),
        path=route_path(request.path_info) if path is None else path,
        headers=WSGIHeaders(meta),
        client=meta.get("REMOTE_ADDR"),
        scheme=request.scheme or "http",
        query_string=meta.get("QUERY_STRING", ""),
        cookies=request.COOKIES,
        native=request,
    )


def staff_admin(info: RequestInfo) -> bool:
    """``is_admin`` resolver: an active staff user (``request.user.is_staff``).

    Needs ``AuthenticationMiddleware`` before this middleware; without a
    ``request.user`` nobody is an admin.
    """
    user = getattr(info.native, "user", None)
    return bool(
        user is not None
        and getattr(user, "is_active", False) is True
        and getattr(user, "is_staff", False) is True
    )


class MaintenanceMiddleware:
    """Protects a Django project with the service ``settings.MAINTGUARD_SERVICE`` names."""

    sync_capable = True
    # Sync only: the is_admin resolver may touch the ORM (request.user).
    async_capable = False

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.service = load_service()
        self.api = ControlAPI(self.service)
        self._api_paths = frozenset(self.api.endpoints)
        # META keys of the headers that keep a request off remembered
        # verdicts; the configuration they follow is fixed at start-up.
        self._identity_keys = frozenset(
            "HTTP_" + name.upper().replace("-", "_") for name in self.service.identity_headers()
        )

    def __call__(self, request: _Request) -> Any:
        path = route_path(request.path_info)
        if path in self._api_paths:
            return self._api(request, path)
        service = self.service
        view = service.snapshot.view()
        if not view.state.active or not service.enabled:
            return self.get_response(request)
        meta = request.META
        answers = service.responder(view)
        key = None
        # A plain request's verdict is remembered per state, as in the WSGI
        # adapter (see ``BlockedResponder.verdicts``): judging it again and
        # rendering its 503 was most of a blocked request's cost.
        if service.memoizable and meta.keys().isdisjoint(self._identity_keys):
            key = (request.method or "GET", path, meta.get("HTTP_ACCEPT"))
            verdict = answers.verdicts.get(key)
            if verdict is not None:
                meta["maintguard.decision"] = verdict.decision
                if verdict.response is None:  # allowed, no headers to add
                    return self.get_response(request)
                service.attempts.record(verdict.decision, path, _user_id(request), view)
                return _blocked(answers.with_retry_after(verdict.response))
        info = request_info(request, path)
        decision = service.decide(info)
        meta["maintguard.decision"] = decision
        if decision.action is not Action.ALLOW:
            service.record(attrs.evolve(info, user=_user_id(request)), decision)
        if decision.action is Action.BLOCK:
            blocked = service.blocked_response(info, decision)
            if key is not None:
                answers.remember(key, Verdict.of(decision, blocked))
            return _blocked(answers.with_retry_after(blocked))
        extra = service.answers.extra_headers(decision)
        if not extra and key is not None and decision.admin is None:
            answers.remember(key, Verdict.of(decision))
        response: _Response = self.get_response(request)
        for name, value in extra:
            response[name] = value
        return response

    def _api(self, request: _Request, path: str) -> Any:
        info = request_info(request, path)
        answer = self.api.route(info)
        if isinstance(answer, Pending):
            answer = self.api.handle(answer, info, _read_body(request, answer.limit))
        return to_django(answer)


def to_django(response: Response) -> Any:
    """An ``HttpResponse`` with the status, headers and body of ``response``."""
    django_response = HttpResponse(response.body, status=response.status)
    seen: dict[str, str] = {}
    for name, value in response.headers:
        key = name.lower()
        if key == "set-cookie":
            django_response.cookies.load(value)
            continue
        # Repeated fields (Vary) fold into one, as HTTP allows.
        seen[key] = f"{seen[key]}, {value}" if key in seen else value
        django_response[name] = seen[key]
    return django_response


def _blocked(response: Response) -> Any:
    """The 503 of a blocked request, marked as logged for Django.

    Django logs every 5xx answer at ERROR on ``django.request`` (an email
    each with ``mail_admins``). maintguard logs blocked requests itself, at a
    bounded rate; a flood of them must not become a flood of error lines.
    ``_has_been_logged`` is the mark Django's ``log_response`` checks.
    """
    django_response = to_django(response)
    django_response._has_been_logged = True
    return django_response


def _read_body(request: _Request, limit: int) -> bytes | None:
    """At most ``limit`` bytes of the body; ``None`` when there are more."""
    body = request.read(limit + 1)
    return None if len(body) > limit else bytes(body)


def _user_id(request: _Request) -> str | None:
    """The logged-in user's id for log lines, when identity is already resolved.

    ``request.user`` is lazy; it is read only once something (the
    ``is_admin`` resolver, an earlier middleware) has loaded it, so a log
    line never costs a session or database lookup.
    """
    user: _User | None = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return str(user.pk) if user.is_authenticated else None
