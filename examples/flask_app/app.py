"""A small Flask app with the seeds' routes, protected by maintguard.

Run it with ``python3 dev.py demo`` (from the repository root), or under a
real server, several workers agreeing through one SQLite file::

    gunicorn -w 4 examples.flask_app.app:app

The state lives where ``MAINTENANCE_STORE_URL`` says (default: a SQLite file
in ``.maintguard-demo/``, beside a stable admin token). Users log in with
Flask-Login; ``admin`` is an admin to maintguard too, so it keeps working
(writes, ``/admin``) during maintenance and emergencies.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request, session
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from examples.demo_state import admin_token, lazy_demo, redis_url
from maintguard import MaintenanceService, OperationType
from maintguard.flask import Maintenance

HERE = Path(__file__).resolve().parent


class User(UserMixin):
    def __init__(self, name: str, password: str, role: str) -> None:
        self.id = name
        self.password = password
        self.role = role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


#: The demo's users and their roles (a real app reads its database).
USERS = {
    "admin": User("admin", "admin-password", "admin"),
    "alice": User("alice", "alice-password", "user"),
}
ADMINS = {name for name, user in USERS.items() if user.is_admin}

maintenance = Maintenance(
    is_admin=lambda: current_user.is_authenticated and current_user.is_admin,
)


def create_app(service: MaintenanceService, key: str | None = None) -> Flask:
    """The app; ``key`` signs its sessions (default: a random one, for one process)."""
    app = Flask(__name__)
    app.secret_key = key or secrets.token_hex(16)
    login_manager = LoginManager(app)
    queue = None
    if redis_url() is not None:
        import redis
        from rq import Queue

        from examples.redis_parts import RedisSessionInterface

        app.session_interface = RedisSessionInterface(str(redis_url()))
        queue = Queue("default", connection=redis.Redis.from_url(str(redis_url())))

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return USERS.get(user_id)

    @app.get("/")
    def index() -> str:
        name = current_user.id if current_user.is_authenticated else "guest"
        return f"<h1>Vedfolnir demo</h1><p>Hello, {name}. Everything is running.</p>"

    @app.get("/health")
    def health() -> tuple[dict[str, str], int]:
        return {"status": "ok"}, 200

    @app.get("/whoami")
    def whoami() -> tuple[object, int]:
        name = current_user.id if current_user.is_authenticated else None
        return jsonify(user=name), 200

    @app.post("/login")
    def login() -> tuple[object, int]:
        body: dict[str, Any] = request.get_json(silent=True) or request.form.to_dict()
        user = USERS.get(str(body.get("username", "")))
        password = str(body.get("password", "")).encode()
        if user is None or not secrets.compare_digest(user.password.encode(), password):
            return jsonify(error="unknown user or wrong password"), 401
        # The app decides who is an admin; maintguard decides whether they may log in now.
        if not service.check_login(is_admin=user.is_admin):
            return jsonify(error="logins are paused for maintenance"), 503
        login_user(user)
        session["role"] = user.role  # what RedisSessionInvalidator keeps admins by
        return jsonify(user=user.id), 200

    @app.post("/logout")
    def logout() -> tuple[object, int]:
        logout_user()
        return jsonify(ok=True), 200

    @app.post("/start_caption_generation")
    def start_caption_generation() -> tuple[object, int]:
        return jsonify(job="caption-generation started"), 202

    @app.post("/api/jobs")
    def create_job() -> tuple[object, int]:
        if queue is None:
            return jsonify(job="created"), 201
        job = queue.enqueue("examples.redis_parts.generate_captions", 5)
        return jsonify(job=job.id), 201

    @app.get("/api/jobs")
    def list_jobs() -> tuple[object, int]:
        return jsonify(jobs=[]), 200

    @app.get("/reports/<int:report_id>/export")
    @maintenance.operation(OperationType.JOB_CREATION)  # a GET that starts a job
    def export(report_id: int) -> tuple[object, int]:
        return jsonify(export=report_id), 202

    @app.post("/hooks/payment")
    @maintenance.exempt  # the payment provider's callback is never refused
    def payment_hook() -> tuple[object, int]:
        return jsonify(received=True), 200

    @app.post("/upload")
    def upload() -> tuple[object, int]:
        return jsonify(uploaded=True), 201

    @app.post("/profile")
    @login_required
    def profile() -> tuple[object, int]:
        return jsonify(saved=True), 200

    @app.get("/admin")
    def admin() -> str:
        return "<h1>Admin dashboard</h1>"

    maintenance.init_app(app, service)
    return app


#: ``app`` and ``service`` are built on first use (``gunicorn …:app``).
__getattr__ = lazy_demo(create_app)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    flask_app = __getattr__("app")
    token = admin_token()
    base = f"http://{args.host}:{args.port}"
    store = os.environ["MAINTENANCE_STORE_URL"]
    print(
        f"""
maintguard demo on {base}  (state in {store})
  users: admin / admin-password (a maintguard admin), alice / alice-password
  Log lines: tail -f {os.environ.get("MAINTENANCE_LOG_FILE", "(logging as configured)")}

  Switch maintenance on:
    curl -X POST {base}/api/maintenance/enable -H "Authorization: Bearer {token}" \\
         -d '{{"reason": "Database upgrade", "duration": 600}}'
  Try a blocked operation (503) and a read (200):
    curl -i -X POST {base}/start_caption_generation
    curl -i {base}/
  Test mode (nothing blocked, would-be blocks counted):
    curl -X POST {base}/api/maintenance/enable -H "Authorization: Bearer {token}" \\
         -d '{{"reason": "Rehearsal", "mode": "test"}}'
  Emergency (only admins and health checks pass):
    curl -X POST {base}/api/maintenance/emergency -H "Authorization: Bearer {token}" \\
         -d '{{"reason": "Security incident"}}'
  Status:
    curl {base}/api/maintenance/status
  Operator console (paste the token above):
    {base}/api/maintenance/dashboard
  Switch it off again:
    curl -X POST {base}/api/maintenance/disable -H "Authorization: Bearer {token}"
  Or from a shell:
    .venv/bin/maintguard enable --store {store} --reason "Database upgrade"
    .venv/bin/maintguard disable --store {store}
""",
        flush=True,
    )
    try:
        flask_app.run(host=args.host, port=args.port, use_reloader=False)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":  # python -m examples.….app, from the repository root
    main()
