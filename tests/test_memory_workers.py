"""memory:// under a server with several worker processes is reported by every worker."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from maintguard.stores.workers import worker_server
from tests import servers
from tests.realserver import ROOT, binary


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["gunicorn", "-w", "4", "app:app"], "gunicorn"),
        (["gunicorn", "--workers=3", "app:app"], "gunicorn"),
        (["gunicorn", "-w4", "app:app"], "gunicorn"),
        (["gunicorn", "app:app"], None),
        (["python", "app.py"], None),
    ],
)
def test_gunicorn_worker_count_is_read_from_its_command_line(
    argv: list[str], expected: str | None
) -> None:
    """Several gunicorn workers are recognised; one worker, or no server, is not."""
    assert expected == worker_server(argv)


@pytest.mark.slow
def test_every_gunicorn_worker_warns_about_the_memory_store() -> None:
    """gunicorn -w 2 without --preload on memory://: each worker logs an ERROR
    naming MAINTENANCE_STORE_URL at start-up."""
    port = servers.free_port()
    process = subprocess.Popen(
        [
            binary("gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "tests.gunicorn_app:application",
        ],
        cwd=ROOT,
        env={
            "MAINTENANCE_STORE_URL": "memory://",
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert process.stderr is not None
    # A reader thread: the test never blocks on a quiet pipe (a missing
    # warning fails at the deadline instead of hanging).
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    warned: set[str] = set()
    try:
        deadline = time.monotonic() + 30
        while len(warned) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
            for line in list(lines):
                if "in-memory store in a worker of gunicorn" in line:
                    assert "MAINTENANCE_STORE_URL" in line
                    warned.add(line.split("(pid ", 1)[1].split(")", 1)[0])
    finally:
        process.terminate()
        process.wait(20)
        reader.join(10)
        process.stderr.close()
    assert 2 == len(warned)
