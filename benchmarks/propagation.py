#!/usr/bin/env python3
"""How fast a change made in one process reaches the request path of another.

    python benchmarks/propagation.py [--changes 200] [--watchers 8] [--store redis|postgresql]

Starts its own redis-server or PostgreSQL cluster (``tests/servers.py``),
then ``--watchers`` processes, each with a ``MaintenanceService`` that notes,
for every version, when its snapshot — what ``decide`` reads — first holds
it. This process makes ``--changes`` alternating enables and disables
through its own service and notes when each call started. A change's
latency runs to the moment the *last* watcher held it, all read from
``time.monotonic()``, which is one clock for every process of a Linux
machine. Design goals: p99 under 50 ms on Redis; at most the refresh
interval + 100 ms on SQL.
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

from tests.servers import postgresql_server, redis_server  # noqa: E402

from maintguard.service import MaintenanceService  # noqa: E402
from maintguard.stores.snapshot import View  # noqa: E402


def watch(url: str, pipe: Connection, refresh: float = 1.0) -> None:
    """The other worker: record when each version lands in the snapshot."""
    seen: dict[int, float] = {}

    def landed(view: View) -> None:
        seen.setdefault(view.state.version, time.monotonic())

    service = MaintenanceService(url, refresh_interval=refresh)
    service.on_view_change(landed)
    service.view()  # starts the snapshot thread and the Redis subscription
    pipe.send("ready")
    pipe.recv()  # "done"
    service.close()
    pipe.send(seen)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(
    url: str, changes: int, watchers: int, refresh: float, spacing: tuple[float, float]
) -> tuple[int, list[float]]:
    """(changes made, latency in ms of each change seen by every watcher)."""
    context = multiprocessing.get_context("spawn")  # nothing inherited from this process
    pipes, processes = [], []
    for _ in range(watchers):
        ours, theirs = context.Pipe()
        process = context.Process(target=watch, args=(url, theirs, refresh))
        process.start()
        pipes.append(ours)
        processes.append(process)
    for pipe in pipes:
        if pipe.recv() != "ready":
            sys.exit("a watcher did not start")
    service = MaintenanceService(url, refresh_interval=refresh)
    started: dict[int, float] = {}
    for i in range(changes):
        time.sleep(random.uniform(*spacing))
        began = time.monotonic()
        if i % 2:
            status = service.disable_maintenance("bench")
        else:
            status = service.enable_maintenance(f"bench {i}", duration=600)
        started[status.version] = began
    time.sleep(refresh + 0.5)  # past one refresh_interval: late arrivals still count
    seen: list[dict[int, float]] = []
    for pipe in pipes:
        pipe.send("done")
        seen.append(pipe.recv())
    for process in processes:
        process.join(10)
    service.close()
    latencies = [
        (max(s[v] for s in seen) - t) * 1000
        for v, t in started.items()
        if all(v in s for s in seen)
    ]
    return len(started), latencies


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    return statistics.median(latencies), percentile(latencies, 0.99), max(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--watchers", type=int, default=1)
    parser.add_argument("--store", choices=("redis", "postgresql"), default="redis")
    parser.add_argument("--refresh", type=float, default=1.0, help="refresh_interval, s")
    args = parser.parse_args()
    if args.store == "redis":
        with redis_server() as server:
            made, latencies = measure(
                server.url, args.changes, args.watchers, args.refresh, (0.01, 0.03)
            )
    else:
        with postgresql_server() as url:
            setup = MaintenanceService(url)
            setup.store.create_schema()  # type: ignore[attr-defined]
            setup.close()
            made, latencies = measure(
                url, args.changes, args.watchers, args.refresh, (0.05, args.refresh)
            )
    missed = made - len(latencies)
    print(f"{made} changes, {len(latencies)} seen by all {args.watchers} processes, {missed} not")
    if latencies:
        median, p99, worst = percentiles(latencies)
        print(
            f"change -> seen everywhere: median {median:.2f} ms, p99 {p99:.2f} ms, "
            f"max {worst:.2f} ms"
        )


if __name__ == "__main__":
    main()
