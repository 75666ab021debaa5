"""A WSGI app for the pre-fork test: built once in gunicorn's master (--preload).

The service is created at import, before gunicorn forks its workers, as an
application's module-level service would be. Nothing may start a thread or
open a connection before the fork.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from maintguard import MaintenanceService
from maintguard.wsgi import MaintenanceMiddleware

service = MaintenanceService(os.environ["MAINTENANCE_STORE_URL"], refresh_interval=0.2)


def _app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Worker", str(os.getpid()))])
    return [b"ok"]


def _blocked_with_pid(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    # Slow enough that concurrent requests spread over every worker.
    time.sleep(0.02)

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers.append(("X-Worker", str(os.getpid())))
        return start_response(status, headers, exc_info)

    return middleware(environ, start)


middleware = MaintenanceMiddleware(_app, service)
application = _blocked_with_pid
