#!/usr/bin/env python3
"""maintguard under real servers and a real load generator, on loopback.

    python benchmarks/load.py                  # every scenario (about 8 minutes)
    python benchmarks/load.py --seconds 3      # shorter runs, for a smoke test

gunicorn (4 sync workers, the Flask example, and a small Django project) and
uvicorn (2 workers, the FastAPI example), each on 127.0.0.1, driven by
``wrk`` (Debian's; installed with apt when missing and we are root). The
stores are a redis-server and a PostgreSQL cluster started here in temporary
directories. Every load run is bounded in time (``--seconds``) and, for the
1M-request run, in count. ``report()`` gives the Markdown tables
``benchmarks/bench.py`` writes into ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.servers import _as_user, _find, free_port, wait_for_port  # noqa: E402

from maintguard import MaintenanceService  # noqa: E402

BIN = Path(sys.executable).parent
CONNECTIONS = 32
LUA = r"""
local threads = {}
local next_id = 0
function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end
function init(args)
  method = args[1]; path = args[2]; kind = args[3]; limit = tonumber(args[4]) or 0
  counts = {}; n = 0
  math.randomseed(os.time() * 100 + id)
  if method == "POST" then
    wrk.body = "{}"
    wrk.headers["Content-Type"] = "application/json"
  end
  wrk.method = method
end
function request()
  if kind == "random" then
    local m = (n % 2 == 0) and "GET" or "POST"
    return wrk.format(m, path .. math.random(1, 2147483647) .. "/" .. math.random(1, 2147483647))
  end
  return wrk.format(nil, path)
