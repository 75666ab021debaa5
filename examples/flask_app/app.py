"""A small Flask app with the seeds' routes, protected by maintguard.

Run it with ``python3 dev.py demo`` (from the repository root). It serves on
127.0.0.1:8000 and prints how to switch maintenance on and off.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from flask import Flask, jsonify, request, session

from maintguard import MaintenanceService
from maintguard.wsgi import MaintenanceMiddleware

HERE = Path(__file__).resolve().parent
ADMINS = {"admin"}


def create_app(service: MaintenanceService) -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ.get("DEMO_SECRET_KEY") or secrets.token_hex(16)

    @app.get("/")
    def index() -> str:
        user = session.get("user", "guest")
        return f"<h1>Vedfolnir demo</h1><p>Hello, {user}. Everything is running.</p>"

    @app.get("/health")
    def health() -> tuple[dict[str, str], int]:
        return {"status": "ok"}, 200

    @app.post("/login")
    def login() -> tuple[object, int]:
        body = request.get_json(silent=True) or {}
        user = str(body.get("username", ""))
        if not user:
            return jsonify(error="username required"), 400
        # The app decides who is an admin; maintguard decides whether they may log in now.
        if not service.check_login(is_admin=user in ADMINS):
            return jsonify(error="logins are paused for maintenance"), 503
        session["user"] = user
        return jsonify(user=user), 200

    @app.post("/logout")
    def logout() -> tuple[object, int]:
        session.clear()
        return jsonify(ok=True), 200

    @app.post("/start_caption_generation")
    def start_caption_generation() -> tuple[object, int]:
        return jsonify(job="caption-generation started"), 202

    @app.post("/api/jobs")
    def create_job() -> tuple[object, int]:
        return jsonify(job="created"), 201

    @app.get("/api/jobs")
    def list_jobs() -> tuple[object, int]:
        return jsonify(jobs=[]), 200

    @app.post("/upload")
    def upload() -> tuple[object, int]:
        return jsonify(uploaded=True), 201

    @app.post("/profile")
    def profile() -> tuple[object, int]:
        return jsonify(saved=True), 200

    @app.get("/admin")
    def admin() -> str:
        return "<h1>Admin dashboard</h1>"

    app.wsgi_app = MaintenanceMiddleware(app.wsgi_app, service)  # type: ignore[method-assign]
    return app


def demo_service() -> MaintenanceService:
    """The demo's service: settings from the environment, a SQLite file by default."""
    state_dir = HERE.parent.parent / ".maintguard-demo"
    state_dir.mkdir(exist_ok=True)
    os.environ.setdefault("MAINTENANCE_STORE_URL", f"sqlite:///{state_dir / 'state.db'}")
    os.environ.setdefault("MAINTENANCE_ADMIN_TOKENS", f"demo:{secrets.token_urlsafe(24)}")
    # The manuals' greps read a log file; the demo writes one next to its state.
    os.environ.setdefault("MAINTENANCE_LOG_FILE", str(state_dir / "maintenance.log"))
    service = MaintenanceService.from_env()
    init = getattr(service.store, "create_schema", None)
    if init is not None:
        init()
    return service


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    service = demo_service()
    app = create_app(service)
    token = os.environ["MAINTENANCE_ADMIN_TOKENS"].split(",")[0].split(":", 1)[-1]
    base = f"http://{args.host}:{args.port}"
    store = os.environ["MAINTENANCE_STORE_URL"]
    print(
        f"""
maintguard demo on {base}  (state in {store})
  Log lines: tail -f {os.environ["MAINTENANCE_LOG_FILE"]}

  Switch maintenance on:
    curl -X POST {base}/api/maintenance/enable -H "Authorization: Bearer {token}" \\
         -d '{{"reason": "Database upgrade", "duration": 600}}'
  Try a blocked operation (503) and a read (200):
    curl -i -X POST {base}/start_caption_generation
    curl -i {base}/
  Status:
    curl {base}/api/maintenance/status
  Switch it off again:
    curl -X POST {base}/api/maintenance/disable -H "Authorization: Bearer {token}"
  Or from a shell:
    .venv/bin/maintguard enable --store {store} --reason "Database upgrade"
    .venv/bin/maintguard disable --store {store}
""",
        flush=True,
    )
    try:
        app.run(host=args.host, port=args.port, use_reloader=False)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent / "src"))
    main()
