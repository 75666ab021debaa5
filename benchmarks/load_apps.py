"""The apps ``benchmarks/load.py`` serves under gunicorn and uvicorn.

Which one, and with which maintenance middleware, is chosen by environment
variables the benchmark sets for the server it starts:

- ``BENCH_VARIANT``: ``none`` (the bare example app), ``maintguard``, or the
  competitor (``django-maintenance-mode``, ``fastapi-maintenance``);
- ``MAINTENANCE_STORE_URL``: maintguard's store (Redis or PostgreSQL).

``flask_app`` and ``fastapi_app`` are the examples under ``examples/``,
unwrapped for ``none``; ``django_app`` is a minimal Django project with the
same routes, for the Django rows. maintguard's log lines go to stderr, so
the benchmark can count them.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

VARIANT = os.environ.get("BENCH_VARIANT", "maintguard")

# The lines a blocked flood writes are counted from stderr.
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")


def _service() -> Any:
    from maintguard import MaintenanceService

    return MaintenanceService(os.environ.get("MAINTENANCE_STORE_URL", "memory://"))


def _flask() -> Any:
    from examples.flask_app.app import create_app

    app = create_app(_service())
    if VARIANT == "none":
        app.wsgi_app = app.wsgi_app.app  # type: ignore[attr-defined, method-assign]
    return app


def _nodelay_under_uvicorn() -> None:
    """TCP_NODELAY on every connection uvicorn's workers accept.

    asyncio sets it only on sockets whose ``proto`` is TCP; the listening
    socket uvicorn shares with its ``--workers`` reports 0, so Nagle stays on
    and an answer written in two parts (start, body) waits ~40 ms for the
    client's delayed ACK — every app alike, maintguard or not. A production
    deployment under ``uvicorn --workers`` meets the same; the bench measures
    the apps, not that.
    """
    import socket

    from uvicorn.protocols.http.h11_impl import H11Protocol

    made = H11Protocol.connection_made

    def connection_made(self: Any, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        made(self, transport)

    H11Protocol.connection_made = connection_made  # type: ignore[method-assign]


def _fastapi() -> Any:
    _nodelay_under_uvicorn()
    from examples.fastapi_app.app import create_app

    from maintguard.asgi import MaintenanceMiddleware

    app = create_app(_service())
    if VARIANT != "maintguard":  # the stack is built at the first request
        app.user_middleware = [m for m in app.user_middleware if m.cls is not MaintenanceMiddleware]
    if VARIANT == "fastapi-maintenance":
        from fastapi_maintenance import MaintenanceModeMiddleware

        app.add_middleware(MaintenanceModeMiddleware)  # FASTAPI_MAINTENANCE_MODE
    return app


# ----------------------------------------------------------------- Django

SERVICE: Any = None


def _django() -> Any:
    global SERVICE
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.load_settings"
    if VARIANT == "maintguard":
        SERVICE = _service()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


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
