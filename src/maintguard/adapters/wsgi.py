"""WSGI adapter: ``MaintenanceMiddleware(app, service)``.

Translates an environ into a ``RequestInfo``, asks the core, and either
answers (503, the control API) or calls the app untouched — the app's
response iterable is passed through as is, so streaming is never buffered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from maintguard.adapters.headers import LazyCookies, WSGIHeaders
from maintguard.adapters.plain import PlainEnviron, remembers
from maintguard.adapters.wsgi_events import serve_events
from maintguard.control.api import ControlAPI, Pending
from maintguard.core.decision import Action, RequestInfo
from maintguard.core.paths import route_path
from maintguard.core.responses import Response, Verdict

__all__ = ["MaintenanceMiddleware", "request_info"]

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from maintguard.service import MaintenanceService

_REASONS = {
    200: "OK",
    202: "Accepted",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    426: "Upgrade Required",
    503: "Service Unavailable",
}


_STATUS = {code: f"{code} {reason}" for code, reason in _REASONS.items()}
_STATUS_503 = _STATUS[503]


def _router_path(environ: WSGIEnvironment) -> str:
    """PATH_INFO as the router reads it: PEP 3333 carries bytes as latin-1;
    Werkzeug decodes them as UTF-8, so do the same (and nothing more)."""
    path = environ.get("PATH_INFO") or "/"
    if not path.isascii():
        path = path.encode("latin-1", "replace").decode("utf-8", "replace")
    return route_path(path)


def request_info(environ: WSGIEnvironment, path: str | None = None) -> RequestInfo:
    method = environ.get("REQUEST_METHOD") or "GET"
    return RequestInfo(
        method=method.upper(),
        path=_router_path(environ) if path is None else path,
        headers=WSGIHeaders(environ),
        client=environ.get("REMOTE_ADDR"),
        scheme=environ.get("wsgi.url_scheme", "http"),
        query_string=environ.get("QUERY_STRING", ""),
        cookies=LazyCookies(environ.get("HTTP_COOKIE")),
        native=environ,
    )


class MaintenanceMiddleware:
    """Protects a WSGI app with a ``MaintenanceService``."""

    def __init__(
        self, app: WSGIApplication, service: MaintenanceService, *, defer_resolver: bool = False
    ) -> None:
        self.app = app
        self.service = service
        #: A framework integration that finishes decisions where its user is
        #: known (Flask's request context) sets this: a request only the
        #: ``is_admin`` resolver could let through is passed on with
        #: ``environ["maintguard.pending"]`` for the framework to decide.
        self.defer_resolver = defer_resolver
        self.api = ControlAPI(service)
        # Exact paths only: any other spelling is classified like any route.
        self._api_paths = frozenset(self.api.endpoints)
        self._snapshot = service.snapshot
        # Frozen settings: what of ``service.memoizable`` cannot change.
        self._memoizable = remembers(service)
        self._declared = bool(service.settings.resolver_headers)
        self._enabled = service.settings.maintenance_mode_enabled
        self._plain = PlainEnviron(service)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raw = environ.get("PATH_INFO") or "/"
        if raw in self._api_paths:
            return self._api(environ, _router_path(environ), start_response)
        if self._snapshot.idle:  # maintenance off, nothing scheduled
            return self.app(environ, start_response)
        return self._guard(environ, raw, start_response)

    def _guard(
        self, environ: WSGIEnvironment, raw: str, start_response: StartResponse
    ) -> Iterable[bytes]:
        service = self.service
        view = self._snapshot.view()
        if not view.state.active or not self._enabled:
            return self.app(environ, start_response)
        answers = service.responder(view)
        key = None
        if (
            self._memoizable
            and (self._declared or service.decider.resolver is None)
            and self._plain(environ)
        ):
            # The method and path as the server gave them: the same ones
            # always read the same, so the key needs no normalising.
            key = (environ.get("REQUEST_METHOD") or "GET", raw, environ.get("HTTP_ACCEPT"))
            verdict = answers.verdicts.get(key)
            if verdict is not None:
                environ["maintguard.decision"] = verdict.decision
                response = verdict.response
                if response is None:
                    return self.app(environ, start_response)
                service.attempts.tally(verdict, view)
                start_response(_STATUS_503, answers.headers_now(response))
                return [response.body] if response.body else []
        path = _router_path(environ)
        info = request_info(environ, path)
        if key is not None:
            decision = service.decide(info, plain=True)
        elif self.defer_resolver:
            decision, pending = service.judge(info)
            if pending:
                environ["maintguard.pending"] = (info, decision)
                return self.app(environ, start_response)
        else:
            decision = service.decide(info)
        environ["maintguard.decision"] = decision
        if decision.action is Action.BLOCK:
            service.record(info, decision)
            response = service.blocked_response(info, decision)
            if key is not None:
                answers.remember(key, service.attempts.verdict(decision, response, path, view))
            return self._send(answers.with_retry_after(response), start_response)
        if decision.action is Action.SIMULATE:
            service.record(info, decision)
        extra = service.answers.extra_headers(decision)
        if not extra:
            if key is not None and decision.admin is None:
                answers.remember(key, Verdict.of(decision))
            return self.app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.extend(extra)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def _api(
        self, environ: WSGIEnvironment, path: str, start_response: StartResponse
    ) -> Iterable[bytes]:
        info = request_info(environ, path)
        if self.api.endpoints[path].name == "events" and info.method == "GET":
            streamed = serve_events(self.api.console, info, start_response, _STATUS[200])
            if not isinstance(streamed, Response):
                return streamed
            return self._send(streamed, start_response)
        answer = self.api.route(info)
        if isinstance(answer, Pending):
            answer = self.api.handle(answer, info, _read_body(environ, answer.limit))
        return self._send(answer, start_response)

    @staticmethod
    def _send(response: Response, start_response: StartResponse) -> Iterable[bytes]:
        status = _STATUS.get(response.status) or f"{response.status} Unknown"
        start_response(status, list(response.headers))
        return [response.body] if response.body else []


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """At most ``limit`` bytes of the body; ``None`` when there are more.

    Content-Length was already checked against the limit, so an honest
    client is never read past it; a chunked one is read to limit + 1.
    """
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(min(int(length), limit + 1))
    elif (
        environ.get("wsgi.input_terminated")
        or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        body = stream.read(limit + 1)
    else:
        return b""
    return None if len(body) > limit else bytes(body)
