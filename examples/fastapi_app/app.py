"""A small FastAPI app with the seeds' routes, protected by maintguard.

The same routes as the Flask example (``examples/flask_app``), protected
with ``maintguard.starlette.install``. Run it under a real server, several
workers agreeing through one SQLite file::

    uvicorn --workers 2 examples.fastapi_app.app:app

The state lives where ``MAINTENANCE_STORE_URL`` says (default: a SQLite file
in ``.maintguard-demo/``, beside a stable admin token, as the Flask demo).
Users log in into a ``SessionMiddleware`` cookie session; ``admin`` is an
admin to maintguard (read from the session by a FastAPI dependency and by
the ``is_admin`` resolver), so it keeps working during maintenance.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.middleware.sessions import SessionMiddleware

from examples.demo_state import lazy_demo
from maintguard import MaintenanceService
from maintguard.starlette import admin_dependency, install, operation

HERE = Path(__file__).resolve().parent
#: name -> (password, role); a real app reads its database.
USERS = {"admin": ("admin-password", "admin"), "alice": ("alice-password", "user")}
ADMINS = {name for name, (_, role) in USERS.items() if role == "admin"}


def session_user(request: Request) -> str | None:
    """The logged-in user's name (the app's own "current user" dependency)."""
    user = request.session.get("user")
    return user if isinstance(user, str) and user in USERS else None


def user_is_admin(user: str | None = Depends(session_user)) -> bool:
    return user in ADMINS


maintenance_admin = admin_dependency(user_is_admin)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def create_app(service: MaintenanceService, key: str | None = None) -> FastAPI:
    """The app; ``key`` signs its sessions (default: a random one, for one process)."""
    app = FastAPI(title="Vedfolnir demo")

    # HEAD as well: the rollback manual checks the app with `curl -I /`.
    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
    async def index(request: Request) -> str:
        user = request.session.get("user", "guest")
        return f"<h1>Vedfolnir demo</h1><p>Hello, {user}. Everything is running.</p>"

    @app.api_route("/health", methods=["GET", "HEAD"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    async def whoami(user: str | None = Depends(session_user)) -> dict[str, str | None]:
        return {"user": user}

    @app.post("/login")
    async def login(request: Request) -> JSONResponse:
        body = await _json_body(request)
        user = str(body.get("username", ""))
        password = str(body.get("password", "")).encode()
        known = USERS.get(user)
        if known is None or not secrets.compare_digest(known[0].encode(), password):
            return JSONResponse({"error": "unknown user or wrong password"}, status_code=401)
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

    @app.post("/api/jobs", status_code=201, dependencies=[Depends(maintenance_admin)])
    async def create_job() -> dict[str, str]:
        return {"job": "created"}

    @app.get("/api/jobs")
    async def list_jobs() -> dict[str, list[str]]:
        return {"jobs": []}

    @app.get("/reports/{report_id}/export", status_code=202)
    @operation("JOB_CREATION")  # a GET that starts a job
    async def export(report_id: int) -> dict[str, int]:
        return {"export": report_id}

    @app.post("/upload", status_code=201)
    async def upload() -> dict[str, bool]:
        return {"uploaded": True}

    @app.post("/profile")
    async def profile() -> dict[str, bool]:
        return {"saved": True}

    @app.get("/admin", response_class=HTMLResponse)
    async def admin() -> str:
        return "<h1>Admin dashboard</h1>"

    app.add_middleware(SessionMiddleware, secret_key=key or secrets.token_hex(16))
    # The resolver reads the same session for routes without the dependency.
    install(app, service, is_admin=lambda request: session_user(request) in ADMINS)
    return app


#: ``app`` and ``service`` are built on first use (``uvicorn …:app``).
__getattr__ = lazy_demo(create_app)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    uvicorn.run(__getattr__("app"), host=args.host, port=args.port)


if __name__ == "__main__":  # python -m examples.….app, from the repository root
    main()
