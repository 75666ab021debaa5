"""A small FastAPI app with the seeds' routes, protected by maintguard.

The same routes as the Flask example (``examples/flask_app``), wrapped with
the pure ASGI ``maintguard.asgi.MaintenanceMiddleware``. Run it with::

    export MAINTENANCE_ADMIN_TOKENS="demo:$(openssl rand -hex 24)"   # 16 characters at least
    MAINTENANCE_STORE_URL=sqlite:///maint.db python examples/fastapi_app/app.py --port 8000
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.middleware.sessions import SessionMiddleware

from maintguard import MaintenanceService
from maintguard.asgi import MaintenanceMiddleware

HERE = Path(__file__).resolve().parent
ADMINS = {"admin"}


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def create_app(service: MaintenanceService) -> FastAPI:
    app = FastAPI(title="Vedfolnir demo")

    # HEAD as well: the rollback manual checks the app with `curl -I /`.
    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
    async def index(request: Request) -> str:
        user = request.session.get("user", "guest")
        return f"<h1>Vedfolnir demo</h1><p>Hello, {user}. Everything is running.</p>"

    @app.api_route("/health", methods=["GET", "HEAD"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/login")
    async def login(request: Request) -> JSONResponse:
        user = str((await _json_body(request)).get("username", ""))
        if not user:
            return JSONResponse({"error": "username required"}, status_code=400)
        # The app decides who is an admin; maintguard decides whether they may log in now.
        if not service.check_login(is_admin=user in ADMINS):
            return JSONResponse({"error": "logins are paused for maintenance"}, status_code=503)
        request.session["user"] = user
        return JSONResponse({"user": user})

    @app.post("/logout")
    async def logout(request: Request) -> dict[str, bool]:
        request.session.clear()
        return {"ok": True}

    @app.post("/start_caption_generation", status_code=202)
    async def start_caption_generation() -> dict[str, str]:
        return {"job": "caption-generation started"}

    @app.post("/api/jobs", status_code=201)
    async def create_job() -> dict[str, str]:
        return {"job": "created"}

    @app.get("/api/jobs")
    async def list_jobs() -> dict[str, list[str]]:
        return {"jobs": []}

    @app.post("/upload", status_code=201)
    async def upload() -> dict[str, bool]:
        return {"uploaded": True}

    @app.post("/profile")
    async def profile() -> dict[str, bool]:
        return {"saved": True}

    @app.get("/admin", response_class=HTMLResponse)
    async def admin() -> str:
        return "<h1>Admin dashboard</h1>"

    secret_key = os.environ.get("DEMO_SECRET_KEY") or secrets.token_hex(16)
    app.add_middleware(SessionMiddleware, secret_key=secret_key)
    # Added last, so it is the outermost layer: it sees every request first.
    app.add_middleware(MaintenanceMiddleware, service=service)
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # The manuals' greps read a log file: write one unless told otherwise.
    os.environ.setdefault("MAINTENANCE_LOG_FILE", "maintenance.log")
    service = MaintenanceService.from_env()
    init = getattr(service.store, "create_schema", None)
    if init is not None:
        init()
    uvicorn.run(create_app(service), host=args.host, port=args.port)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent / "src"))
    main()
