"""The example apps, built from the environment, for the console's server tests.

gunicorn serves ``tests.console_apps:wsgi`` (the Flask example) and uvicorn
``tests.console_apps:asgi`` (the FastAPI example); the test sets
MAINTENANCE_STORE_URL, MAINTENANCE_ADMIN_TOKENS and the events options.
"""

from __future__ import annotations

import os
import time
from typing import Any

from maintguard import MaintenanceService


def _service() -> MaintenanceService:
    return MaintenanceService.from_env(notifiers=())


def _spread(app: Any) -> Any:
    """Slow enough that concurrent requests reach every worker; says which one."""

    def spread(environ: Any, start_response: Any) -> Any:
        time.sleep(0.02)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Worker", str(os.getpid())))
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return spread


def __getattr__(name: str) -> Any:
    # Built on first access, in the server process, so importing this
    # module for one kind of app never builds the other.
    if name == "wsgi":
        from examples.flask_app.app import create_app

        return create_app(_service())
    if name == "wsgi_spread":
        return _spread(__getattr__("wsgi"))
    if name == "asgi":
        from examples.fastapi_app.app import create_app as create_asgi

        return create_asgi(_service())
    raise AttributeError(name)
