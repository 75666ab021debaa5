#!/usr/bin/env python3
"""How fast a change made in one process reaches the request path of another.

    python benchmarks/propagation.py [--changes 200]

Starts its own redis-server (``tests/servers.py``), then a watcher process
with a ``MaintenanceService`` on a ``RedisStore`` that notes, for every
version, when its snapshot — what ``decide`` reads — first holds it. This
process makes ``--changes`` alternating enables and disables through its own
service and notes when each call started. Latency is the difference, both
read from ``time.monotonic()``, which is one clock for every process of a
Linux machine. Design goal: p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.servers import redis_server  # noqa: E402

from maintguard.service import MaintenanceService  # noqa: E402
from maintguard.stores.snapshot import View  # noqa: E402


def watch(url: str, pipe: Connection) -> None:
    """The other worker: record when each version lands in the snapshot."""
    seen: dict[int, float] = {}

    def landed(view: View) -> None:
        seen.setdefault(view.state.version, time.monotonic())

    service = MaintenanceService(url, refresh_interval=1.0)
    service.on_view_change(landed)
    service.view()  # starts the snapshot thread and the Redis subscription
    pipe.send("ready")
    pipe.recv()  # "done"
    service.close()
    pipe.send(seen)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")  # nothing inherited from this process
    with redis_server() as server:
        ours, theirs = context.Pipe()
        watcher = context.Process(target=watch, args=(server.url, theirs))
        watcher.start()
        if ours.recv() != "ready":
            sys.exit("the watcher did not start")
        service = MaintenanceService(server.url, refresh_interval=1.0)
        started: dict[int, float] = {}
        for i in range(args.changes):
            time.sleep(random.uniform(0.01, 0.03))
            began = time.monotonic()
            if i % 2:
                status = service.disable_maintenance("bench")
            else:
                status = service.enable_maintenance(f"bench {i}", duration=600)
            started[status.version] = began
        time.sleep(1.5)  # past one refresh_interval: late arrivals still count
        ours.send("done")
        seen: dict[int, float] = ours.recv()
        watcher.join(10)
        service.close()
    latencies = [(seen[v] - t) * 1000 for v, t in started.items() if v in seen]
    missed = len(started) - len(latencies)
    print(f"{len(started)} changes, {len(latencies)} seen by the other process, {missed} never")
    if latencies:
        print(
            f"change -> seen: median {statistics.median(latencies):.2f} ms, "
            f"p99 {percentile(latencies, 0.99):.2f} ms, max {max(latencies):.2f} ms "
            f"(goal: p99 < 50 ms)"
        )


if __name__ == "__main__":
    main()
