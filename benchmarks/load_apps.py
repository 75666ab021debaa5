"""The apps ``benchmarks/load.py`` serves under gunicorn and uvicorn.

Which one, and with which maintenance middleware, is chosen by environment
variables the benchmark sets for the server it starts:

- ``BENCH_VARIANT``: ``none`` (the bare example app), ``maintguard``, or the
  competitor (``django-maintenance-mode``, ``fastapi-maintenance``);
- ``MAINTENANCE_STORE_URL`` and the other ``MAINTENANCE_*`` settings:
  maintguard's service, read with ``MaintenanceService.from_env()``.

``flask_app`` and ``fastapi_app`` are the examples under ``examples/``. The
bare and competitor variants are built with maintguard's integration calls
patched out while the example builds (``init_app``, ``install``, the
``admin_dependency``), so they carry no maintguard code at all;
``_check_bare`` stops the worker at start-up if anything of maintguard is
left. ``django_app`` is a minimal Django project with the same routes, for
the Django rows. maintguard's log lines go to stderr, so the benchmark can
count them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

VARIANT = os.environ.get("BENCH_VARIANT", "maintguard")
#: The examples' ``create_app`` takes the service for ``/login`` alone,
#: which the bench never requests: an app without maintguard holds none.
NO_SERVICE: Any = None

# The lines a blocked flood writes are counted from stderr.
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")


def _service() -> Any:
    from maintguard import MaintenanceService

    # From the environment, as a deployment builds it: the bench sets the
    # store and MAINTENANCE_RESOLVER_HEADERS as the examples' demo does.
    return MaintenanceService.from_env()


def _flask() -> Any:
    from examples.flask_app import app as example

    if VARIANT == "maintguard":
        return example.create_app(_service())
    # init_app is all of maintguard the example installs: the middleware,
    # the request-context hook, the session stamp, the CLI group.
    with mock.patch.object(example.maintenance, "init_app"):
        app = example.create_app(NO_SERVICE)
    _check_bare(app)
    return app


def _nodelay_under_uvicorn() -> None:
    """TCP_NODELAY on every connection uvicorn's workers accept.

    asyncio sets it only on sockets whose ``proto`` is TCP; the listening
    socket uvicorn shares with its ``--workers`` reports 0, so Nagle stays on
    and an answer written in two parts (start, body) waits ~40 ms for the
    client's delayed ACK — every app alike, maintguard or not. A production
    deployment under ``uvicorn --workers`` meets the same; the bench measures
    the apps, not that. Both HTTP implementations the bench names
    (``--http h11``, ``--http httptools``) are patched.
    """
    import socket

    from uvicorn.protocols.http.h11_impl import H11Protocol

    protocols: list[Any] = [H11Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools not installed: only h11 can be asked for
        pass
    else:
        protocols.append(HttpToolsProtocol)
    for protocol in protocols:
        made = protocol.connection_made

        def connection_made(self: Any, transport: Any, made: Any = made) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            made(self, transport)

        protocol.connection_made = connection_made


def _accept_evenly_under_uvicorn() -> None:
    """One connection per wake-up of each uvicorn worker's accept.

    The workers of ``uvicorn --workers`` share one listening socket, and
    asyncio accepts up to ``backlog`` (2048) waiting connections each time
    it wakes: wrk's 32 connections, opened at once, often all went to one
    worker (32 and 0, 31 and 1), which then served the run alone at half
    the throughput while the other idled. Taken one at a time, they are
    shared by both workers' loops, which the same connection wakes. Only
    the batch changes: the listen queue keeps uvicorn's backlog.
    """
    from asyncio import selector_events

    loop_class: Any = selector_events.BaseSelectorEventLoop
    accept = loop_class._accept_connection

    def accept_one(
        self: Any, factory: Any, sock: Any, ssl: Any = None, server: Any = None,
        backlog: int = 100, *args: Any, **kwargs: Any,
    ) -> Any:  # fmt: skip
        return accept(self, factory, sock, ssl, server, 1, *args, **kwargs)

    loop_class._accept_connection = accept_one


def _not_installed(app: Any, service: Any, **options: Any) -> Any:
    return app


def _fastapi() -> Any:
    _nodelay_under_uvicorn()
    _accept_evenly_under_uvicorn()
    from examples.fastapi_app import app as example

    if VARIANT == "maintguard":
        return example.create_app(_service())
    # install() adds the middleware, the router guard, the control API, the
    # exception handler and the lifespan; the example's admin_dependency
    # becomes the app's own user_is_admin, as the app would have it alone.
    with (
        mock.patch.object(example, "install", _not_installed),
        mock.patch.object(example, "maintenance_admin", example.user_is_admin),
    ):
        app = example.create_app(NO_SERVICE)
    if VARIANT == "fastapi-maintenance":
        from fastapi_maintenance import MaintenanceModeMiddleware

        app.add_middleware(MaintenanceModeMiddleware)  # FASTAPI_MAINTENANCE_MODE
    _check_bare(app)
    return app


# ------------------------------------------------------- nothing of ours


def _check_bare(app: Any) -> None:
    """Stop the worker if a bare or competitor app still carries maintguard:
    its figures would be maintguard's, not the app's (or the competitor's)."""
    found = list(_maintguard_parts(app))
    if found:
        raise RuntimeError(
            f"the {VARIANT!r} bench app still carries maintguard: {'; '.join(found)}"
        )


def _ours(thing: object) -> bool:
    module = getattr(thing, "__module__", None)
    if not isinstance(module, str):
        module = type(thing).__module__
    return module.partition(".")[0] == "maintguard"


def _maintguard_parts(app: Any) -> Iterator[str]:
    if hasattr(app, "url_map"):  # Flask
        yield from _flask_parts(app)
    elif hasattr(app, "user_middleware"):  # Starlette, FastAPI
        yield from _starlette_parts(app)
    else:  # Django's WSGIHandler: what the settings load into it
        yield from _django_parts()


def _flask_parts(app: Any) -> Iterator[str]:
    layer = app.wsgi_app
    while layer is not None:
        if _ours(layer):
            yield f"WSGI middleware {type(layer).__name__}"
        layer = getattr(layer, "app", None)
    if _ours(vars(app).get("preprocess_request")):
        yield "the request-context hook (preprocess_request)"
    for kind in ("before_request_funcs", "after_request_funcs", "teardown_request_funcs"):
        for functions in getattr(app, kind).values():
            yield from (f"{kind}: {f.__name__}" for f in functions if _ours(f))
    yield from (f"view {name}" for name, view in app.view_functions.items() if _ours(view))
    if "maintguard" in app.extensions:
        yield "the maintguard extension"
    if "maintguard" in app.cli.commands:
        yield "the flask maintguard command"


def _starlette_parts(app: Any) -> Iterator[str]:
    yield from (f"ASGI middleware {m.cls.__name__}" for m in app.user_middleware if _ours(m.cls))
    router = app.router
    if _ours(getattr(router, "middleware_stack", None)):
        yield f"router guard {type(router.middleware_stack).__name__}"
    if _ours(router.lifespan_context):
        yield "the service's lifespan"
    for kind, handler in app.exception_handlers.items():
        if _ours(kind) or _ours(handler):
            yield f"exception handler for {getattr(kind, '__name__', kind)}"
    for route in _routes(app.routes):
        path = getattr(route, "path", "(included router)")
        if _ours(getattr(route, "endpoint", None)):
            yield f"route {path}"
        for call in _dependencies(getattr(route, "dependant", None)):
            if _ours(call):
                yield f"dependency {path}: {call.__name__}"


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every route, those behind mounts and included routers too."""
    for route in routes:
        yield route
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        inner = included.routes if included is not None else getattr(route, "routes", None)
        if inner:
            yield from _routes(inner)


def _dependencies(dependant: Any) -> Iterator[Any]:
    for sub in getattr(dependant, "dependencies", ()):
        yield sub.call
        yield from _dependencies(sub)


def _django_parts() -> Iterator[str]:
    from django.conf import settings

    yield from (f"middleware {m}" for m in settings.MIDDLEWARE if m.startswith("maintguard"))
    yield from (f"app {a}" for a in settings.INSTALLED_APPS if a.startswith("maintguard"))
    if SERVICE is not None:
        yield "the service"


# ----------------------------------------------------------------- Django

SERVICE: Any = None


def _django() -> Any:
    global SERVICE
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.load_settings"
    if VARIANT == "maintguard":
        SERVICE = _service()
    from django.core.wsgi import get_wsgi_application

    handler = get_wsgi_application()
    if VARIANT != "maintguard":
        _check_bare(handler)
    return handler


def _index(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(b"<h1>Vedfolnir demo</h1><p>Everything is running.</p>")


def _upload(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"uploaded": True}, status=201)


def _urls() -> list[Any]:
    if VARIANT not in ("none", "maintguard", "django-maintenance-mode"):
        return []
    try:
        from django.urls import path
        from django.views.decorators.csrf import csrf_exempt
    except ImportError:
        return []
    return [path("", _index), path("upload", csrf_exempt(_upload))]


APP_KIND = os.environ.get("BENCH_APP", "")
if APP_KIND == "flask":
    flask_app = _flask()
elif APP_KIND == "fastapi":
    fastapi_app = _fastapi()
elif APP_KIND == "django":
    # Before the app: the middleware reads the URL declarations when it is built.
    urlpatterns = _urls()
    django_app = _django()
