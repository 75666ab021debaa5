"""Django integration: ``maintguard.django.MaintenanceMiddleware``.

Thin on purpose: the core decides, this module only translates between
Django's request and response and maintguard's ``RequestInfo`` and
``Response``. Configure it in ``settings.py``::

    INSTALLED_APPS = [..., "maintguard.django"]   # manage.py maintguard, the 503 template
    MAINTGUARD = {"store_url": "redis://localhost:6379/0", "admin_tokens": "ops:…"}
    MIDDLEWARE = [
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "maintguard.django.MaintenanceMiddleware",  # after auth: it reads request.user
        ...,
    ]

(or ``MAINTGUARD_SERVICE = "myproject.maintenance:service"`` naming a
service built in code). Active staff users and superusers keep working
during maintenance; views declare what they do with ``@operation(...)`` or
``@exempt``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any, Protocol

import attrs
from django.http import HttpResponse  # type: ignore[import-untyped, import-not-found, unused-ignore]
from django.utils.functional import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
    empty,
)

from maintguard.adapters import cookie_sessions
from maintguard.adapters.django_config import (
    load_service,
    project_service,
    staff_admin,
    url_declarations,
)
from maintguard.adapters.django_sessions import DjangoSessionInvalidator
from maintguard.adapters.django_views import template_page
from maintguard.adapters.headers import WSGIHeaders
from maintguard.adapters.plain import PlainEnviron, remembers
from maintguard.adapters.routes import exempt, operation
from maintguard.control.api import ControlAPI, Pending
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.paths import route_path
from maintguard.core.responses import Response, Verdict

__all__ = [
    "DjangoSessionInvalidator",
    "MaintenanceMiddleware",
    "exempt",
    "load_service",
    "operation",
    "project_service",
    "request_info",
    "staff_admin",
    "template_page",
    "url_declarations",
]


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


class MaintenanceMiddleware:
    """Protects a Django project with its service (``settings.MAINTGUARD`` or
    ``settings.MAINTGUARD_SERVICE``; see ``project_service``)."""

    sync_capable = True
    # Sync only: the is_admin resolver may touch the ORM (request.user).
    async_capable = False

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.service = service = project_service()
        self.api = ControlAPI(service)
        self._api_paths = frozenset(self.api.endpoints)
        self._plain = PlainEnviron(service)
        # Frozen settings: what of ``service.memoizable`` cannot change.
        self._memoizable = remembers(service)
        self._declared = bool(service.settings.resolver_headers)

    def __call__(self, request: _Request) -> Any:
        path = route_path(request.path_info)
        if path in self._api_paths:
            return self._api(request, path)
        service = self.service
        view = service.snapshot.view()
        if not view.state.active or not service.enabled:
            return self._stamped(request, self.get_response(request))
        meta = request.META
        key = None
        if (
            self._memoizable
            and (self._declared or service.decider.resolver is None)
            and self._plain(meta)
        ):
            # Plain (see maintguard.adapters.plain): answered as last time.
            answers = service.responder(view)
            key = (request.method or "GET", path, meta.get("HTTP_ACCEPT"))
            verdict = answers.verdicts.get(key)
            if verdict is not None:
                meta["maintguard.decision"] = decision = verdict.decision
                self._end_session(request, None, decision)
                if verdict.response is not None:
                    user = _user_id(request)  # loaded by an earlier middleware
                    if user is None:
                        service.attempts.tally(verdict, view)
                    else:
                        service.count(decision, path, user, view)
                    return _logged(_django_503(verdict.response, answers.headers_now))
                return self._stamped(request, self.get_response(request))
        info = request_info(request, path)
        # The resolver runs on this thread: request.user reads the database
        # through this thread's connection and transaction, which another
        # thread would not see. A hung resolver holds this worker; cap it
        # with the server's worker count and the database's own timeouts.
        if key is not None:
            decision = service.decide(info, plain=True)
        else:
            decision = service.decide(info, bounded=False)
        meta["maintguard.decision"] = decision
        if decision.action is not Action.ALLOW:
            service.record(attrs.evolve(info, user=_user_id(request)), decision)
        self._end_session(request, info, decision)
        if decision.action is Action.BLOCK:
            answers = service.responder(view)
            blocked = service.blocked_response(info, decision)
            if key is not None:
                answers.remember(key, service.attempts.verdict(decision, blocked, path, view))
            return _logged(to_django(answers.with_retry_after(blocked)))
        extra = service.answers.extra_headers(decision)
        if key is not None and not extra and decision.admin is None:
            service.responder(view).remember(key, Verdict.of(decision))
        response: _Response = self.get_response(request)
        for name, value in extra:
            response[name] = value
        return self._stamped(request, response)

    def _end_session(self, request: _Request, info: RequestInfo | None, decision: Decision) -> None:
        """Log out a non-admin whose session predates this maintenance: the
        backends the invalidator cannot list (cache, signed cookies) end so."""
        session: Any = getattr(request, "session", None)
        service = self.service
        state = service.view().state
        if session is None or not cookie_sessions.ended(
            dict(session.items()), state, service.settings.session_cleanup and service.enabled
        ):
            return
        if info is None:
            info = request_info(request)
        admin = decision.admin
        if admin is None and decision.action is Action.ALLOW:
            admin = service.decider.fast_admin(info, state) or service.decider.resolve_admin(info)
        if admin is None:
            from django.contrib.auth import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
                logout,
            )

            logout(request)  # flushes the session and sets request.user anonymous
        else:
            cookie_sessions.renew(session, admin)

    @staticmethod
    def _stamped(request: _Request, response: Any) -> Any:
        # Only a session this request loaded (a login does): stamping one
        # nobody read would cost a session lookup on every request.
        session: Any = getattr(request, "session", None)
        if (
            session is not None
            and getattr(session, "accessed", False)
            and session.keys()
            and cookie_sessions.STAMP not in session
        ):
            cookie_sessions.stamp(session)
        return response

    def _api(self, request: _Request, path: str) -> Any:
        info = request_info(request, path)
        answer = self.api.route(info)
        if isinstance(answer, Pending):
            answer = self.api.handle(answer, info, _read_body(request, answer.limit))
        return to_django(answer)


def _logged(answer: Any) -> Any:
    """A 503 marked as logged: Django logs every 5xx at ERROR on
    ``django.request`` (an e-mail each with mail_admins); maintguard logs
    blocked requests itself, at a bounded rate. ``_has_been_logged`` is the
    mark Django's log_response checks, so a flood of 503s is not a flood of
    error lines."""
    answer._has_been_logged = True
    return answer


def _django_503(response: Response, headers_now: Callable[[Response], Any]) -> Any:
    """A remembered 503 as a new ``HttpResponse``: its headers (plain names,
    each once, no cookie) handed over whole, as Django copies them."""
    return HttpResponse(response.body, status=503, headers=headers_now(response))


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
