"""docs/deployment.md holds: its server settings work as it says.

- The guide's ``gunicorn.conf.py`` (gthread workers, ``preload_app``) runs
  under real gunicorn, and every worker follows a change made elsewhere.
- uvicorn with ``--proxy-headers --forwarded-allow-ips`` (set here through
  ``uvicorn.Config``, which the flags fill) hands maintguard the forwarded
  client, so the IP allowlist works with ``MAINTENANCE_TRUSTED_PROXIES``
  empty — and a client that is not the proxy cannot claim an address.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from maintguard import MaintenanceService
from maintguard.asgi import MaintenanceMiddleware
from tests import servers, snippets

ROOT = snippets.ROOT


def _gunicorn_conf() -> str:
    blocks = snippets.python_blocks(ROOT / "docs" / "deployment.md")
    return next(block.code for block in blocks if "# gunicorn.conf.py" in block.code)


def _post(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("X-Worker", "")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get("X-Worker", "")


def _spread(url: str, count: int = 24) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda _: _post(url), range(count)))


@pytest.mark.slow
def test_the_guides_gunicorn_conf_serves_and_every_worker_follows(
    tmp_path: Path, redis_url: str
) -> None:
    """gunicorn with the guide's gthread + preload_app configuration: requests
    pass before maintenance, and afterwards every worker answers 503."""
    binary = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("gunicorn is not installed")
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(_gunicorn_conf(), encoding="utf-8")
    port = servers.free_port()
    process = subprocess.Popen(
        [
            binary,
            "-c",
            str(conf),  # the guide's file; the port and a smaller pool from the command line
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
            "tests.gunicorn_app:application",
        ],
        cwd=ROOT,
        env={"MAINTENANCE_STORE_URL": redis_url, "PATH": "/usr/bin:/bin"},
    )
    try:
        servers.wait_for_port(port)
        base = f"http://127.0.0.1:{port}/upload"
        before = _spread(base)
        writer = MaintenanceService(redis_url)
        writer.enable_maintenance("Deploy")
        deadline = time.monotonic() + 10
        after = _spread(base)
        while {status for status, _ in after} != {503} and time.monotonic() < deadline:
            after = _spread(base)
        writer.close()
    finally:
        process.terminate()
        process.wait(20)
    assert ({200}, {503}, True) == (
        {status for status, _ in before},
        {status for status, _ in after},
        len({worker for _, worker in before + after}) >= 2,
    )


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


@contextlib.contextmanager
def _uvicorn(service: MaintenanceService, proxy_ips: str) -> Iterator[str]:
    port = servers.free_port()
    config = uvicorn.Config(
        MaintenanceMiddleware(_hello, service),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=True,
        forwarded_allow_ips=proxy_ips,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-deployment", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize(
    ("proxy_ips", "forwarded", "status"),
    [
        ("127.0.0.1", "203.0.113.9", 200),  # from the proxy: the office client is an admin
        ("127.0.0.1", "198.51.100.7", 503),  # from the proxy: an outside client is not
        ("10.9.9.9", "203.0.113.9", 503),  # the peer is no trusted proxy: the header is ignored
    ],
    ids=["office-via-proxy", "outsider-via-proxy", "header-from-a-stranger"],
)
def test_uvicorn_proxy_headers_feed_the_allowlist(
    proxy_ips: str, forwarded: str, status: int
) -> None:
    """Behind uvicorn --proxy-headers, MAINTENANCE_ALLOWED_IPS sees the
    forwarded client only when the peer is in --forwarded-allow-ips."""
    service = MaintenanceService("memory://", allowed_ips="203.0.113.0/24")
    service.enable_maintenance("Database upgrade")
    try:
        with _uvicorn(service, proxy_ips) as base:
            answer = _post(f"{base}/upload", {"X-Forwarded-For": forwarded})
    finally:
        service.close()
    assert status == answer[0]
