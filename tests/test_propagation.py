"""Changes reach every worker process: over Redis, over one SQLite file,
and under a real pre-fork server (gunicorn --preload, several workers)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from maintguard import MaintenanceService
from tests import servers

ROOT = Path(__file__).resolve().parent.parent

WATCHER = """
import sys, time
from maintguard import MaintenanceService
service = MaintenanceService(sys.argv[1], refresh_interval=float(sys.argv[2]))
start_version = service.view().state.version
print("ready", flush=True)
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    if service.view().state.active:
        print(repr(time.time()), flush=True)
        break
    time.sleep(0.001)
else:
    print("timeout", flush=True)
"""


def _watch(url: str, refresh: float) -> float:
    """Seconds between a change here and another process seeing it."""
    with subprocess.Popen(
        [sys.executable, "-c", WATCHER, url, str(refresh)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    ) as child:
        assert child.stdout is not None
        assert "ready" == child.stdout.readline().strip()
        time.sleep(0.1)  # let its subscriber connect
        writer = MaintenanceService(url)
        changed = time.time()
        writer.enable_maintenance("Propagation test")
        seen = child.stdout.readline().strip()
        writer.close()
        child.wait(15)
    assert "timeout" != seen
    return float(seen) - changed


def test_a_change_reaches_another_process_over_redis_at_once(redis_url: str) -> None:
    """Redis publishes changes: another process follows well before its refresh."""
    delay = _watch(redis_url, refresh=30.0)
    assert delay < 1.0


def test_a_change_reaches_another_process_over_sqlite_within_the_refresh(tmp_path: Path) -> None:
    """Without notifications, the refresher bounds the delay."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    from maintguard.stores.sql import SQLStore

    store = SQLStore.from_url(url)
    store.create_schema()
    store.close()
    delay = _watch(url, refresh=0.2)
    assert delay < 0.2 + 1.0


@pytest.fixture
def gunicorn_server(tmp_path: Path, redis_url: str) -> Iterator[tuple[str, str]]:
    binary = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("gunicorn is not installed")
    port = servers.free_port()
    process = subprocess.Popen(
        [
            binary,
            "--preload",
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "tests.gunicorn_app:application",
        ],
        cwd=ROOT,
        env={"MAINTENANCE_STORE_URL": redis_url, "PATH": "/usr/bin:/bin"},
    )
    try:
        servers.wait_for_port(port)
        yield f"http://127.0.0.1:{port}", redis_url
    finally:
        process.terminate()
        process.wait(20)


def _post(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["X-Worker"]
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["X-Worker"]


def _spread(url: str, count: int = 30) -> list[tuple[int, str]]:
    """``count`` concurrent requests, so that every worker gets some."""
    with ThreadPoolExecutor(max_workers=9) as pool:
        return list(pool.map(lambda _: _post(url), range(count)))


def test_every_preforked_gunicorn_worker_follows_a_change(
    gunicorn_server: tuple[str, str],
) -> None:
    """After one change, every worker of a --preload gunicorn blocks within the bound."""
    base, store_url = gunicorn_server
    before = _spread(base + "/upload")
    assert {200} == {status for status, _ in before}
    assert len({worker for _, worker in before}) >= 2
    writer = MaintenanceService(store_url)
    writer.enable_maintenance("Deploy")
    changed = time.monotonic()
    answers: list[tuple[int, str]] = []
    while time.monotonic() - changed < 2.0:
        answers = _spread(base + "/upload")
        if all(status == 503 for status, _ in answers):
            break
    writer.close()
    assert {503} == {status for status, _ in answers}
    assert len({worker for _, worker in answers}) >= 2
