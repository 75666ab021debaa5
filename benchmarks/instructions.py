#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind.

    python benchmarks/instructions.py          # a table on stdout (about a minute)

Seconds on a shared 2-core machine move with whatever else runs; the
instructions a request executes do not. This runs the main scenarios of
``run.py`` (10 rules) once each inside one ``valgrind --tool=callgrind``
process, asking callgrind for a dump after each (``callgrind_control``),
and reports each scenario's instructions per request: the same figure on an
idle machine as on a busy one, so the ratios between scenarios are
repeatable. An instruction is not a nanosecond (cache misses and branches
differ between scenarios), so this complements the timed table, it does
not replace it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHILD_FLAG = "--inside-callgrind"


def ensure_valgrind() -> str | None:
    """valgrind's path, installed with apt-get when missing (and root)."""
    sys.path.insert(0, str(HERE))
    import debian  # here: the run inside callgrind needs none of it

    debian.ensure("valgrind", "callgrind_control")
    return shutil.which("valgrind")


# ------------------------------------------------- inside callgrind


def _scenarios() -> dict[str, tuple[Any, int]]:
    """(batch, requests) per scenario, built as ``run.py`` builds them."""
    import asyncio

    from scenarios import (
        ALLOWED,
        BLOCKED,
        AsgiMiddleware,
        Flag,
        FlagAsgi,
        FlagWsgi,
        WsgiMiddleware,
        _django_installed,
        asgi_batch,
        bare_asgi,
        bare_wsgi,
        django_batch,
        django_handler,
        service_with,
        wsgi_batch,
    )

    loop = asyncio.new_event_loop()
    off = service_with(10, active=False)
    on = service_with(10, active=True)
    emergency = service_with(10, active=True, emergency=True)
    flag = Flag()

    def asgi(service: Any, request: tuple[str, str], **options: Any) -> Any:
        middleware = AsgiMiddleware(bare_asgi, service, **options)  # type: ignore[arg-type]
        return asgi_batch(middleware, *request, loop)

    n = 4000
    table: dict[str, tuple[Any, int]] = {
        "wsgi bare": (wsgi_batch(bare_wsgi, *BLOCKED), n),
        "wsgi flag check": (wsgi_batch(FlagWsgi(bare_wsgi, flag), *BLOCKED), n),
        "wsgi maintguard off": (wsgi_batch(WsgiMiddleware(bare_wsgi, off), *BLOCKED), n),
        "wsgi maintguard on, blocked": (wsgi_batch(WsgiMiddleware(bare_wsgi, on), *BLOCKED), n),
        "wsgi maintguard on, allowed": (wsgi_batch(WsgiMiddleware(bare_wsgi, on), *ALLOWED), n),
        "wsgi maintguard emergency, blocked (HTML)": (
            wsgi_batch(WsgiMiddleware(bare_wsgi, emergency), *ALLOWED),
            n,
        ),
        "asgi bare": (asgi_batch(bare_asgi, *BLOCKED, loop), n),
        "asgi flag check": (asgi_batch(FlagAsgi(bare_asgi, flag), *BLOCKED, loop), n),
        "asgi maintguard off": (asgi(off, BLOCKED), n),
        "asgi maintguard off, no event-stream tracking": (
            asgi(off, BLOCKED, track_event_streams=False),
            n,
        ),
        "asgi maintguard on, blocked": (asgi(on, BLOCKED), n),
        "asgi maintguard emergency, blocked (HTML)": (asgi(emergency, ALLOWED), n),
    }
    if _django_installed():
        few = n // 8  # a Django request is some 30 times a bare WSGI one
        table["django bare"] = (django_batch(django_handler(None), *BLOCKED), few)
        table["django maintguard on, blocked"] = (django_batch(django_handler(on), *BLOCKED), few)
        table["django maintguard emergency, blocked (HTML)"] = (
            django_batch(django_handler(emergency), *ALLOWED),
            few,
        )
    return table


def _dump(label: str) -> None:
    control = shutil.which("callgrind_control") or "callgrind_control"
    subprocess.run(
        [control, f"--dump={label}", str(os.getpid())],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def inside(names_file: Path) -> None:
    sys.path.insert(0, str(HERE))
    scenarios = _scenarios()
    names_file.write_text(json.dumps([[name, n] for name, (_, n) in scenarios.items()]))
    for batch, n in scenarios.values():
        batch(max(n // 10, 1))  # warm caches, remember verdicts, start threads
    gc.disable()
    _dump("start")
    # What a dump costs (it starts callgrind_control): taken off each figure.
    _dump("empty")
    for index, (batch, n) in enumerate(scenarios.values()):
        batch(n)
        _dump(f"s{index}")


# ------------------------------------------------------- outside


def measure() -> dict[str, float] | None:
    """Instructions per request by scenario; ``None`` without valgrind."""
    valgrind = ensure_valgrind()
    if valgrind is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out, names_file = Path(tmp) / "callgrind.out", Path(tmp) / "names.json"
        subprocess.run(
            [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
             sys.executable, __file__, CHILD_FLAG, str(names_file)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        totals = _dumps(Path(tmp))
        names = json.loads(names_file.read_text())
    overhead = totals["empty"]
    return {
        name: (totals[f"s{i}"] - overhead) / requests for i, (name, requests) in enumerate(names)
    }


def _dumps(directory: Path) -> dict[str, int]:
    """``label -> instructions`` of each ``callgrind_control --dump=label``."""
    totals: dict[str, int] = {}
    for path in directory.glob("callgrind.out*"):
        label = total = None
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("desc: Trigger: dump "):
                label = line.removeprefix("desc: Trigger: dump ").strip()
            elif line.startswith("summary:"):
                total = int(line.split()[1])
        if label is not None and total is not None:
            totals[label] = total
    return totals


def report(counts: dict[str, float]) -> str:
    lines = [
        "| scenario | instructions per request | over bare | x the flag check's overhead |",
        "|---|---:|---:|---:|",
    ]
    flags = {
        kind: counts[f"{kind} flag check"] - counts[f"{kind} bare"] for kind in ("wsgi", "asgi")
    }
    for name, value in counts.items():
        kind = name.split()[0]
        bare = counts.get(f"{kind} bare", value)
        over = value - bare
        ratio = f"{over / flags[kind]:.2f}" if kind in flags and over and flags[kind] else ""
        lines.append(f"| {name} | {value:,.0f} | {over:,.0f} | {ratio} |")
    lines.append("")
    lines.append("| target (in instructions) | measured | met |")
    lines.append("|---|---|---|")
    for name, label in (
        ("wsgi maintguard off", "wsgi: off ≤ 2x the flag check's overhead"),
        ("asgi maintguard off", "asgi: off ≤ 2x the flag check's overhead"),
        (
            "asgi maintguard off, no event-stream tracking",
            "asgi: off ≤ 2x the flag check's overhead, event streams not tracked",
        ),
    ):
        kind = name.split()[0]
        ratio = (counts[name] - counts[f"{kind} bare"]) / flags[kind]
        lines.append(f"| {label} | ratio {ratio:.2f} | {'yes' if ratio <= 2 else 'no'} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == CHILD_FLAG:
        inside(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    counts = measure()
    if counts is None:
        sys.exit("valgrind is needed: apt-get install valgrind")
    print(report(counts))


if __name__ == "__main__":
    main()
