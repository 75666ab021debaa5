"""Flask integration: ``init_app(app, service)``.

Thin on purpose: the WSGI adapter does the work; this module wires it into a
Flask app, turns ``@operation(...)`` declarations into route rules and reads
the logged-in user from the app's own session::

    service = MaintenanceService(is_admin=session_admin(lambda s: s.get("role") == "admin"))
    app = Flask(__name__)

    @app.post("/reports/<int:report_id>/export")
    @operation(OperationType.JOB_CREATION)
    def export(report_id: int) -> str: ...

    init_app(app, service)  # after the routes: it reads the URL map once

Routes added after ``init_app`` are declared by calling
``register_routes(app, service)`` again; nothing is looked up per request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app
from flask.sessions import SessionMixin
from werkzeug.routing import Rule

from maintguard.adapters.routes import add_route_rules, declared_operation, operation
from maintguard.adapters.wsgi import MaintenanceMiddleware
from maintguard.core.decision import RequestInfo
from maintguard.exceptions import ConfigurationError
from maintguard.logs import ResolverFailures
from maintguard.service import MaintenanceService

__all__ = [
    "SessionAdmin",
    "current_service",
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


def init_app(app: Flask, service: MaintenanceService) -> None:
    """Protect ``app`` with ``service`` and register its declared routes."""
    if EXTENSION in app.extensions:
        raise ConfigurationError("maintguard.flask.init_app() was already called for this app")
    app.extensions[EXTENSION] = service
    resolver = service.is_admin_resolver
    if isinstance(resolver, SessionAdmin) and resolver.app is None:
        resolver.app = app  # the service was built before the app existed
    register_routes(app, service)
    app.wsgi_app = MaintenanceMiddleware(app.wsgi_app, service)  # type: ignore[method-assign]


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
