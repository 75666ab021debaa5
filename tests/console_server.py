"""Real servers for the console tests: gunicorn (WSGI) and uvicorn (ASGI) on
loopback ports, serving the example apps of ``tests.console_apps``, and a
small Server-Sent Events reader that keeps its socket so a test can drop it."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import servers

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "console-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextlib.contextmanager
def serve(
    kind: str,
    store_url: str,
    *,
    workers: int = 1,
    threads: int = 8,
    app: str | None = None,
    **env: str,
) -> Iterator[str]:
    """``kind`` is "wsgi" (gunicorn, threaded workers) or "asgi" (uvicorn)."""
    binary = "gunicorn" if kind == "wsgi" else "uvicorn"
    found = shutil.which(binary, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip(f"{binary} is not installed")
    port = servers.free_port()
    if kind == "wsgi":
        command = [
            found, "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
            "--bind", f"127.0.0.1:{port}", "--log-level", "warning", f"tests.console_apps:{app or 'wsgi'}",
        ]  # fmt: skip
    else:
        command = [
            found, "tests.console_apps:asgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--log-level", "warning", "--ws", "websockets",
        ]  # fmt: skip
    environ = {
        "PATH": "/usr/bin:/bin",
        "MAINTENANCE_STORE_URL": store_url,
        "MAINTENANCE_ADMIN_TOKENS": f"console:{TOKEN}",
        "MAINTENANCE_REFRESH_INTERVAL": "0.2",
        "DEMO_SECRET_KEY": "console-test-secret-key",
        # A stream notices a client that left at its next write: soon, here.
        "MAINTENANCE_EVENT_HEARTBEAT": "1",
        **env,
    }
    process = subprocess.Popen(command, cwd=ROOT, env=environ)
    try:
        servers.wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class EventReader:
    """Reads ``{prefix}/events`` on a thread; ``next(kind)`` waits for one event."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.connection.request(
            "GET",
            "/api/maintenance/events",
            headers={"Accept": "text/event-stream", **(headers or {})},
        )
        self.response = self.connection.getresponse()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.comments = 0
        #: The id of the last status event read (what a browser would resume from).
        self.last_id: str | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        kind, data = "message", ""
        with contextlib.suppress(OSError, ValueError, AttributeError, http.client.HTTPException):
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        self.events.put((kind, json.loads(data)))
                    kind, data = "message", ""
                elif line.startswith(":"):
                    self.comments += 1
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif line.startswith("id:"):
                    self.last_id = line[3:].strip()
        self.events.put(("closed", None))

    def next(self, kind: str, timeout: float = 10.0, where: Any = None) -> Any:
        """The data of the next ``kind`` event (matching ``where``), else fail."""
        while True:
            try:
                got, data = self.events.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"no {kind} event within {timeout}s")
            if got == "closed":
                pytest.fail(f"the stream ended before a {kind} event")
            if got == kind and (where is None or where(data)):
                return data

    def kinds_until_closed(self, timeout: float = 30.0) -> list[str]:
        """The kinds of every event until the server ends the stream."""
        kinds = []
        while True:
            try:
                kind, _ = self.events.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"the stream was still open after {timeout}s")
            if kind == "closed":
                return kinds
            kinds.append(kind)

    def vanish(self) -> None:
        """Drop the connection as a crashed client would: no goodbye."""
        sock = self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        """Close the socket for real (the response's file keeps it open otherwise)."""
        sock = self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.response.close()
            self.connection.close()
