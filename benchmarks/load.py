#!/usr/bin/env python3
"""maintguard under real servers and a real load generator, on loopback.

    python benchmarks/load.py                  # every part (8 to 9 minutes on 2 cores)
    python benchmarks/load.py --seconds 3      # shorter runs, for a smoke test
    python benchmarks/load.py --parts memory   # one part

gunicorn (4 sync workers, the Flask example, and a small Django project) and
uvicorn (2 workers, the FastAPI example), each on 127.0.0.1, driven by
``wrk`` (Debian's; installed with apt when missing and we are root). The
stores are a redis-server and a PostgreSQL cluster started here in temporary
directories. Every load run is bounded in time (``--seconds``); the memory
run is bounded in count (``--count``) and ends when it is reached, or at its
time cap (``--cap``).

The modules:

- ``load.py`` (this one): the parts — the servers' rows, the competitors'
  rows, the Redis and PostgreSQL restarts, the memory run — and ``run()``;
- ``load_tools.py``: ``wrk``, its Lua script, ``Load`` (one run's figures,
  checked against the statuses it should get) and ``Results``;
- ``load_servers.py``: gunicorn and uvicorn, Redis and PostgreSQL, RSS from
  ``/proc``, maintenance switched through the store;
- ``load_apps.py`` (with ``load_settings.py``): the apps the servers serve;
- ``load_report.py``: the Markdown ``benchmarks/bench.py`` writes into
  ``docs/performance.md`` (``report``, re-exported here).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_report import report
from load_servers import PostgreSQL, Redis, RssWatch, first_change_accepted, serving, switch
from load_tools import Load, Results, Wrk, WrkRun, ensure_wrk

from maintguard import MaintenanceService

__all__ = ["PARTS", "Harness", "Part", "main", "report", "run"]


@dataclass(frozen=True)
class Harness:
    """What every part runs with: the load generator, a temporary directory,
    the Redis store, the lengths asked for, and the results it fills."""

    wrk: Wrk
    tmp: Path
    redis: Redis
    seconds: float
    count: int
    cap: float
    results: Results


Part = Callable[[Harness], None]


def maintguard_env(app: str, store: str) -> dict[str, str]:
    return {
        "BENCH_APP": app,
        "BENCH_VARIANT": "maintguard",
        "MAINTENANCE_STORE_URL": store,
        # As the examples' demo sets it: their is_admin reads the login
        # cookie, so a request without one is judged without asking it and
        # answered from maintguard's remembered verdicts.
        "MAINTENANCE_RESOLVER_HEADERS": "cookie",
    }


def without_maintguard(app: str, variant: str = "none", **settings: str) -> dict[str, str]:
    return {"BENCH_APP": app, "BENCH_VARIANT": variant, **settings}


def checked(title: str, rows: Mapping[str, Load]) -> dict[str, Load]:
    """The rows, with a warning now for each that met unexpected statuses
    (the report marks it as not valid)."""
    for name, load in rows.items():
        if not load.valid:
            print(
                f"  NOT VALID: {title}, {name}: expected {load.expected_text()}, "
                f"got {load.status_text() or 'no answer'}",
                file=sys.stderr,
                flush=True,
            )
    return dict(rows)


# ----------------------------------------------------------------- rows

SERVERS = (("gunicorn 4 workers, Flask example", "gunicorn", "flask_app", "flask"),
           ("uvicorn 2 workers, FastAPI example", "uvicorn", "fastapi_app", "fastapi"))  # fmt: skip


def server_rows(h: Harness) -> None:
    wrk, seconds, store = h.wrk, h.seconds, h.redis.url
    for title, kind, app, name in SERVERS:
        rows: dict[str, Load] = {}
        with serving(kind, app, h.tmp, **without_maintguard(name)) as server:
            rows["no middleware: GET /"] = wrk.run(server.url, seconds=seconds, expect=[200])
            rows["no middleware: POST /upload (the app's route)"] = wrk.run(
                server.url, "POST", "/upload", seconds=seconds, expect=[201]
            )
        switch(store, on=False)
        with serving(kind, app, h.tmp, **maintguard_env(name, store)) as server:
            rows["maintguard off: GET /"] = wrk.run(server.url, seconds=seconds, expect=[200])
            rows["maintguard off: POST /upload"] = wrk.run(
                server.url, "POST", "/upload", seconds=seconds, expect=[201]
            )
            switch(store, on=True)
            rows["maintguard on, allowed: GET /"] = wrk.run(
                server.url, seconds=seconds, expect=[200]
            )
            before = server.log_lines("")
            blocked_before = server.log_lines("Operation blocked")
            rows["maintguard on, blocked: POST /upload"] = wrk.run(
                server.url, "POST", "/upload", seconds=seconds, expect=[503]
            )
            h.results.log_lines[title] = (
                server.log_lines("Operation blocked") - blocked_before,
                server.log_lines("") - before,
            )
            switch(store, on=False)
        h.results.servers[title] = checked(title, rows)
        print(f"  {title}: done", flush=True)


def competitor_rows(h: Harness) -> None:
    title = "gunicorn 4 workers, Django"
    h.results.competitors[title] = checked(title, _django_rows(h))
    title = "uvicorn 2 workers, FastAPI"
    h.results.competitors[title] = checked(title, _fastapi_rows(h))
    print("  competitors: done", flush=True)


def _django_rows(h: Harness) -> dict[str, Load]:
    wrk, seconds, store = h.wrk, h.seconds, h.redis.url
    rows: dict[str, Load] = {}
    with serving("gunicorn", "django_app", h.tmp, **without_maintguard("django")) as server:
        rows["no middleware: GET /"] = wrk.run(server.url, seconds=seconds, expect=[200])
        rows["no middleware: POST /upload"] = wrk.run(
            server.url, "POST", "/upload", seconds=seconds, expect=[201]
        )
    with serving("gunicorn", "django_app", h.tmp, **maintguard_env("django", store)) as server:
        rows["maintguard off: GET /"] = wrk.run(server.url, seconds=seconds, expect=[200])
        switch(store, on=True)
        rows["maintguard on, blocked: POST /upload"] = wrk.run(
            server.url, "POST", "/upload", seconds=seconds, expect=[503]
        )
        switch(store, on=False)
    # django-maintenance-mode: on or off for the server's life (its setting).
    env = without_maintguard("django", "django-maintenance-mode", BENCH_MAINTENANCE="0")
    with serving("gunicorn", "django_app", h.tmp, **env) as server:
        rows["django-maintenance-mode off: GET /"] = wrk.run(
            server.url, seconds=seconds, expect=[200]
        )
    env["BENCH_MAINTENANCE"] = "1"
    with serving("gunicorn", "django_app", h.tmp, **env) as server:
        rows["django-maintenance-mode on, blocked: POST /upload"] = wrk.run(
            server.url, "POST", "/upload", seconds=seconds, expect=[503]
        )
    return rows


def _fastapi_rows(h: Harness) -> dict[str, Load]:
    wrk, seconds = h.wrk, h.seconds
    rows: dict[str, Load] = {}
    # fastapi-maintenance's default backend reads FASTAPI_MAINTENANCE_MODE.
    env = without_maintguard("fastapi", "fastapi-maintenance", FASTAPI_MAINTENANCE_MODE="0")
    with serving("uvicorn", "fastapi_app", h.tmp, **env) as server:
        rows["fastapi-maintenance off: GET /"] = wrk.run(server.url, seconds=seconds, expect=[200])
    env["FASTAPI_MAINTENANCE_MODE"] = "1"
    with serving("uvicorn", "fastapi_app", h.tmp, **env) as server:
        rows["fastapi-maintenance on, blocked: POST /upload"] = wrk.run(
            server.url, "POST", "/upload", seconds=seconds, expect=[503]
        )
    return rows


# ------------------------------------------------------------- restarts


def two_floods(wrk: Wrk, url: str, seconds: float) -> tuple[WrkRun, WrkRun]:
    """GET / and POST /upload at once, counted apart."""
    return (
        wrk.start(url, seconds=seconds, threads=1, connections=16),
        wrk.start(url, "POST", "/upload", seconds=seconds, threads=1, connections=16),
    )


def redis_restart(h: Harness) -> None:
    redis = h.redis
    with serving("gunicorn", "flask_app", h.tmp, **maintguard_env("flask", redis.url)) as server:
        switch(redis.url, on=True)
        writer = MaintenanceService(redis.url)
        before = writer.get_maintenance_status()
        floods = two_floods(h.wrk, server.url, max(h.seconds, 10))
        time.sleep(3)
        down = time.monotonic()
        redis.stop()
        time.sleep(2)
        redis.start()
        up = time.monotonic()
        reader = MaintenanceService(redis.url)
        after = reader.store.load()
        reader.close()
        _, attempts = first_change_accepted(writer, "load benchmark, after the restart", up)
        written = time.monotonic()
        reads, writes = (Wrk.finish(run) for run in floods)
        writer.close()
        switch(redis.url, on=False)
    h.results.restarts["Redis restart (stopped 2 s)"] = {
        "reads": reads,
        "writes": writes,
        "state kept": after.version == before.version and after.active,
        "first write after start": written - up,
        "first write after stop": written - down,
        "attempts": attempts,
    }
    print("  Redis restart: done", flush=True)


def postgresql_restart(h: Harness) -> None:
    pg = PostgreSQL(h.tmp)
    pg.start()
    try:
        setup = MaintenanceService(pg.url)
        setup.store.create_schema()  # type: ignore[attr-defined]
        setup.enable_maintenance("load benchmark", duration=3600)
        version = setup.get_maintenance_status().version
        setup.close()
        env = maintguard_env("flask", pg.url)
        with serving("gunicorn", "flask_app", h.tmp, **env) as server:
            floods = two_floods(h.wrk, server.url, max(h.seconds, 10))
            time.sleep(3)
            began = time.monotonic()
            pg.restart()
            restarted = time.monotonic() - began
            reads, writes = (Wrk.finish(run) for run in floods)
        check = MaintenanceService(pg.url)
        held = check.get_maintenance_status()
        check.close()
    finally:
        pg.stop()
    h.results.restarts["PostgreSQL restart (pg_ctl restart -m fast)"] = {
        "reads": reads,
        "writes": writes,
        "state kept": held.version == version and held.is_active,
        "restart took": restarted,
    }
    print("  PostgreSQL restart: done", flush=True)


# --------------------------------------------------------------- memory


def memory_run(h: Harness) -> None:
    """``count`` requests to random paths in maintenance, RSS followed.

    uvicorn with httptools and keep-alive, not gunicorn's sync workers: those
    open a TCP connection per request, which held the run to ~2,500
    requests/s, too few for 1,000,000 in a few minutes on 2 cores.
    """
    env = maintguard_env("fastapi", h.redis.url)
    with serving("uvicorn", "fastapi_app", h.tmp, http="httptools", **env) as server:
        switch(h.redis.url, on=True)
        watch = RssWatch(server.workers())
        # A GET to an unknown path is a read, allowed: the app's 404; a POST is blocked.
        run = h.wrk.start(
            server.url, "GET", "/r/", seconds=h.cap, kind="random", limit=h.count,
            expect=[404, 503],
        )  # fmt: skip
        load = Wrk.finish(run, on_third=lambda third: watch.mark(f"{third}/3"))
        end = watch.stop()
        blocked_lines = server.log_lines("Operation blocked")
        switch(h.redis.url, on=False)
    checked("memory run", {"random paths": load})
    h.results.memory = {
        "load": load,
        "wanted": h.count,
        "cap": h.cap,
        "server": "uvicorn 2 workers (httptools, keep-alive), FastAPI example",
        "rss": [
            (
                watch.start[pid],
                watch.marks.get("1/3", {}).get(pid),
                watch.marks.get("2/3", {}).get(pid),
                watch.peak[pid],
                end[pid],
            )
            for pid in watch.pids
        ],
        "blocked lines": blocked_lines,
    }
    print("  memory run: done", flush=True)


# ------------------------------------------------------------------ run

PARTS = ("servers", "competitors", "redis", "postgresql", "memory")


def run(
    seconds: float,
    count: int,
    cap: float,
    parts: Iterable[str] | None = None,
    extra: Mapping[str, Part] | None = None,
) -> Results:
    """Run ``parts`` (default: every part, ``extra``'s too) and return the results.

    ``extra`` plugs in parts defined elsewhere, by name; each gets the
    ``Harness`` and may put its Markdown into ``results.sections[name]``.
    """
    extra = dict(extra or {})
    wanted = set(parts if parts is not None else (*PARTS, *extra))
    unknown = wanted - set(PARTS) - set(extra)
    if unknown:
        raise SystemExit(f"unknown part(s): {', '.join(sorted(unknown))}")
    wrk_binary = ensure_wrk()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="maintguard-load-") as directory:
        tmp = Path(directory)
        os.chmod(tmp, 0o777)  # noqa: S103 - PostgreSQL runs as postgres in here
        redis = Redis(tmp)
        redis.start()
        h = Harness(Wrk(wrk_binary, tmp), tmp, redis, seconds, count, cap, results)
        try:
            if "servers" in wanted:
                server_rows(h)
            if "competitors" in wanted:
                competitor_rows(h)
            if "redis" in wanted:
                redis_restart(h)
            if "postgresql" in wanted:
                postgresql_restart(h)
            if "memory" in wanted:
                memory_run(h)
            for name, part in extra.items():
                if name in wanted:
                    part(h)
        finally:
            redis.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each load run")
    parser.add_argument("--count", type=int, default=1_000_000, help="requests, memory run")
    parser.add_argument("--cap", type=float, default=360.0, help="time cap, memory run")
    parser.add_argument("--parts", default=",".join(PARTS), help="which, comma-separated")
    args = parser.parse_args()
    results = run(args.seconds, args.count, args.cap, args.parts.split(","))
    print(report(results, args.seconds))


if __name__ == "__main__":
    main()
