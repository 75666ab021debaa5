"""The load generator of ``benchmarks/load.py``: Debian's ``wrk`` and what it measured.

``Wrk`` runs wrk with a Lua script that counts the answers by status; a
run is bounded in time and, when given a count, ends as soon as every
thread has answered its share. ``Load`` is one run's figures, with the
statuses the run should have got, so that a run that met something else
(a 500 from a broken bench app) is reported as not valid instead of as a
measurement. ``Results`` collects every part's figures for the report.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONNECTIONS = 32
#: A counted run's progress marks: wrk reports each thread's thirds on stdout.
THIRDS = 3

# wrk's main thread sleeps the whole ``-d`` before it joins its threads, so a
# thread stopping at its share does not end the run: each thread says
# "THIRD 3" when it stops, and ``Wrk.finish`` interrupts wrk (SIGINT, which
# wrk answers with its summary) once all have. "THIRD 1" and "THIRD 2" let a
# caller act a third and two thirds of the way. Against sync workers
# (gunicorn's) a stopped thread's open connections hold workers until they
# time out, so the last thread's share ends seconds late; the counted run,
# the memory run, is served by uvicorn, where they hold nothing.
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
  counts = {}; n = 0; third = 0
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
  if limit > 0 and third < 3 and n >= limit * (third + 1) / 3 then
    third = third + 1
    io.write(string.format("THIRD %d\n", third)); io.stdout:flush()
    if third == 3 then wrk.thread:stop() end
  end
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


def ensure_wrk() -> str:
    """wrk's path, installed with apt-get when missing (and root)."""
    import debian

    debian.ensure("wrk")
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
    #: The statuses this run should get; empty: whatever came is the point.
    expected: frozenset[int] = frozenset()

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def valid(self) -> bool:
        """Whether every answer had an expected status (a figure worth printing)."""
        if not self.expected:
            return True
        return bool(self.statuses) and set(self.statuses) <= self.expected

    def status_text(self) -> str:
        return ", ".join(f"{code}: {count:,}" for code, count in sorted(self.statuses.items()))

    def expected_text(self) -> str:
        return " or ".join(str(code) for code in sorted(self.expected))


@dataclass
class WrkRun:
    """A wrk process under way, and what its answers should be."""

    process: subprocess.Popen[str]
    threads: int
    expected: frozenset[int]


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
        expect: Iterable[int] = (),
    ) -> WrkRun:
        per_thread = -(-limit // threads) if limit else 0
        process = subprocess.Popen(
            [
                self.binary, f"-t{threads}", f"-c{connections}", f"-d{max(int(seconds), 1)}s",
                "--timeout", "5s", "-s", str(self.script), url,
                "--", method, path, kind, str(per_thread),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        return WrkRun(process, threads, frozenset(expect))

    @staticmethod
    def finish(run: WrkRun, on_third: Callable[[int], None] | None = None) -> Load:
        """Wait for the run's summary; ``on_third(k)`` once every thread has
        answered k thirds of its share (a counted run)."""
        process = run.process
        reached = [0] * (THIRDS + 1)
        lines = []
        for line in process.stdout or ():
            lines.append(line)
            if not line.startswith("THIRD "):
                continue
            third = int(line.split()[1])
            reached[third] += 1
            if reached[third] < run.threads:
                continue
            if on_third is not None:
                on_third(third)
            if third == THIRDS:
                process.send_signal(signal.SIGINT)  # every thread has stopped: the count is in
        process.wait(timeout=60)
        return _parsed("".join(lines), run.expected)

    def run(self, url: str, method: str = "GET", path: str = "/", **options: Any) -> Load:
        return self.finish(self.start(url, method, path, **options))


def _parsed(out: str, expected: frozenset[int]) -> Load:
    load = Load(expected=expected)
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


@dataclass
class Results:
    servers: dict[str, dict[str, Load]] = field(default_factory=dict)
    log_lines: dict[str, tuple[int, int]] = field(default_factory=dict)
    competitors: dict[str, dict[str, Load]] = field(default_factory=dict)
    restarts: dict[str, dict[str, Any]] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    #: Markdown of parts plugged into ``load.run``, by name, reported after the rest.
    sections: dict[str, str] = field(default_factory=dict)
