"""The scenarios ``run.py`` times and ``instructions.py`` counts.

The apps (bare, pass-through, flag check; a Django view), services with 10,
100 or 1,000 custom rules, prebuilt environs and scopes, and each scenario
as a ``Batch``: a function that runs ``n`` requests and returns the seconds
they took.
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from maintguard.asgi import MaintenanceMiddleware as AsgiMiddleware
from maintguard.core.classifier import OperationClassifier
from maintguard.service import MaintenanceService
from maintguard.wsgi import MaintenanceMiddleware as WsgiMiddleware

__all__ = ["AsgiMiddleware", "WsgiMiddleware"]

Batch = Callable[[int], float]  # runs n requests, returns seconds
RULE_COUNTS = (10, 100, 1000)
BLOCKED = ("POST", "/upload/photo")
ALLOWED = ("GET", "/dashboard/overview")
OPERATIONS = ("JOB_CREATION", "BATCH_OPERATIONS", "USER_DATA_MODIFICATION", "READ_OPERATIONS")


# ------------------------------------------------------------------ the apps

HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "2")]
BODY = [b"ok"]


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", HEADERS)
    return BODY


class PassThroughWsgi:
    """The least a middleware can do."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.app(environ, start_response)


class Flag:
    active = False


class FlagWsgi:
    """A hand-written maintenance switch: one cached boolean, nothing else."""

    def __init__(self, app: Callable[..., Any], flag: Flag) -> None:
        self.app = app
        self.flag = flag

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.flag.active:
            start_response("503 Service Unavailable", [])
            return []
        return self.app(environ, start_response)


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
END = {"type": "http.response.body", "body": b"ok"}


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send(START)
    await send(END)


class PassThroughAsgi:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class FlagAsgi:
    def __init__(self, app: Any, flag: Flag) -> None:
        self.app = app
        self.flag = flag

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.flag.active:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


# ------------------------------------------------------------ the Django app


def django_view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns: list[Any] = []


def django_handler(service: MaintenanceService | None) -> Any:
    """Django's own WSGI handler, with only maintguard's middleware (or none)."""
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import re_path

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only-0123456789",  # noqa: S106 - no secret in a benchmark
            ALLOWED_HOSTS=["bench"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
        )
        django.setup()
        urlpatterns.append(re_path(r"^.*$", django_view))
    settings.MIDDLEWARE = [] if service is None else ["maintguard.django.MaintenanceMiddleware"]
    settings.MAINTGUARD_SERVICE = service
    return WSGIHandler()


def django_environ(method: str, path: str) -> dict[str, Any]:
    environ = environ_for(method, path)
    environ["wsgi.input"] = io.BytesIO(b"")
    return environ


def django_batch(handler: Any, method: str, path: str) -> Batch:
    return environ_batch(handler, django_environ(method, path))


# ----------------------------------------------------------------- the rules


def add_rules(classifier: OperationClassifier, count: int) -> None:
    """``count`` custom rules, half whole-segment prefixes, half regexes."""
    for i in range(count):
        operation = OPERATIONS[i % len(OPERATIONS)]
        if i % 2:
            classifier.add_custom_classification(rf"/t{i}/items/\d+/(edit|delete)", operation)
        else:
            classifier.add_custom_classification(f"/t{i}/items", operation, ["POST", "PUT"])


def rule_regexes(count: int) -> list[re.Pattern[str]]:
    """The same rules as ``add_rules``, all as regexes, for a linear scan."""
    return [
        re.compile(rf"/t{i}/items/\d+/(edit|delete)" if i % 2 else rf"/t{i}/items(/.*)?")
        for i in range(count)
    ]


def service_with(rules: int, *, active: bool, emergency: bool = False) -> MaintenanceService:
    classifier = OperationClassifier()
    add_rules(classifier, rules)
    service = MaintenanceService(classifier=classifier, refresh_interval=60.0)
    if emergency:
        service.enable_emergency("benchmark", duration=3600, background=False)
    elif active:
        service.enable_maintenance("benchmark", duration=3600)
    service.view()  # start the snapshot now, not inside a timed batch
    return service


# ----------------------------------------------------------------- the timers


def environ_for(method: str, path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.10",
        "HTTP_HOST": "bench",
        "HTTP_ACCEPT": "text/html",
        "wsgi.url_scheme": "http",
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    return None


def wsgi_batch(app: Callable[..., Any], method: str, path: str) -> Batch:
    return environ_batch(app, environ_for(method, path))


def environ_batch(app: Callable[..., Any], environ: dict[str, Any]) -> Batch:
    """``n`` calls of a WSGI app (a Django handler too) with one environ."""

    def run(n: int) -> float:
        start_response = _start_response
        started = time.perf_counter()
        for _ in range(n):
            app(environ, start_response)
        return time.perf_counter() - started

    return run


def scope_for(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"text/html")],
        "client": ("192.0.2.10", 50000),
        "server": ("bench", 80),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def asgi_batch(app: Any, method: str, path: str, loop: asyncio.AbstractEventLoop) -> Batch:
    scope = scope_for(method, path)

    async def many(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await app(scope, _receive, _send)
        return time.perf_counter() - started

    def run(n: int) -> float:
        return loop.run_until_complete(many(n))

    return run


def classify_batch(classifier: OperationClassifier, paths: Iterable[str], method: str) -> Batch:
    """Classification of ``paths`` in turn: unique ones miss the cache."""
    source = iter(paths)

    def run(n: int) -> float:
        batch = [next(source) for _ in range(n)]
        classify = classifier.classify
        started = time.perf_counter()
        for path in batch:
            classify(method, path)
        return time.perf_counter() - started

    return run


def scan_batch(patterns: list[re.Pattern[str]], path: str) -> Batch:
    def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            for pattern in patterns:
                if pattern.fullmatch(path):
                    break
        return time.perf_counter() - started

    return run


def unique_paths(rules: int, clean: bool) -> Iterable[str]:
    """Endless distinct paths, a third of them under a rule's prefix."""
    i = 0
    while True:
        i += 1
        if i % 3 == 0:
            path = f"/t{(i * 7) % max(rules, 1)}/items/{i}/edit"
        elif i % 3 == 1:
            path = f"/dashboard/reports/{i}"
        else:
            path = f"/upload/photos/{i}"
        yield path if clean else path.replace("/items/", "/./items//") + ";v=1"


def _django_installed() -> bool:
    try:
        import django  # noqa: F401
    except ImportError:
        return False
    return True
