"""The Markdown of ``benchmarks/load.py``'s results, for ``docs/performance.md``.

A row whose answers were not the statuses it should get (a bench app that
answered 500) is printed as not valid, with what it got, never with its
throughput as if it were a measurement; the comparisons that would use it
say so too.
"""

from __future__ import annotations

from typing import Any

from load_tools import CONNECTIONS, Load, Results

HEAD = "| scenario | requests/s | p50 ms | p99 ms | answers |\n|---|---:|---:|---:|---|"


def _answers(load: Load) -> str:
    errors = f"; socket errors: {load.socket_errors:,}" if load.socket_errors else ""
    if load.valid:
        return load.status_text() + errors
    got = load.status_text() or "no answer"
    return f"NOT VALID: expected {load.expected_text()}, got {got}{errors}"


def _row(name: str, load: Load) -> str:
    if not load.valid:
        return f"| {name} | not valid | | | {_answers(load)} |"
    return f"| {name} | {load.rps:,.0f} | {load.p50:.2f} | {load.p99:.2f} | {_answers(load)} |"


def _server_notes(rows: dict[str, Load], lines: int, total: int) -> list[str]:
    bare = rows["no middleware: GET /"]
    off = rows["maintguard off: GET /"]
    own = rows["no middleware: POST /upload (the app's route)"]
    blocked = rows["maintguard on, blocked: POST /upload"]
    if bare.valid and off.valid:
        overhead = (
            f"- maintguard off vs no middleware: {100 * (off.rps / bare.rps - 1):+.1f}% "
            "throughput (goal: within 2%)."
        )
    else:
        overhead = "- maintguard off vs no middleware: not compared (a row is not valid)."
    if own.valid and blocked.valid:
        flood = (
            f"- blocked flood vs the app's own route: {blocked.rps / own.rps:.1f}x the "
            f"throughput, p50 {blocked.p50:.2f} ms vs {own.p50:.2f} ms (goal: 5x)."
        )
    else:
        flood = "- blocked flood vs the app's own route: not compared (a row is not valid)."
    return [
        overhead,
        flood,
        f"- log lines during the blocked flood of {blocked.requests:,} requests: "
        f'{lines} "Operation blocked" lines, {total} lines in all.',
        "",
    ]


def _restarts(results: Results) -> list[str]:
    out = [
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
    return out


def _memory(m: dict[str, Any]) -> list[str]:
    load: Load = m["load"]
    wanted = m["wanted"]
    if load.requests >= wanted:
        reached = f"{load.requests:,} requests in {load.seconds:.0f} s"
    else:
        reached = (
            f"{load.requests:,} requests in {load.seconds:.0f} s (scaled down: "
            f"{wanted:,} wanted, the {m['cap']:g} s cap reached)"
        )
    thirds = [f"after {round(wanted * k / 3):,} requests" for k in (1, 2)]
    out = [
        "",
        f"**Memory, random high-cardinality paths in maintenance** ({m['server']}, "
        f"Redis; GET and POST to /r/<random>/<random>): {reached} at "
        f"{load.rps:,.0f}/s; answers {_answers(load)}; "
        f'{m["blocked lines"]} "Operation blocked" lines.',
        "",
        f"| worker | RSS start MiB | {thirds[0]} | {thirds[1]} | peak MiB | end MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for i, sizes in enumerate(m["rss"], 1):
        cells = ("—" if kib is None else f"{kib / 1024:.1f}" for kib in sizes)
        out.append(f"| {i} | " + " | ".join(cells) + " |")
    return out


def report(results: Results, seconds: float) -> str:
    out: list[str] = []
    for title, rows in results.servers.items():
        out += [f"**{title}**, Redis store, wrk {CONNECTIONS} connections, {seconds:g} s each:", ""]
        out += [HEAD, *(_row(name, load) for name, load in rows.items()), ""]
        if title in results.log_lines:
            out += _server_notes(rows, *results.log_lines[title])
    for title, rows in results.competitors.items():
        out += [f"**Side by side: {title}**, same server and load:", "", HEAD]
        out += [*(_row(name, load) for name, load in rows.items()), ""]
    if results.restarts:
        out += _restarts(results)
    if results.memory:
        out += _memory(results.memory)
    for section in results.sections.values():
        out += ["", section]
    return "\n".join(out)
