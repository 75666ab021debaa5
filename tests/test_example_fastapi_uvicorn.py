"""The FastAPI example under uvicorn with 2 workers, over real HTTP.

The workers share one SQLite file; maintenance is switched from the
``maintguard`` command and every worker follows. The admin is known to a
FastAPI dependency (``admin_dependency``) on one route and to the
``is_admin`` resolver on the others; a plain user is blocked and logged out
of the ``SessionMiddleware`` cookie session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import servers
from tests.realserver import Browser, binary, demo_env, line_count, run, serving, until_all

pytestmark = pytest.mark.slow
WORKERS = 2
#: uvicorn.access lines: PID client - "METHOD PATH HTTP/1.1" STATUS
_ACCESS = re.compile(r'^(\d+) \S+ - "(\w+) (\S+) HTTP/[\d.]+" (\d{3})$')


def _log_config(directory: Path, log: Path) -> Path:
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"pid": {"format": "%(process)d %(message)s"}},
        "handlers": {
            "access": {"class": "logging.FileHandler", "filename": str(log), "formatter": "pid"}
        },
        "loggers": {
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False}
        },
    }
    path = directory / "logging.json"
    path.write_text(json.dumps(config))
    return path


def _pids(log: Path, status: int, path: str, since: int) -> set[str]:
    found = set()
    for line in log.read_text().splitlines()[since:]:
        match = _ACCESS.match(line)
        if match and match.group(3) == path and match.group(4) == str(status):
            found.add(match.group(1))
    return found


@pytest.fixture(scope="module")
def fastapi_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str], Path]]:
    directory = tmp_path_factory.mktemp("fastapi-example")
    env = demo_env(directory)
    run([binary("maintguard"), "init-db"], env)
    port = servers.free_port()
    log = directory / "access.log"
    command = [
        binary("uvicorn"),
        "--workers",
        str(WORKERS),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-config",
        str(_log_config(directory, log)),
        "examples.fastapi_app.app:app",
    ]
    with serving(command, env, port) as base:
        yield base, env, log


def test_a_cli_enable_reaches_both_uvicorn_workers(
    fastapi_server: tuple[str, dict[str, str], Path],
) -> None:
    """`maintguard enable` once: both workers answer 503 to a write."""
    base, env, log = fastapi_server
    anonymous = Browser(base)
    assert {201} == set(until_all(lambda: anonymous.post("/upload"), 201))
    run([binary("maintguard"), "enable", "--reason", "Database upgrade"], env)
    try:
        since = line_count(log)
        for _ in range(5):
            assert {503} == set(until_all(lambda: anonymous.post("/upload"), 503))
        assert WORKERS == len(_pids(log, 503, "/upload", since))
    finally:
        run([binary("maintguard"), "disable"], env)
    assert {201} == set(until_all(lambda: anonymous.post("/upload"), 201))


def test_dependency_admin_passes_a_plain_user_is_blocked_and_logged_out(
    fastapi_server: tuple[str, dict[str, str], Path],
) -> None:
    """The admin passes the dependency route and the resolver route; alice
    gets 503 on both, and her session, made before, ends."""
    base, env, _ = fastapi_server
    admin, alice = Browser(base), Browser(base)
    assert 200 == admin.post("/login", {"username": "admin", "password": "admin-password"})
    assert 200 == alice.post("/login", {"username": "alice", "password": "alice-password"})
    assert "alice" == alice.json("/whoami")["user"]
    run([binary("maintguard"), "enable", "--reason", "Schema migration"], env)
    try:
        until_all(lambda: Browser(base).post("/upload"), 503)
        assert {201} == set(until_all(lambda: admin.post("/api/jobs"), 201))  # dependency
        assert {201} == set(until_all(lambda: admin.post("/upload"), 201))  # resolver
        assert {503} == set(until_all(lambda: alice.post("/api/jobs"), 503))
        assert alice.json("/whoami")["user"] is None
        assert {503} == set(until_all(lambda: alice.post("/upload"), 503))
        assert "admin" == admin.json("/whoami")["user"]
    finally:
        run([binary("maintguard"), "disable"], env)
    assert alice.json("/whoami")["user"] is None


def test_the_control_api_is_in_the_apps_openapi_schema(
    fastapi_server: tuple[str, dict[str, str], Path],
) -> None:
    """install() includes the control API as a router: /openapi.json lists it."""
    base, _, _ = fastapi_server
    paths = Browser(base).json("/openapi.json")["paths"]
    assert {"/api/maintenance/status", "/api/maintenance/enable", "/upload"} <= set(paths)
