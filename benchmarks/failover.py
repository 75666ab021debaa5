#!/usr/bin/env python3
"""A Redis Sentinel failover during traffic: what maintguard's users see.

    python benchmarks/failover.py --seconds 6     # about 25 s

gunicorn (4 sync workers, the Flask example of ``load_apps``) keeps its
state behind a sentinel URL: a master, one replica and three sentinels
(``tests/sentinel.py``). With maintenance on, wrk floods GET / (allowed) and
POST /upload (blocked) at once, counted apart, and the master is SIGKILLed
3 s in. Measured: the 500s (the goal is none), whether the promoted replica
holds the state the master had, seconds from the kill to the sentinels'
promotion and to the first change accepted (retried through a service
until it is), how long until the workers serve that change, and until every
worker has its pub/sub subscription back.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from load import Harness, maintguard_env, two_floods  # noqa: E402
from load_servers import Server, first_change_accepted, serving, switch  # noqa: E402
from load_tools import Load, Wrk, ensure_wrk  # noqa: E402
from tests.sentinel import SentinelGroup, sentinel_group  # noqa: E402
from tests.servers import _find  # noqa: E402

from maintguard import MaintenanceService  # noqa: E402
from maintguard.core.state import AuditRecord  # noqa: E402

#: Into the flood when the master dies: every worker is busy by then.
KILL_AFTER = 3.0
#: "The workers serve the change" once this many answers in a row carry it:
#: the 4 workers take connections from one socket at random, and 20 answers
#: miss a given worker with a chance of (3/4)^20, about 0.3%.
IN_A_ROW = 20
#: Waits after the kill; generous, they only end a run that went wrong.
GIVE_UP = 30.0
NEW_REASON = "load benchmark, after the failover"


def _served_version(server: Server) -> int | None:
    """The version one worker answers with (a new connection each time)."""
    url = f"{server.url}/api/maintenance/status"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return int(json.load(answer)["version"])
    except OSError:
        return None


def _watch_promotion(group: SentinelGroup, old_master: int, seen: dict[str, float]) -> None:
    # The first sentinel naming the replica: from then on clients can find it.
    group.wait_for_promotion(old_master, GIVE_UP, named_by=1)
    seen["promoted"] = time.monotonic()


def _until_served(server: Server, version: int) -> tuple[float, float]:
    """When the first answer carried ``version``, and when the unbroken run of
    ``IN_A_ROW`` answers carrying it began (the moment every worker had it,
    not counting the time to ask twenty times); both monotonic."""
    first: float | None = None
    run_began = 0.0
    row = 0
    deadline = time.monotonic() + GIVE_UP
    while row < IN_A_ROW:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers did not serve version {version} in {GIVE_UP:g} s")
        asked = time.monotonic()
        if _served_version(server) == version:
            first = first or asked
            run_began = run_began if row else asked
            row += 1
        else:
            row = 0
    assert first is not None
    return first, run_began


def _watch_resubscription(server: Server, seen: dict[str, float]) -> None:
    """When every worker has logged its change notifications restored (the
    log has no clock of its own, so it is watched from the kill on)."""
    workers = len(server.workers())
    deadline = time.monotonic() + GIVE_UP
    while server.log_lines("change notifications restored") < workers:
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    seen["resubscribed"] = time.monotonic()


def _audit(url: str) -> list[AuditRecord]:
    reader = MaintenanceService(url)
    try:
        return reader.get_audit_log()
    finally:
        reader.close()


def _kill_and_measure(
    group: SentinelGroup, server: Server, writer: MaintenanceService
) -> dict[str, Any]:
    """Kill the master; seconds to each milestone (from the kill, or from
    the first change accepted for what the workers serve)."""
    seen: dict[str, float] = {}
    killed = time.monotonic()
    old_master = group.kill_master()
    watchers = [
        threading.Thread(target=_watch_promotion, args=(group, old_master, seen)),
        threading.Thread(target=_watch_resubscription, args=(server, seen)),
    ]
    for watcher in watchers:
        watcher.start()
    version, attempts = first_change_accepted(writer, NEW_REASON, killed, GIVE_UP)
    written = time.monotonic()
    served_first, served_all = _until_served(server, version)
    for watcher in watchers:
        watcher.join()
    return {
        "promotion": seen["promoted"] - killed,
        "first write": written - killed,
        "attempts": attempts,
        "served first": served_first - written,
        "served everywhere": served_all - written,
        "resubscribed": seen.get("resubscribed", float("nan")) - killed,
        "served at": served_all,
    }


def sentinel_failover(wrk: Wrk, tmp: Path, seconds: float) -> dict[str, Any]:
    if _find("redis-server") is None:
        sys.exit("redis-server is needed (apt-get install redis-server)")
    flood = max(seconds, 10)
    with (
        sentinel_group() as group,
        serving("gunicorn", "flask_app", tmp, **maintguard_env("flask", group.url)) as server,
    ):
        switch(group.url, on=True)
        # Replication is asynchronous: without the replica's acknowledgement
        # (WAIT 1) a write the master took may die with it, and "state kept"
        # would measure luck rather than maintguard.
        group.wait_for_replication()
        audit_before = _audit(group.url)
        writer = MaintenanceService(group.url)
        try:
            writer.view()  # connected and subscribed before the kill, like a worker
            floods = two_floods(wrk, server.url, flood)
            floods_end = time.monotonic() + flood
            time.sleep(KILL_AFTER)
            result = _kill_and_measure(group, server, writer)
            reads, writes = (Wrk.finish(p) for p in floods)
        finally:
            writer.close()
        audit_after = _audit(group.url)
    # What the promoted master held is the trail under the new change: the
    # same records as before the kill, no "restore" written over a loss.
    held = audit_after[1:]
    served_at = result.pop("served at")
    return {
        **result,
        "reads": reads,
        "writes": writes,
        "state kept": held == audit_before,
        "version before": audit_before[0].version,
        "version after": held[0].version if held else 0,
        "floods covered it": served_at < floods_end,
    }


def failover_part(h: Harness) -> None:
    """The failover as a part of ``load.run`` (``extra={"failover": failover_part}``)."""
    h.results.sections["failover"] = "\n".join(
        [
            "**Redis Sentinel failover during traffic** (gunicorn 4 workers, Flask, "
            "maintenance on; GET / and POST /upload floods at once):",
            "",
            report(sentinel_failover(h.wrk, h.tmp, h.seconds)),
        ]
    )
    print("  Sentinel failover: done", flush=True)


def _answers(load: Load) -> str:
    errors = f"; socket errors: {load.socket_errors}" if load.socket_errors else ""
    return load.status_text() + errors


def report(result: dict[str, Any]) -> str:
    reads: Load = result["reads"]
    writes: Load = result["writes"]
    fives = reads.statuses.get(500, 0) + writes.statuses.get(500, 0)
    kept = "yes" if result["state kept"] else "NO"
    versions = f"version {result['version before']} → {result['version after']}"
    covered = "" if result["floods covered it"] else " (after the floods had ended)"
    return "\n".join(
        [
            "| failover | GET / answers | POST /upload answers | 500s | state kept | "
            "first write accepted |",
            "|---|---|---|---:|---|---|",
            f"| Redis Sentinel failover (master SIGKILLed) | {_answers(reads)} | "
            f"{_answers(writes)} | {fives} | {kept} ({versions}) | "
            f"{result['first write']:.2f} s after the kill |",
            "",
            f"The sentinels promoted the replica {result['promotion']:.2f} s after the kill "
            f"(down-after 1 s); the first change was accepted {result['first write']:.2f} s "
            f"after it, at attempt {result['attempts']}. The workers served it "
            f"{result['served first'] * 1000:.0f} ms later (first answer) and "
            f"{result['served everywhere'] * 1000:.0f} ms later ({IN_A_ROW} answers in a "
            f"row){covered}; every worker had its change notifications back "
            f"{result['resubscribed']:.2f} s after the kill.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each flood")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maintguard-failover-") as directory:
        tmp = Path(directory)
        print(report(sentinel_failover(Wrk(ensure_wrk(), tmp), tmp, args.seconds)))


if __name__ == "__main__":
    main()
