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
import io
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from maintguard.asgi import MaintenanceMiddleware as AsgiMiddleware
from maintguard.core import responses
from maintguard.core.classifier import OperationClassifier
from maintguard.service import MaintenanceService
from maintguard.wsgi import MaintenanceMiddleware as WsgiMiddleware

Batch = Callable[[int], float]  # runs n requests, returns seconds
RULE_COUNTS = (10, 100, 1000)
BLOCKED = ("POST", "/upload/photo")
ALLOWED = ("GET", "/dashboard/overview")
OPERATIONS = ("JOB_CREATION", "BATCH_OPERATIONS", "USER_DATA_MODIFICATION", "READ_OPERATIONS")


# ------------------------------------------------------------------ the apps

HEADERS = [("Content-Type", "text/plain"), ("Content-Length", "2")]
BODY = [b"ok"]


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", HEADERS)
    return BODY


class PassThroughWsgi:
    """The least a middleware can do."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.app(environ, start_response)


class Flag:
    active = False


class FlagWsgi:
    """A hand-written maintenance switch: one cached boolean, nothing else."""

    def __init__(self, app: Callable[..., Any], flag: Flag) -> None:
        self.app = app
        self.flag = flag

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.flag.active:
            start_response("503 Service Unavailable", [])
            return []
        return self.app(environ, start_response)


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
END = {"type": "http.response.body", "body": b"ok"}


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send(START)
    await send(END)


class PassThroughAsgi:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class FlagAsgi:
    def __init__(self, app: Any, flag: Flag) -> None:
        self.app = app
        self.flag = flag

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.flag.active:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


# ------------------------------------------------------------ the Django app


def django_view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns: list[Any] = []


def django_handler(service: MaintenanceService | None) -> Any:
    """Django's own WSGI handler, with only maintguard's middleware (or none)."""
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import re_path

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark-only-0123456789",  # noqa: S106 - no secret in a benchmark
            ALLOWED_HOSTS=["bench"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
        )
        django.setup()
        urlpatterns.append(re_path(r"^.*$", django_view))
    settings.MIDDLEWARE = [] if service is None else ["maintguard.django.MaintenanceMiddleware"]
    settings.MAINTGUARD_SERVICE = service
    return WSGIHandler()


def django_environ(method: str, path: str) -> dict[str, Any]:
    environ = environ_for(method, path)
    environ["wsgi.input"] = io.BytesIO(b"")
    return environ


def django_batch(handler: Any, method: str, path: str) -> Batch:
    environ = django_environ(method, path)

    def run(n: int) -> float:
        start_response = _start_response
        started = time.perf_counter()
        for _ in range(n):
            handler(environ, start_response)
        return time.perf_counter() - started

    return run


# ----------------------------------------------------------------- the rules


def add_rules(classifier: OperationClassifier, count: int) -> None:
    """``count`` custom rules, half whole-segment prefixes, half regexes."""
    for i in range(count):
        operation = OPERATIONS[i % len(OPERATIONS)]
        if i % 2:
            classifier.add_custom_classification(rf"/t{i}/items/\d+/(edit|delete)", operation)
        else:
            classifier.add_custom_classification(f"/t{i}/items", operation, ["POST", "PUT"])


def rule_regexes(count: int) -> list[re.Pattern[str]]:
    """The same rules as ``add_rules``, all as regexes, for a linear scan."""
    return [
        re.compile(rf"/t{i}/items/\d+/(edit|delete)" if i % 2 else rf"/t{i}/items(/.*)?")
        for i in range(count)
    ]


def service_with(rules: int, *, active: bool, emergency: bool = False) -> MaintenanceService:
    classifier = OperationClassifier()
    add_rules(classifier, rules)
    service = MaintenanceService(classifier=classifier, refresh_interval=60.0)
    if emergency:
        service.enable_emergency("benchmark", duration=3600, background=False)
    elif active:
        service.enable_maintenance("benchmark", duration=3600)
    service.view()  # start the snapshot now, not inside a timed batch
    return service


# ----------------------------------------------------------------- the timers


def environ_for(method: str, path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.10",
        "HTTP_HOST": "bench",
        "HTTP_ACCEPT": "text/html",
        "wsgi.url_scheme": "http",
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    return None


def wsgi_batch(app: Callable[..., Any], method: str, path: str) -> Batch:
    environ = environ_for(method, path)

    def run(n: int) -> float:
        start_response = _start_response
        started = time.perf_counter()
        for _ in range(n):
            app(environ, start_response)
        return time.perf_counter() - started

    return run


def scope_for(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"text/html")],
        "client": ("192.0.2.10", 50000),
        "server": ("bench", 80),
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


def asgi_batch(app: Any, method: str, path: str, loop: asyncio.AbstractEventLoop) -> Batch:
    scope = scope_for(method, path)

    async def many(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await app(scope, _receive, _send)
        return time.perf_counter() - started

    def run(n: int) -> float:
        return loop.run_until_complete(many(n))

    return run


def classify_batch(classifier: OperationClassifier, paths: Iterable[str], method: str) -> Batch:
    """Classification of ``paths`` in turn: unique ones miss the cache."""
    source = iter(paths)

    def run(n: int) -> float:
        batch = [next(source) for _ in range(n)]
        classify = classifier.classify
        started = time.perf_counter()
        for path in batch:
            classify(method, path)
        return time.perf_counter() - started

    return run


def scan_batch(patterns: list[re.Pattern[str]], path: str) -> Batch:
    def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            for pattern in patterns:
                if pattern.fullmatch(path):
                    break
        return time.perf_counter() - started

    return run


def unique_paths(rules: int, clean: bool) -> Iterable[str]:
    """Endless distinct paths, a third of them under a rule's prefix."""
    i = 0
    while True:
        i += 1
        if i % 3 == 0:
            path = f"/t{(i * 7) % max(rules, 1)}/items/{i}/edit"
        elif i % 3 == 1:
            path = f"/dashboard/reports/{i}"
        else:
            path = f"/upload/photos/{i}"
        yield path if clean else path.replace("/items/", "/./items//") + ";v=1"


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


def _django_installed() -> bool:
    try:
        import django  # noqa: F401
    except ImportError:
        return False
    return True


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
