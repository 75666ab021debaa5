"""The processes ``benchmarks/load.py`` measures and restarts.

``Server`` is gunicorn or uvicorn serving one of ``benchmarks/load_apps.py``'s
apps on a free loopback port; ``Redis`` and ``PostgreSQL`` are the stores,
started in a temporary directory so that a part can stop and start them
under traffic. ``rss_kib`` reads a worker's resident set from ``/proc``,
``RssWatch`` follows it through a run; ``switch`` turns maintenance on or
off through the shared store.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.servers import RedisServer, _as_user, _find, free_port, wait_for_port  # noqa: E402

from maintguard import MaintenanceService  # noqa: E402
from maintguard.exceptions import StoreError  # noqa: E402

BIN = Path(sys.executable).parent


class Server:
    """gunicorn or uvicorn serving one of ``benchmarks/load_apps.py``'s apps."""

    def __init__(
        self, kind: str, app: str, env: dict[str, str], directory: Path, *, http: str = "h11"
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = directory / f"server-{self.port}.log"
        environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        if kind == "gunicorn":
            command = [
                str(BIN / "gunicorn"), "-w", "4", "-b", f"127.0.0.1:{self.port}",
                "--log-level", "warning", f"benchmarks.load_apps:{app}",
            ]  # fmt: skip
        else:
            # The HTTP implementation named, never uvicorn's pick of what is
            # installed: the bench app's TCP_NODELAY patch is per protocol.
            command = [
                str(BIN / "uvicorn"), "--workers", "2", "--host", "127.0.0.1",
                "--port", str(self.port), "--http", http, "--no-access-log",
                "--log-level", "warning", f"benchmarks.load_apps:{app}",
            ]  # fmt: skip
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self._log_file, stderr=self._log_file
        )
        try:
            self._wait_ready()
        except Exception as exc:
            self.stop()
            log = self.log.read_text(errors="replace")[-4000:]
            raise SystemExit(f"{kind} {app} did not start ({exc}):\n{log}") from None

    def _wait_ready(self) -> None:
        """Until the app answers; a server that exits (an app that refused to
        start, a bare app that was not bare) fails at once, not at the deadline."""
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5):  # noqa: S310 - loopback
                    break
            except OSError as exc:
                if getattr(exc, "code", None):  # an HTTP error: the app answers
                    break
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        time.sleep(1.0)  # every worker up, not only the first

    def workers(self) -> list[int]:
        """The worker processes (children of the master, trackers left out)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"resource_tracker" not in cmdline:
                found.append(int(entry.name))
        return sorted(found)

    def log_lines(self, needle: str) -> int:
        self._log_file.flush()
        return sum(needle in line for line in self.log.read_text(errors="replace").splitlines())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log_file.close()


@contextlib.contextmanager
def serving(
    kind: str, app: str, directory: Path, *, http: str = "h11", **env: str
) -> Iterator[Server]:
    server = Server(kind, app, env, directory, http=http)
    try:
        yield server
    finally:
        server.stop()


class Redis(RedisServer):
    """A redis-server with an append-only file, so a restart keeps the state."""

    def __init__(self, directory: Path) -> None:
        binary = _find("redis-server")
        if binary is None:
            sys.exit("redis-server is needed (apt-get install redis-server)")
        super().__init__(binary, directory, durable=True)


class PostgreSQL:
    """A throw-away PostgreSQL cluster that can be restarted under load."""

    def __init__(self, directory: Path) -> None:
        initdb, self.pg_ctl = _find("initdb"), _find("pg_ctl")
        if initdb is None or self.pg_ctl is None:
            sys.exit("PostgreSQL (initdb, pg_ctl) is needed")
        self.port = free_port()
        self.data = directory / "pg"
        owner = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "")
        if os.geteuid() == 0:
            os.chmod(directory, 0o777)  # noqa: S103 - the cluster runs as postgres
        self.prefix = _as_user(owner) if os.geteuid() == 0 else []
        subprocess.run(
            [*self.prefix, initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.options = (
            f"-p {self.port} -k {directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c max_connections=200"
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self.ctl("-o", self.options, "-w", "-l", str(self.data / "log"), "start")
        wait_for_port(self.port)

    def restart(self) -> None:
        self.ctl("-o", self.options, "-w", "-m", "fast", "-l", str(self.data / "log"), "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.ctl("-m", "immediate", "stop")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def switch(url: str, on: bool) -> None:
    """Maintenance on or off through the shared store, then let workers see it."""
    service = MaintenanceService(url)
    try:
        if on:
            service.enable_maintenance("load benchmark", duration=3600)
        else:
            service.disable_maintenance()
    finally:
        service.close()
    time.sleep(1.0)


def first_change_accepted(
    writer: MaintenanceService, reason: str, since: float, give_up: float = 30.0
) -> tuple[int, int]:
    """Retry a change until the store takes it again (after a restart, a
    failover): (its version, the attempts), or the error after ``give_up``
    seconds from ``since`` (monotonic)."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return writer.enable_maintenance(reason, duration=3600).version, attempts
        except StoreError:  # no server answers yet; count and retry
            if time.monotonic() - since > give_up:
                raise
            time.sleep(0.01)


class RssWatch:
    """Each worker's resident set: at the start, at the moments asked for
    (``mark``), its peak (sampled every 0.5 s, on a thread) and now."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start = self.now()
        self.peak = dict(self.start)
        self.marks: dict[str, dict[int, int]] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def now(self) -> dict[int, int]:
        found = {}
        for pid in self.pids:
            with contextlib.suppress(OSError):  # a worker that has gone reads as 0
                found[pid] = rss_kib(pid)
        return {pid: found.get(pid, 0) for pid in self.pids}

    def mark(self, name: str) -> None:
        self.marks[name] = self._seen(self.now())

    def _seen(self, sizes: dict[int, int]) -> dict[int, int]:
        for pid, kib in sizes.items():
            self.peak[pid] = max(self.peak[pid], kib)
        return sizes

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self._seen(self.now())

    def stop(self) -> dict[int, int]:
        """Stop sampling; the sizes at the end."""
        self._stop.set()
        self._sampler.join()
        return self._seen(self.now())
