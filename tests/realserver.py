"""Helpers for the examples under real servers: processes, users with cookies, access logs."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import servers

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REFRESH = 0.2


def binary(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def demo_env(directory: Path) -> dict[str, str]:
    """The environment every process of one example shares (workers and CLI)."""
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HOME": str(directory),
        "MAINTGUARD_DEMO_DIR": str(directory),
        "MAINTENANCE_STORE_URL": f"sqlite:///{directory / 'state.db'}",
        "MAINTENANCE_ADMIN_TOKENS": f"demo:{secrets.token_urlsafe(24)}",
        "MAINTENANCE_REFRESH_INTERVAL": str(REFRESH),
        # No DEMO_SECRET_KEY: the workers agree on the key the demo keeps
        # beside its state, as they do out of the box.
    }


def run(command: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; its failure fails the test with its stderr."""
    result = subprocess.run(
        list(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert 0 == result.returncode, f"{command[:3]} failed: {result.stderr[-2000:]}"
    return result


@contextlib.contextmanager
def serving(command: Sequence[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Start a server, yield its base URL once it answers, stop it at the end."""
    process = subprocess.Popen(list(command), cwd=ROOT, env=env)
    try:
        servers.wait_for_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # workers booted: an answer, not a refusal
            with contextlib.suppress(OSError):
                Browser(base).get("/api/maintenance/status")
                break
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Browser:
    """One user: a cookie jar and JSON requests over real HTTP."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=all_headers
        )
        try:
            with self.opener.open(request, timeout=10) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, dict(error.headers), error.read()

    def get(self, path: str, **options: Any) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, **options)

    def post(self, path: str, body: object = None, **options: Any) -> int:
        return self.request("POST", path, body if body is not None else {}, **options)[0]

    def json(self, path: str) -> Any:
        return json.loads(self.get(path)[2])


def statuses(request: Callable[[], int], count: int = 40) -> list[int]:
    """``count`` concurrent requests, so that every worker answers some."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: request(), range(count)))


def until_all(request: Callable[[], int], status: int, timeout: float = 15.0) -> list[int]:
    """Spread requests until every answer in one round is ``status`` (or time runs out)."""
    deadline = time.monotonic() + timeout
    answers = statuses(request)
    while set(answers) != {status} and time.monotonic() < deadline:
        time.sleep(REFRESH / 2)
        answers = statuses(request)
    return answers


def pids_answering(log: Path, status: int, path: str, since: int = 0) -> set[str]:
    """Worker pids that answered ``path`` with ``status`` in an access log of
    lines ``PID STATUS PATH`` (from line ``since`` on)."""
    found = set()
    lines = log.read_text().splitlines() if log.exists() else []
    for line in lines[since:]:
        parts = line.split()
        if len(parts) == 3 and parts[1] == str(status) and parts[2] == path:
            found.add(parts[0])
    return found


def line_count(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def token(env: dict[str, str]) -> str:
    return env["MAINTENANCE_ADMIN_TOKENS"].split(":", 1)[1]
