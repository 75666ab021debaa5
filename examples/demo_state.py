"""Where the demos keep their state: a SQLite file and a stable admin token.

``MAINTENANCE_STORE_URL`` wins; else ``.maintguard-demo/state.db`` (or
``$MAINTGUARD_DEMO_DIR/state.db``), one file every worker process shares.
The admin token is ``MAINTENANCE_ADMIN_TOKENS`` if set, else one made once
and kept beside the state (mode 0600), so it survives restarts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maintguard import MaintenanceService

STATE_DIR = Path(
    os.environ.get("MAINTGUARD_DEMO_DIR")
    or Path(__file__).resolve().parent.parent / ".maintguard-demo"
)


def kept_secret(name: str) -> str:
    """A random secret made once and kept in ``STATE_DIR/name`` (mode 0600).

    Several workers may start at once: each writes its candidate to a file of
    its own and links it into place; the first link wins and every worker
    reads the winner, so all of them agree.
    """
    path = STATE_DIR / name
    if not path.exists():
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        candidate = STATE_DIR / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another worker was first: use its secret
        finally:
            candidate.unlink()
    return path.read_text().strip()


def admin_token() -> str:
    """The demo's admin token: ``MAINTENANCE_ADMIN_TOKENS`` if set, else one
    made once and kept beside the state, so it survives restarts."""
    configured = os.environ.get("MAINTENANCE_ADMIN_TOKENS", "").strip()
    if configured:
        return configured.split(",")[0].split(":", 1)[-1]
    return kept_secret("admin-token")


def secret_key() -> str:
    """The session signing key: ``DEMO_SECRET_KEY``, else kept beside the
    state, so every worker (and every restart) signs cookies alike."""
    return os.environ.get("DEMO_SECRET_KEY", "").strip() or kept_secret("secret-key")


def redis_url() -> str | None:
    """``DEMO_REDIS_URL``: server-side sessions and an RQ job queue when set."""
    return os.environ.get("DEMO_REDIS_URL", "").strip() or None


def demo_service() -> MaintenanceService:
    """The demo's service: settings from the environment, a SQLite file by
    default; with ``DEMO_REDIS_URL``, Redis sessions are ended and RQ jobs
    stopped by maintenance."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MAINTENANCE_STORE_URL", f"sqlite:///{STATE_DIR / 'state.db'}")
    os.environ.setdefault("MAINTENANCE_ADMIN_TOKENS", f"demo:{admin_token()}")
    # The manuals' greps read a log file; the demo writes one next to its state.
    os.environ.setdefault("MAINTENANCE_LOG_FILE", str(STATE_DIR / "maintenance.log"))
    # The examples' is_admin reads the login session, a cookie: a request
    # without one is judged without asking it (and a flood of them is
    # answered from memory).
    os.environ.setdefault("MAINTENANCE_RESOLVER_HEADERS", "cookie")
    effects: dict[str, object] = {}
    url = redis_url()
    if url is not None:
        from maintguard.jobs import RQJobTerminator
        from maintguard.sessions import RedisSessionInvalidator

        effects = {
            "session_invalidator": RedisSessionInvalidator(url, prefix="session:"),
            "job_terminator": RQJobTerminator(url),
        }
    service = MaintenanceService.from_env(**effects)
    init = getattr(service.store, "create_schema", None)
    if init is not None:
        init()
    return service


def lazy_demo(create_app: Callable[[MaintenanceService, str], Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving ``app`` and ``service``, built on first
    use (``gunicorn …:app`` asks for ``app``), so that importing the module's
    ``create_app`` touches nothing."""
    built: dict[str, Any] = {}

    def attribute(name: str) -> Any:
        if name not in ("app", "service"):
            raise AttributeError(name)
        if not built:
            service = demo_service()
            built.update(service=service, app=create_app(service, secret_key()))
        return built[name]

    return attribute
