#!/usr/bin/env python3
"""What maintguard costs per request, measured in one run.

    python benchmarks/run.py             # the full run (about a minute)
    python benchmarks/run.py --quick     # fewer repetitions, for a smoke test
    python benchmarks/run.py --json out.json

Every scenario is a batch of calls timed with ``perf_counter``; scenarios
are interleaved (one batch of each, then again) for ``--reps`` rounds, and
each figure is the median over the rounds, so a noisy neighbour slows every
scenario alike instead of one. Ratios are taken between medians of the same
run; absolute microseconds only compare within one machine. No figure here
is asserted anywhere: the targets are reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from scenarios import (  # noqa: E402
    ALLOWED,
    BLOCKED,
    RULE_COUNTS,
    AsgiMiddleware,
    Batch,
    Flag,
    FlagAsgi,
    FlagWsgi,
    PassThroughAsgi,
    PassThroughWsgi,
    WsgiMiddleware,
    _django_installed,
    _start_response,
    add_rules,
    asgi_batch,
    bare_asgi,
    bare_wsgi,
    classify_batch,
    django_batch,
    django_handler,
    environ_for,
    rule_regexes,
    scan_batch,
    service_with,
    unique_paths,
    wsgi_batch,
)

from maintguard.core import responses  # noqa: E402
from maintguard.core.classifier import OperationClassifier  # noqa: E402
from maintguard.service import MaintenanceService  # noqa: E402

# ----------------------------------------------------------------- measuring


def measure(scenarios: dict[str, tuple[Batch, int]], reps: int) -> dict[str, float]:
    """Median seconds per call of each scenario over interleaved rounds."""
    for batch, n in scenarios.values():
        batch(max(n // 10, 1))  # warm caches, start threads
    samples: dict[str, list[float]] = {name: [] for name in scenarios}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(reps):
            for name, (batch, n) in scenarios.items():
                samples[name].append(batch(n) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def count_renders(reps: int) -> tuple[int, int, int]:
    """(requests, state changes, bodies rendered) for blocked requests."""
    rendered = [0]
    real_json_body = responses.json_body

    def page(values: Any) -> str:
        rendered[0] += 1
        return f"<p>{values['message']}</p>"

    def counting_json_body(data: Any) -> bytes:
        rendered[0] += 1
        return real_json_body(data)

    responses.json_body = counting_json_body  # type: ignore[assignment]
    try:
        service = MaintenanceService(page=page, refresh_interval=60.0)
        app = WsgiMiddleware(bare_wsgi, service)
        html, api = environ_for(*BLOCKED), environ_for("POST", "/api/jobs")
        requests = changes = 0
        for change in range(reps):
            service.enable_maintenance(f"benchmark {change}", duration=3600)
            changes += 1
            for _ in range(500):
                app(html, _start_response)
                app(api, _start_response)
                requests += 2
        service.close()
    finally:
        responses.json_body = real_json_body  # type: ignore[assignment]
    return requests, changes, rendered[0]


def run(reps: int, n: int) -> dict[str, Any]:
    loop = asyncio.new_event_loop()
    flag = Flag()
    results: dict[str, Any] = {}
    services: list[MaintenanceService] = []

    base: dict[str, tuple[Batch, int]] = {
        "wsgi bare": (wsgi_batch(bare_wsgi, *BLOCKED), n),
        "wsgi pass-through": (wsgi_batch(PassThroughWsgi(bare_wsgi), *BLOCKED), n),
        "wsgi flag check": (wsgi_batch(FlagWsgi(bare_wsgi, flag), *BLOCKED), n),
        "asgi bare": (asgi_batch(bare_asgi, *BLOCKED, loop), n),
        "asgi pass-through": (asgi_batch(PassThroughAsgi(bare_asgi), *BLOCKED, loop), n),
        "asgi flag check": (asgi_batch(FlagAsgi(bare_asgi, flag), *BLOCKED, loop), n),
    }
    scenarios = dict(base)
    for rules in RULE_COUNTS:
        off, on = service_with(rules, active=False), service_with(rules, active=True)
        services += [off, on]
        for kind, middleware, bare in (
            ("wsgi", WsgiMiddleware, bare_wsgi),
            ("asgi", AsgiMiddleware, bare_asgi),
        ):
            for label, service, request in (
                ("off", off, BLOCKED),
                ("on, blocked", on, BLOCKED),
                ("on, allowed", on, ALLOWED),
            ):
                app = middleware(bare, service)  # type: ignore[arg-type]
                batch = (
                    wsgi_batch(app, *request) if kind == "wsgi" else asgi_batch(app, *request, loop)
                )
                scenarios[f"{kind} maintguard {label}, {rules} rules"] = (batch, n)
        untracked = AsgiMiddleware(bare_asgi, off, track_event_streams=False)  # type: ignore[arg-type]
        scenarios[f"asgi maintguard off, no event-stream tracking, {rules} rules"] = (
            asgi_batch(untracked, *BLOCKED, loop),
            n,
        )
        classifier = OperationClassifier()
        add_rules(classifier, rules)
        scenarios[f"classify miss, {rules} rules"] = (
            classify_batch(classifier, unique_paths(rules, True), "POST"),
            n,
        )
        scenarios[f"classify miss, two readings, {rules} rules"] = (
            classify_batch(classifier, unique_paths(rules, False), "POST"),
            n,
        )
        hits = [f"/t{i % rules}/items/{i % 64}/edit" for i in range(64)]
        scenarios[f"classify hit, {rules} rules"] = (
            classify_batch(classifier, (hits[i % 64] for i in range(10**9)), "POST"),
            n,
        )
    # The emergency page (HTML, everything but admins blocked) and Django,
    # with the 10-rule set: rule counts do not show once a verdict is remembered.
    emergency = service_with(10, active=True, emergency=True)
    off, on = service_with(10, active=False), service_with(10, active=True)
    services += [emergency, off, on]
    scenarios["wsgi maintguard emergency, blocked (HTML)"] = (
        wsgi_batch(WsgiMiddleware(bare_wsgi, emergency), *ALLOWED),
        n,
    )
    scenarios["asgi maintguard emergency, blocked (HTML)"] = (
        asgi_batch(AsgiMiddleware(bare_asgi, emergency), *ALLOWED, loop),  # type: ignore[arg-type]
        n,
    )
    if _django_installed():
        scenarios["django bare"] = (django_batch(django_handler(None), *BLOCKED), n)
        for label, service, request in (
            ("off", off, BLOCKED),
            ("on, blocked", on, BLOCKED),
            ("on, allowed", on, ALLOWED),
            ("emergency, blocked (HTML)", emergency, ALLOWED),
        ):
            scenarios[f"django maintguard {label}, 10 rules"] = (
                django_batch(django_handler(service), *request),
                n,
            )
    scenarios["linear scan, 1000 regexes"] = (
        scan_batch(rule_regexes(1000), "/dashboard/overview"),
        max(n // 100, 10),
    )
    results["seconds"] = measure(scenarios, reps)
    for service in services:
        service.close()
    loop.close()
    requests, changes, renders = count_renders(5)
    results["renders"] = {"requests": requests, "state_changes": changes, "renders": renders}
    return results


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f}"


def report(results: dict[str, Any]) -> str:
    s = results["seconds"]
    lines = ["| scenario | µs per request | over bare, µs | x bare |", "|---|---:|---:|---:|"]
    for name, seconds in s.items():
        kind = name.split()[0]
        bare = s.get(f"{kind} bare")
        if bare is None:
            lines.append(f"| {name} | {_us(seconds)} | | |")
        else:
            lines.append(
                f"| {name} | {_us(seconds)} | {_us(seconds - bare)} | {seconds / bare:.2f} |"
            )
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for kind, limit in (("wsgi", 1.0), ("asgi", 3.0)):
        bare = s[f"{kind} bare"]
        flag = s[f"{kind} flag check"] - bare
        off = s[f"{kind} maintguard off, 10 rules"] - bare
        lines.append(
            f"| {kind}: off ≤ 2x the flag check's overhead | {_us(off)} µs vs "
            f"2 x {_us(flag)} µs (ratio {off / flag:.2f}) | {'yes' if off <= 2 * flag else 'no'} |"
        )
        if kind == "asgi":
            untracked = s["asgi maintguard off, no event-stream tracking, 10 rules"] - bare
            lines.append(
                f"| asgi: off ≤ 2x the flag check's overhead, event streams not tracked | "
                f"{_us(untracked)} µs vs 2 x {_us(flag)} µs (ratio {untracked / flag:.2f}) | "
                f"{'yes' if untracked <= 2 * flag else 'no'} |"
            )
        blocked = s[f"{kind} maintguard on, blocked, 10 rules"] - bare
        lines.append(
            f"| {kind}: blocked < {limit:g} µs over bare, 10 rules | {_us(blocked)} µs | "
            f"{'yes' if blocked * 1e6 < limit else 'no'} |"
        )
    for kind, limit in (("wsgi", 1.0), ("asgi", 3.0)):
        blocked = s[f"{kind} maintguard emergency, blocked (HTML)"] - s[f"{kind} bare"]
        lines.append(
            f"| {kind}: emergency page (HTML) < {limit:g} µs over bare | {_us(blocked)} µs | "
            f"{'yes' if blocked * 1e6 < limit else 'no'} |"
        )
    if "django bare" in s:
        for label in ("on, blocked", "emergency, blocked (HTML)"):
            blocked = s[f"django maintguard {label}, 10 rules"] - s["django bare"]
            lines.append(
                f"| django: {label} ≤ 10 µs over bare Django | {_us(blocked)} µs | "
                f"{'yes' if blocked * 1e6 <= 10 else 'no'} |"
            )
    for name in (
        "classify miss, 1000 rules",
        "classify miss, two readings, 1000 rules",
        "classify hit, 1000 rules",
    ):
        lines.append(
            f"| {name} < 2 µs | {_us(s[name])} µs | {'yes' if s[name] * 1e6 < 2 else 'no'} |"
        )
    scan, miss = s["linear scan, 1000 regexes"], s["classify miss, 1000 rules"]
    r = results["renders"]
    lines += [
        "",
        f"A linear scan of 1,000 regexes costs {_us(scan)} µs per path, "
        f"{scan / miss:.0f}x an indexed cache miss over 1,000 rules.",
        f"503 bodies rendered: {r['renders']} for {r['requests']} blocked requests over "
        f"{r['state_changes']} state changes (two formats: HTML and JSON).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15, help="interleaved rounds")
    parser.add_argument("-n", type=int, default=20_000, help="calls per batch")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2,000 calls")
    parser.add_argument("--json", type=Path, help="also write the raw medians here")
    args = parser.parse_args()
    reps, n = (3, 2000) if args.quick else (args.reps, args.n)
    results = run(reps, n)
    print(f"Python {sys.version.split()[0]}, {reps} interleaved rounds of {n} calls, medians\n")
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