end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  n = n + 1
  if limit > 0 and n >= limit then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("STATUS %d %d\n", k, v)) end
  local e = summary.errors
  io.write(string.format("RESULT %d %d %f %f %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
end
"""


# ------------------------------------------------------------------ tools


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if os.geteuid() == 0 and apt:
        print("installing wrk with apt-get", flush=True)
        subprocess.run([apt, "update", "-qq"], stdout=subprocess.DEVNULL, check=False)
        subprocess.run(
            [apt, "install", "-y", "-qq", "--no-install-recommends", "wrk"],
            stdout=subprocess.DEVNULL,
            check=False,
        )
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is needed: apt-get install wrk (Debian/Ubuntu) or brew install wrk")
    return found


@dataclass
class Load:
    """One wrk run: throughput, latency (ms), answers by status."""

    requests: int = 0
    seconds: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    socket_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def status_text(self) -> str:
        return ", ".join(f"{code}: {count:,}" for code, count in sorted(self.statuses.items()))


class Wrk:
    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.script = directory / "status.lua"
        self.script.write_text(LUA)

    def start(
        self,
        url: str,
        method: str = "GET",
        path: str = "/",
        *,
        seconds: float,
        kind: str = "fixed",
        limit: int = 0,
        threads: int = 2,
        connections: int = CONNECTIONS,
    ) -> subprocess.Popen[str]:
        per_thread = -(-limit // threads) if limit else 0
        return subprocess.Popen(
            [
                self.binary, f"-t{threads}", f"-c{connections}", f"-d{max(int(seconds), 1)}s",
                "--timeout", "5s", "-s", str(self.script), url,
                "--", method, path, kind, str(per_thread),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip

    @staticmethod
    def finish(process: subprocess.Popen[str]) -> Load:
        out, _ = process.communicate(timeout=600)
        load = Load()
        for line in out.splitlines():
            parts = line.split()
            if parts[:1] == ["STATUS"]:
                load.statuses[int(parts[1])] = int(parts[2])
            elif parts[:1] == ["RESULT"]:
                load.requests = int(parts[1])
                load.seconds = int(parts[2]) / 1e6
                load.p50, load.p99 = float(parts[3]) / 1000, float(parts[4]) / 1000
                load.socket_errors = int(parts[5])
        if not load.seconds:
            raise RuntimeError(f"wrk gave no result:\n{out}")
        return load

    def run(self, url: str, method: str = "GET", path: str = "/", **options: Any) -> Load:
        return self.finish(self.start(url, method, path, **options))


# ---------------------------------------------------------------- servers


class Server:
    """gunicorn or uvicorn serving one of ``benchmarks/load_apps.py``'s apps."""

    def __init__(self, kind: str, app: str, env: dict[str, str], directory: Path) -> None:
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
            command = [
                str(BIN / "uvicorn"), "--workers", "2", "--host", "127.0.0.1",
                "--port", str(self.port), "--no-access-log", "--log-level", "warning",
                f"benchmarks.load_apps:{app}",
            ]  # fmt: skip
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self._log_file, stderr=self._log_file
        )
        wait_for_port(self.port, timeout=60)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 60
        while True:
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
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log_file.close()


@contextlib.contextmanager
def serving(kind: str, app: str, directory: Path, **env: str) -> Iterator[Server]:
    server = Server(kind, app, env, directory)
    try:
        yield server
    finally:
        server.stop()


class Redis:
    """A redis-server with an append-only file, so a restart keeps the state."""

    def __init__(self, directory: Path) -> None:
        binary = _find("redis-server")
        if binary is None:
            sys.exit("redis-server is needed (apt-get install redis-server)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)
            self.process = None


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


# -------------------------------------------------------------- scenarios


@dataclass
class Results:
    servers: dict[str, dict[str, Load]] = field(default_factory=dict)
    log_lines: dict[str, tuple[int, int]] = field(default_factory=dict)
    competitors: dict[str, dict[str, Load]] = field(default_factory=dict)
    restarts: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


SERVERS = (("gunicorn 4 workers, Flask example", "gunicorn", "flask_app", "flask"),
           ("uvicorn 2 workers, FastAPI example", "uvicorn", "fastapi_app", "fastapi"))  # fmt: skip


def server_rows(wrk: Wrk, tmp: Path, redis: Redis, seconds: float, results: Results) -> None:
    for title, kind, app, name in SERVERS:
        rows: dict[str, Load] = {}
        env = {"BENCH_APP": name, "MAINTENANCE_STORE_URL": redis.url}
        with serving(kind, app, tmp, BENCH_VARIANT="none", **env) as server:
            rows["no middleware: GET /"] = wrk.run(server.url, seconds=seconds)
            rows["no middleware: POST /upload (the app's route)"] = wrk.run(
                server.url, "POST", "/upload", seconds=seconds
            )
        switch(redis.url, on=False)
        with serving(kind, app, tmp, BENCH_VARIANT="maintguard", **env) as server:
            rows["maintguard off: GET /"] = wrk.run(server.url, seconds=seconds)
            rows["maintguard off: POST /upload"] = wrk.run(
                server.url, "POST", "/upload", seconds=seconds
            )
            switch(redis.url, on=True)
            rows["maintguard on, allowed: GET /"] = wrk.run(server.url, seconds=seconds)
            before = server.log_lines("")
            blocked_before = server.log_lines("Operation blocked")
            rows["maintguard on, blocked: POST /upload"] = wrk.run(
                server.url, "POST", "/upload", seconds=seconds
            )
            results.log_lines[title] = (
                server.log_lines("Operation blocked") - blocked_before,
                server.log_lines("") - before,
            )
            switch(redis.url, on=False)
        results.servers[title] = rows
        print(f"  {title}: done", flush=True)


def competitor_rows(wrk: Wrk, tmp: Path, redis: Redis, seconds: float, results: Results) -> None:
    django: dict[str, Load] = {}
    env = {"BENCH_APP": "django", "MAINTENANCE_STORE_URL": redis.url}
    with serving("gunicorn", "django_app", tmp, BENCH_VARIANT="none", **env) as server:
        django["no middleware: GET /"] = wrk.run(server.url, seconds=seconds)
        django["no middleware: POST /upload"] = wrk.run(
            server.url, "POST", "/upload", seconds=seconds
        )
    with serving("gunicorn", "django_app", tmp, BENCH_VARIANT="maintguard", **env) as server:
        django["maintguard off: GET /"] = wrk.run(server.url, seconds=seconds)
        switch(redis.url, on=True)
        django["maintguard on, blocked: POST /upload"] = wrk.run(
            server.url, "POST", "/upload", seconds=seconds
        )
        switch(redis.url, on=False)
    for on in (False, True):
        with serving(
            "gunicorn", "django_app", tmp, BENCH_VARIANT="django-maintenance-mode",
            BENCH_MAINTENANCE="1" if on else "0", **env,
        ) as server:  # fmt: skip
            if on:
                django["django-maintenance-mode on, blocked: POST /upload"] = wrk.run(
                    server.url, "POST", "/upload", seconds=seconds
                )
            else:
                django["django-maintenance-mode off: GET /"] = wrk.run(server.url, seconds=seconds)
    results.competitors["gunicorn 4 workers, Django"] = django
    fastapi: dict[str, Load] = {}
    env = {"BENCH_APP": "fastapi", "MAINTENANCE_STORE_URL": redis.url}
    for on in (False, True):
        with serving(
            "uvicorn", "fastapi_app", tmp, BENCH_VARIANT="fastapi-maintenance",
            FASTAPI_MAINTENANCE_MODE="1" if on else "0", **env,
        ) as server:  # fmt: skip
            if on:
                fastapi["fastapi-maintenance on, blocked: POST /upload"] = wrk.run(
                    server.url, "POST", "/upload", seconds=seconds
                )
            else:
                fastapi["fastapi-maintenance off: GET /"] = wrk.run(server.url, seconds=seconds)
    results.competitors["uvicorn 2 workers, FastAPI"] = fastapi
    print("  competitors: done", flush=True)


def two_floods(wrk: Wrk, url: str, seconds: float) -> tuple[subprocess.Popen[str], ...]:
    """GET / and POST /upload at once, counted apart."""
    return (
        wrk.start(url, seconds=seconds, threads=1, connections=16),
        wrk.start(url, "POST", "/upload", seconds=seconds, threads=1, connections=16),
    )


def redis_restart(wrk: Wrk, tmp: Path, redis: Redis, seconds: float, results: Results) -> None:
    env = {"BENCH_APP": "flask", "MAINTENANCE_STORE_URL": redis.url}
    with serving("gunicorn", "flask_app", tmp, BENCH_VARIANT="maintguard", **env) as server:
        switch(redis.url, on=True)
        writer = MaintenanceService(redis.url)
        before = writer.get_maintenance_status()
        floods = two_floods(wrk, server.url, max(seconds, 10))
        time.sleep(3)
        down = time.monotonic()
        redis.stop()
        time.sleep(2)
        redis.start()
        up = time.monotonic()
        reader = MaintenanceService(redis.url)
        after = reader.store.load()
        reader.close()
        attempts = 0
        while True:
            attempts += 1
            try:
                writer.enable_maintenance("load benchmark, after the restart", duration=3600)
                break
            except Exception:  # the client reconnects on its own; count and retry
                if time.monotonic() - up > 30:
                    raise
                time.sleep(0.01)
        written = time.monotonic()
        reads, writes = (Wrk.finish(p) for p in floods)
        writer.close()
        switch(redis.url, on=False)
    results.restarts["Redis restart (stopped 2 s)"] = {
        "reads": reads,
        "writes": writes,
        "state kept": after.version == before.version and after.active,
        "first write after start": written - up,
        "first write after stop": written - down,
        "attempts": attempts,
    }
    print("  Redis restart: done", flush=True)


def postgresql_restart(wrk: Wrk, tmp: Path, seconds: float, results: Results) -> None:
    pg = PostgreSQL(tmp)
    pg.start()
    try:
        setup = MaintenanceService(pg.url)
        setup.store.create_schema()  # type: ignore[attr-defined]
        setup.enable_maintenance("load benchmark", duration=3600)
        version = setup.get_maintenance_status().version
        setup.close()
        env = {"BENCH_APP": "flask", "MAINTENANCE_STORE_URL": pg.url}
        with serving("gunicorn", "flask_app", tmp, BENCH_VARIANT="maintguard", **env) as server:
            floods = two_floods(wrk, server.url, max(seconds, 10))
            time.sleep(3)
            began = time.monotonic()
            pg.restart()
            restarted = time.monotonic() - began
            reads, writes = (Wrk.finish(p) for p in floods)
        check = MaintenanceService(pg.url)
        held = check.get_maintenance_status()
        check.close()
    finally:
        pg.stop()
    results.restarts["PostgreSQL restart (pg_ctl restart -m fast)"] = {
        "reads": reads,
        "writes": writes,
        "state kept": held.version == version and held.is_active,
        "restart took": restarted,
    }
    print("  PostgreSQL restart: done", flush=True)


def memory_run(wrk: Wrk, tmp: Path, redis: Redis, count: int, cap: float, results: Results) -> None:
    env = {"BENCH_APP": "flask", "MAINTENANCE_STORE_URL": redis.url}
    with serving("gunicorn", "flask_app", tmp, BENCH_VARIANT="maintguard", **env) as server:
        switch(redis.url, on=True)
        pids = server.workers()
        start = {pid: rss_kib(pid) for pid in pids}
        peak = dict(start)
        middle: dict[int, int] = {}  # a third of the way: flat means no growth after it
        stop = threading.Event()
        began = time.monotonic()

        def sample() -> None:
            while not stop.wait(0.5):
                for pid in pids:
                    with contextlib.suppress(OSError):
                        rss = rss_kib(pid)
                        peak[pid] = max(peak[pid], rss)
                        if time.monotonic() - began >= cap / 3:
                            middle.setdefault(pid, rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load = wrk.run(server.url, "GET", "/r/", seconds=cap, kind="random", limit=count)
        stop.set()
        sampler.join()
        end = {pid: rss_kib(pid) for pid in pids}
        blocked_lines = server.log_lines("Operation blocked")
        switch(redis.url, on=False)
    results.memory = {
        "load": load,
        "wanted": count,
        "cap": cap,
        "rss": [(start[p], middle.get(p, 0), peak[p], end[p]) for p in pids],
        "blocked lines": blocked_lines,
    }
    print("  memory run: done", flush=True)


PARTS = ("servers", "competitors", "redis", "postgresql", "memory")


def run(seconds: float, count: int, cap: float, parts: tuple[str, ...] = PARTS) -> Results:
    wrk_binary = ensure_wrk()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="maintguard-load-") as directory:
        tmp = Path(directory)
        os.chmod(tmp, 0o777)  # noqa: S103 - PostgreSQL runs as postgres in here
        wrk = Wrk(wrk_binary, tmp)
        redis = Redis(tmp)
        redis.start()
        try:
            if "servers" in parts:
                server_rows(wrk, tmp, redis, seconds, results)
            if "competitors" in parts:
                competitor_rows(wrk, tmp, redis, seconds, results)
            if "redis" in parts:
                redis_restart(wrk, tmp, redis, seconds, results)
            if "postgresql" in parts:
                postgresql_restart(wrk, tmp, seconds, results)
            if "memory" in parts:
                memory_run(wrk, tmp, redis, count, cap, results)
        finally:
            redis.stop()
    return results


# ---------------------------------------------------------------- report


def _row(name: str, load: Load) -> str:
    errors = f"; socket errors: {load.socket_errors}" if load.socket_errors else ""
    return (
        f"| {name} | {load.rps:,.0f} | {load.p50:.2f} | {load.p99:.2f} | "
        f"{load.status_text()}{errors} |"
    )


def report(results: Results, seconds: float) -> str:
    head = "| scenario | requests/s | p50 ms | p99 ms | answers |\n|---|---:|---:|---:|---|"
    out: list[str] = []
    for title, rows in results.servers.items():
        out += [f"**{title}**, Redis store, wrk {CONNECTIONS} connections, {seconds:g} s each:", ""]
        out += [head, *(_row(name, load) for name, load in rows.items()), ""]
        if title not in results.log_lines:
            continue
        bare = rows["no middleware: GET /"]
        off = rows["maintguard off: GET /"]
        own = rows["no middleware: POST /upload (the app's route)"]
        blocked = rows["maintguard on, blocked: POST /upload"]
        lines, total = results.log_lines[title]
        out += [
            f"- maintguard off vs no middleware: {100 * (off.rps / bare.rps - 1):+.1f}% "
            f"throughput (goal: within 2%).",
            f"- blocked flood vs the app's own route: {blocked.rps / own.rps:.1f}x the "
            f"throughput, p50 {blocked.p50:.2f} ms vs {own.p50:.2f} ms (goal: 5x).",
            f"- log lines during the blocked flood of {blocked.requests:,} requests: "
            f'{lines} "Operation blocked" lines, {total} lines in all.',
            "",
        ]
    for title, rows in results.competitors.items():
        out += [f"**Side by side: {title}**, same server and load:", "", head]
        out += [*(_row(name, load) for name, load in rows.items()), ""]
    out += [
        "**Store restarts during traffic** (gunicorn 4 workers, Flask, maintenance on; "
        "GET / and POST /upload floods at once):",
        "",
        "| restart | GET / answers | POST /upload answers | 500s | state kept | "
        "first write accepted |",
        "|---|---|---|---:|---|---|",
    ]
    for name, r in results.restarts.items():
        fives = r["reads"].statuses.get(500, 0) + r["writes"].statuses.get(500, 0)
        if "first write after start" in r:
            first = (
                f"{r['first write after start'] * 1000:.0f} ms after Redis was back "
                f"({r['first write after stop']:.2f} s after it stopped)"
            )
        else:
            first = f"(restart took {r['restart took']:.2f} s)"
        out.append(
            f"| {name} | {r['reads'].status_text()} | {r['writes'].status_text()} | {fives} | "
            f"{'yes' if r['state kept'] else 'NO'} | {first} |"
        )
    m = results.memory
    if m:
        load: Load = m["load"]
        scaled = (
            ""
            if load.requests >= m["wanted"]
            else f" (scaled down: {load.requests:,} of {m['wanted']:,} in the {m['cap']:g} s cap)"
        )
        out += [
            "",
            f"**Memory, random high-cardinality paths in maintenance** (gunicorn 4 workers, "
            f"Flask, Redis; GET and POST to /r/<random>/<random>): {load.requests:,} "
            f"requests{scaled} at {load.rps:,.0f}/s; answers {load.status_text()}; "
            f'{m["blocked lines"]} "Operation blocked" lines.',
            "",
            f"| worker | RSS start MiB | after {m['cap'] / 3:g} s | peak MiB | end MiB |",
            "|---|---:|---:|---:|---:|",
        ]
        for i, rss in enumerate(m["rss"], 1):
            out.append(f"| {i} | " + " | ".join(f"{kib / 1024:.1f}" for kib in rss) + " |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each load run")
    parser.add_argument("--count", type=int, default=1_000_000, help="requests, memory run")
    parser.add_argument("--cap", type=float, default=150.0, help="time cap, memory run")
    parser.add_argument("--parts", default=",".join(PARTS), help="which, comma-separated")
    args = parser.parse_args()
    results = run(args.seconds, args.count, args.cap, tuple(args.parts.split(",")))
    print(report(results, args.seconds))


if __name__ == "__main__":
    main()
