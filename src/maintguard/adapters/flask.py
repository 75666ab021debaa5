"""Flask integration: ``Maintenance(app, service)`` or ``init_app(app, service)``.

Thin on purpose: the WSGI adapter answers the control API and decides every
request it can without the application; a request that only the app's idea
of its user could let through is decided inside Flask's request context,
after every ``before_request`` handler (so Flask-Login's ``current_user`` is
known)::

    service = MaintenanceService.from_env()
    maintenance = Maintenance(is_admin=lambda: current_user.is_authenticated
                              and current_user.is_admin)
    app = Flask(__name__)

    @app.post("/reports/<int:report_id>/export")
    @maintenance.operation(OperationType.JOB_CREATION)
    def export(report_id: int) -> str: ...

    maintenance.init_app(app, service)  # after the routes: it reads the URL map once

Routes added after ``init_app`` are declared by calling
``register_routes(app, service)`` again; nothing is looked up per request.
``init_app`` also adds the ``flask maintguard …`` command group, exempts the
app's static URL and ends signed-cookie sessions by the maintenance epoch
(see :mod:`maintguard.adapters.cookie_sessions`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Flask,
    after_this_request,
    current_app,
    g,
    has_request_context,
    request,
    session,
)
from flask.globals import request_ctx
from flask.sessions import SessionMixin
from werkzeug.routing import Rule

from maintguard.adapters import cookie_sessions
from maintguard.adapters.flask_cli import command_group
from maintguard.adapters.routes import add_route_rules, declared_operation, exempt, operation
from maintguard.adapters.wsgi import MaintenanceMiddleware, request_info
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.responses import Response
from maintguard.exceptions import ConfigurationError
from maintguard.logs import ResolverFailures
from maintguard.service import MaintenanceService

__all__ = [
    "Maintenance",
    "SessionAdmin",
    "current_service",
    "exempt",
    "init_app",
    "operation",
    "register_routes",
    "rule_pattern",
    "session_admin",
]

F = TypeVar("F", bound=Callable[..., Any])

EXTENSION = "maintguard"
# Werkzeug's placeholder syntax: <name>, <converter:name>, <converter(args):name>.
_PLACEHOLDER = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?"
    r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)


class Maintenance:
    """The Flask extension: ``Maintenance(app, service)`` or ``init_app`` later.

    ``is_admin`` is a function of no argument called inside the request
    context (``lambda: current_user.is_authenticated and current_user.is_admin``);
    only ``True`` makes an admin. Without it, the service's own resolver
    (``session_admin(...)``, or one taking a ``RequestInfo``) is asked, in
    the request context too.
    """

    operation = staticmethod(operation)
    exempt = staticmethod(exempt)

    def __init__(
        self,
        app: Flask | None = None,
        service: MaintenanceService | None = None,
        *,
        is_admin: Callable[[], object] | None = None,
    ) -> None:
        self.service = service
        self.is_admin = is_admin
        if app is not None:
            self.init_app(app, service)

    def init_app(self, app: Flask, service: MaintenanceService | None = None) -> None:
        service = service or self.service
        if service is None:
            raise ConfigurationError("Maintenance.init_app() needs the MaintenanceService")
        self.service = service
        init_app(app, service, is_admin=self.is_admin)


def init_app(
    app: Flask,
    service: MaintenanceService,
    *,
    is_admin: Callable[[], object] | None = None,
) -> None:
    """Protect ``app`` with ``service`` and register its declared routes."""
    if EXTENSION in app.extensions:
        raise ConfigurationError("maintguard.flask.init_app() was already called for this app")
    app.extensions[EXTENSION] = service
    if is_admin is not None:
        service.is_admin_resolver = RequestContextAdmin(is_admin)
    resolver = service.is_admin_resolver
    if isinstance(resolver, SessionAdmin) and resolver.app is None:
        resolver.app = app  # the service was built before the app existed
    static = (app.static_url_path or "").rstrip("/")
    if app.has_static_folder and static and static.startswith("/"):
        service.classifier.add_exempt(static)
    register_routes(app, service)
    _hook_request_context(app, service)
    app.cli.add_command(command_group(lambda: service))
    app.wsgi_app = MaintenanceMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, service, defer_resolver=True
    )


class RequestContextAdmin:
    """An ``is_admin`` resolver asking a no-argument function inside Flask's
    request context; outside one (nothing to ask), nobody is an admin."""

    def __init__(self, function: Callable[[], object]) -> None:
        self.function = function

    def __call__(self, info: RequestInfo) -> bool:
        return has_request_context() and self.function() is True


def _hook_request_context(app: Flask, service: MaintenanceService) -> None:
    """Decide deferred requests after every ``before_request`` handler.

    ``preprocess_request`` runs the handlers registered at any time (also
    after ``init_app``) and then ours, before the view.
    """
    original = app.preprocess_request

    def preprocess_request() -> Any:
        answer = original()
        if answer is not None:
            return answer
        return _in_request(app, service)

    app.preprocess_request = preprocess_request  # type: ignore[method-assign]

    @app.after_request
    def stamp_session(response: Any) -> Any:
        # Only a session the request used: reading an untouched one would add
        # ``Vary: Cookie`` to every response of the app.
        used = _peek_session()
        if used is not None and (used.accessed or used.modified):
            cookie_sessions.stamp(used)
        return response


def _peek_session() -> Any:
    """The request's session object without marking it accessed: Flask 3.1
    marks a session read through ``session`` (or ``ctx.session``) as
    accessed; 3.0 keeps it in a plain attribute."""
    ctx = vars(request_ctx._get_current_object())  # type: ignore[attr-defined]
    return ctx.get("_session", ctx.get("session"))


def _in_request(app: Flask, service: MaintenanceService) -> Any:
    environ = request.environ
    pending: tuple[RequestInfo, Decision] | None = environ.pop("maintguard.pending", None)
    state = service.view().state
    admin: str | None = None
    asked = False
    if pending is not None:
        info, decision = pending
        admin, asked = service.decider.resolve_admin(info), True
        decision = service.finish(info, decision, admin)
        environ["maintguard.decision"] = decision
        if decision.action is not Action.ALLOW:
            service.record(info, decision)
        if decision.action is Action.BLOCK:
            _end_session(service, state, None, asked)
            responder = service.responder(service.view())
            return to_flask(
                app, responder.with_retry_after(service.blocked_response(info, decision))
            )
        extra = service.answers.extra_headers(decision)
        if extra:

            @after_this_request
            def add_headers(response: Any) -> Any:
                for name, value in extra:
                    response.headers[name] = value
                return response

    if not state.active:
        return None
    decided: Decision | None = environ.get("maintguard.decision")
    if admin is None and decided is not None and decided.admin is not None:
        admin, asked = decided.admin, True
    _end_session(service, state, admin, asked)
    return None


def _end_session(service: MaintenanceService, state: Any, admin: str | None, asked: bool) -> None:
    """Clear a signed-cookie session the current maintenance ended (not an admin's)."""
    if not cookie_sessions.ended(
        session, state, service.settings.session_cleanup and service.enabled
    ):
        return
    if not asked:
        info = request_info(request.environ)
        admin = service.decider.fast_admin(info, state) or service.decider.resolve_admin(info)
    if admin is None:
        session.clear()
        # Flask-Login caches the user it loaded from the session in ``g``:
        # drop it, so this very request is served as a logged-out one.
        g.pop("_login_user", None)
    else:
        cookie_sessions.renew(session, admin)


def to_flask(app: Flask, response: Response) -> Any:
    """A Flask response with the status, headers and body of ``response``."""
    return app.response_class(response.body, status=response.status, headers=list(response.headers))


def current_service() -> MaintenanceService:
    """The service ``init_app`` gave the current app (inside a request or app context)."""
    service = current_app.extensions.get(EXTENSION)
    if not isinstance(service, MaintenanceService):
        raise ConfigurationError("maintguard.flask.init_app() was not called for this app")
    return service


def register_routes(app: Flask, service: MaintenanceService) -> int:
    """Add a route rule for each URL rule of an ``@operation`` view.

    Idempotent: call it again after adding routes. Returns how many rules
    were added.
    """
    classifier = service.classifier
    declarations = []
    for rule in app.url_map.iter_rules():
        declared = declared_operation(app.view_functions.get(rule.endpoint))
        if declared is not None:
            declarations.append((rule_pattern(rule, app), _methods(rule), declared))
    return add_route_rules(classifier, declarations)


def rule_pattern(rule: Rule, app: Flask) -> str:
    """``/jobs/<int:job_id>/retry`` → ``^/jobs/[^/]+/retry$``.

    A converter that matches one segment becomes ``[^/]+``, one that spans
    segments (``path``) ``.+``; literal text is escaped. A rule ending in a
    slash also matches without it: Werkzeug redirects there, and the
    classifier's normalised reading drops the slash.
    """
    converters = app.url_map.converters
    parts = ["^"]
    end = 0
    for match in _PLACEHOLDER.finditer(rule.rule):
        parts.append(re.escape(rule.rule[end : match.start()]))
        converter = converters.get(match.group("converter") or "default")
        spans = converter is not None and not getattr(converter, "part_isolating", True)
        parts.append(".+" if spans else "[^/]+")
        end = match.end()
    tail = rule.rule[end:]
    if len(rule.rule) > 1 and tail.endswith("/"):
        parts.append(re.escape(tail[:-1]) + "/?")
    else:
        parts.append(re.escape(tail))
    parts.append("$")
    pattern = "".join(parts)
    if rule.host or rule.subdomain:
        # The classifier sees paths, not hosts: a group marks the pattern as
        # covering more than its own route, so it may only tighten.
        pattern = f"^(?:{pattern[1:-1]})$"
    return pattern


def _methods(rule: Rule) -> frozenset[str] | None:
    if rule.methods is None:
        return None
    methods = set(rule.methods)
    if getattr(rule, "provide_automatic_options", False):
        methods.discard("OPTIONS")  # Flask answers it, not the view
    return frozenset(methods) or None


class SessionAdmin:
    """An ``is_admin`` resolver that reads the app's own session.

    It opens the session the way Flask does for a request (the signed cookie
    session, or whatever ``app.session_interface`` is, Flask-Session
    included) and asks ``predicate(session)``. A tampered or expired cookie
    opens as an empty session; any failure means "not admin", never an error.
    """

    def __init__(self, predicate: Callable[[SessionMixin], object], app: Flask | None) -> None:
        self.predicate = predicate
        #: Bound by ``init_app`` when the service was built before the app.
        self.app = app
        self.failures = ResolverFailures()  # once a minute, not per request

    def __call__(self, info: RequestInfo) -> bool:
        app = self.app
        environ = info.native
        if app is None or not isinstance(environ, dict):
            return False
        try:
            with app.app_context():
                session = app.session_interface.open_session(app, app.request_class(environ))
                return session is not None and bool(self.predicate(session))
        except Exception as exc:  # a broken session backend must not 500 the request
            self.failures.report(type(exc).__name__)
            return False


def session_admin(
    predicate: Callable[[SessionMixin], object], app: Flask | None = None
) -> SessionAdmin:
    """``is_admin`` from the Flask session: ``session_admin(lambda s: s.get("role") == "admin")``.

    Pass it as ``MaintenanceService(is_admin=...)``; ``init_app`` binds it to
    the app unless ``app`` is given here.
    """
    return SessionAdmin(predicate, app)
