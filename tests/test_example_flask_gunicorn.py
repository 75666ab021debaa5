"""The Flask example under gunicorn with 4 workers (no --preload), over real HTTP.

The workers share one SQLite file; maintenance is switched from the
``maintguard`` command and from ``flask maintguard``, and every worker
follows. A Flask-Login admin keeps working; a plain user is blocked and
logged out of the signed cookie session by the maintenance.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.realserver import (
    Browser,
    binary,
    demo_env,
    line_count,
    pids_answering,
    run,
    serving,
    until_all,
)

pytestmark = pytest.mark.slow
WORKERS = 4


@pytest.fixture(scope="module")
def flask_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str], Path]]:
    directory = tmp_path_factory.mktemp("flask-example")
    env = demo_env(directory)
    run([binary("maintguard"), "init-db"], env)
    port = servers.free_port()
    log = directory / "access.log"
    command = [
        binary("gunicorn"),
        "--workers",
        str(WORKERS),
        "--bind",
        f"127.0.0.1:{port}",
        "--access-logfile",
        str(log),
        "--access-logformat",
        "%(p)s %(s)s %(U)s",
        "--log-level",
        "warning",
        "examples.flask_app.app:app",
    ]
    with serving(command, env, port) as base:
        yield base, env, log


def _disable(env: dict[str, str]) -> None:
    run([binary("maintguard"), "disable"], env)


def test_a_cli_enable_reaches_every_gunicorn_worker(
    flask_server: tuple[str, dict[str, str], Path],
) -> None:
    """`maintguard enable` once: every one of the 4 workers answers 503 to a write."""
    base, env, log = flask_server
    anonymous = Browser(base)
    assert {201} == set(until_all(lambda: anonymous.post("/upload"), 201))
    run([binary("maintguard"), "enable", "--reason", "Database upgrade"], env)
    try:
        since = line_count(log)
        answers = until_all(lambda: anonymous.post("/upload"), 503)
        assert {503} == set(answers)
        # More rounds, so every worker is seen answering after the change.
        for _ in range(5):
            until_all(lambda: anonymous.post("/upload"), 503)
        assert WORKERS == len(pids_answering(log, 503, "/upload", since))
        assert set() == pids_answering(log, 201, "/upload", line_count(log))
    finally:
        _disable(env)
    assert {201} == set(until_all(lambda: anonymous.post("/upload"), 201))


def test_flask_login_admin_passes_a_plain_user_is_blocked_and_logged_out(
    flask_server: tuple[str, dict[str, str], Path],
) -> None:
    """Switched with `flask maintguard`: the admin's writes pass, alice's are
    503 and her cookie session, made before the maintenance, ends."""
    base, env, _ = flask_server
    admin, alice = Browser(base), Browser(base)
    assert 200 == admin.post("/login", {"username": "admin", "password": "admin-password"})
    assert 200 == alice.post("/login", {"username": "alice", "password": "alice-password"})
    assert "alice" == alice.json("/whoami")["user"]
    flask = [binary("flask"), "--app", "examples.flask_app.app", "maintguard"]
    run([*flask, "enable", "--reason", "Schema migration"], env)
    try:
        until_all(lambda: Browser(base).post("/upload"), 503)
        assert {201} == set(until_all(lambda: admin.post("/upload"), 201))
        assert {503} == set(until_all(lambda: alice.post("/upload"), 503))
        assert alice.json("/whoami")["user"] is None
        assert "admin" == admin.json("/whoami")["user"]
        status = run([*flask, "status", "--json"], env).stdout
        assert '"is_active": true' in status
    finally:
        run([*flask, "disable"], env)
    assert alice.json("/whoami")["user"] is None  # ended, not suspended


def test_in_an_emergency_only_the_admin_reaches_admin_pages(
    flask_server: tuple[str, dict[str, str], Path],
) -> None:
    """The demo's own admin login is an admin to maintguard: /admin in an emergency."""
    base, env, _ = flask_server
    admin, anonymous = Browser(base), Browser(base)
    assert 200 == admin.post("/login", {"username": "admin", "password": "admin-password"})
    run([binary("maintguard"), "emergency", "--reason", "Security incident"], env)
    try:
        assert {503} == set(until_all(lambda: anonymous.get("/admin")[0], 503))
        assert {200} == set(until_all(lambda: admin.get("/admin")[0], 200))
        assert 200 == anonymous.get("/health")[0]
    finally:
        _disable(env)


def test_declared_views_under_gunicorn(flask_server: tuple[str, dict[str, str], Path]) -> None:
    """@maintenance.operation blocks a GET that starts a job; @maintenance.exempt serves a POST."""
    base, env, _ = flask_server
    anonymous = Browser(base)
    run([binary("maintguard"), "enable", "--reason", "Upgrade"], env)
    try:
        assert {503} == set(until_all(lambda: anonymous.get("/reports/7/export")[0], 503))
        assert {200} == set(until_all(lambda: anonymous.post("/hooks/payment"), 200))
        assert 503 != anonymous.get("/robots.txt")[0]  # exempt: the app answers (404 here)
    finally:
        _disable(env)


@pytest.mark.services
def test_with_redis_sessions_are_server_side_and_jobs_go_to_rq(
    tmp_path: Path, redis_url: str
) -> None:
    """DEMO_REDIS_URL: `flask maintguard enable` deletes alice's Redis session
    (side effects run in the command's process) and keeps the admin's; the
    job route enqueues an RQ job."""
    import redis
    from rq import Queue

    env = demo_env(tmp_path) | {"DEMO_REDIS_URL": redis_url}
    run([binary("maintguard"), "init-db"], env)
    port = servers.free_port()
    command = [binary("gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}"]
    with serving([*command, "examples.flask_app.app:app"], env, port) as base:
        admin, alice = Browser(base), Browser(base)
        assert 200 == admin.post("/login", {"username": "admin", "password": "admin-password"})
        assert 200 == alice.post("/login", {"username": "alice", "password": "alice-password"})
        client = redis.Redis.from_url(redis_url)
        assert 2 == len(list(client.scan_iter("session:*")))
        assert 201 == admin.post("/api/jobs")
        assert 1 == Queue("default", connection=client).count
        flask = [binary("flask"), "--app", "examples.flask_app.app", "maintguard"]
        run([*flask, "enable", "--reason", "Upgrade"], env)
        try:
            assert 1 == len(list(client.scan_iter("session:*")))
            assert alice.json("/whoami")["user"] is None
            assert "admin" == admin.json("/whoami")["user"]
        finally:
            run([*flask, "disable"], env)
            client.close()
