"""Answers the core builds: the 503 page, JSON bodies, headers.

Bodies of blocked requests are rendered once per (state, operation,
format) and cached on the view; only ``Retry-After`` (whole seconds until
the estimated completion) is computed per request.
"""

from __future__ import annotations

import html
import json
import math
import string
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import attrs

from maintguard.core.operations import OperationType
from maintguard.core.paths import CACHE_BYTES, REMEMBER_MAX_BYTES, text_bytes
from maintguard.core.state import format_timestamp

Headers = list[tuple[str, str]]

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


@attrs.frozen
class Response:
    """A complete HTTP answer, framework-neutral.

    ``headers`` always include ``Content-Length`` (of the full body, also
    for a HEAD answer whose ``body`` is empty).
    """

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes = b""


def json_body(data: Any) -> bytes:
    # ASCII escapes: any string (a lone surrogate in a client's path) encodes.
    return json.dumps(data, separators=(",", ":")).encode("ascii")


def json_response(status: int, data: Any, headers: Sequence[tuple[str, str]] = ()) -> Response:
    body = json_body(data)
    return Response(
        status,
        [
            ("Content-Type", JSON_TYPE),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *headers,
        ],
        body,
    )


def error_response(
    status: int, error: str, field: str | None = None, headers: Sequence[tuple[str, str]] = ()
) -> Response:
    return json_response(status, {"error": error, "field": field}, headers)


DEFAULT_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>$title</title>
<style>
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330}
main{max-width:34rem;margin:2rem;padding:2.5rem;background:#fff;border-radius:12px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{margin:0 0 1rem;font-size:1.5rem}
p{line-height:1.5;margin:.5rem 0}
.eta{color:#5b6475;font-size:.95rem}
</style>
</head>
<body>
<main>
<h1>$title</h1>
<p>$message</p>
<p class="eta">$eta</p>
</main>
</body>
</html>
"""

PageRenderer = Callable[[Mapping[str, Any]], str]


def compile_page(page: str | PageRenderer | None) -> PageRenderer:
    """A renderer from a ``$placeholder`` template string or a callable.

    Template placeholders (``$title $message $mode $operation $eta
    $estimated_completion``) receive HTML-escaped values; a callable receives
    the raw values and must escape them itself.
    """
    if callable(page):
        return page
    template = string.Template(DEFAULT_PAGE if page is None else page)

    def render(values: Mapping[str, Any]) -> str:
        escaped = {k: html.escape("" if v is None else str(v)) for k, v in values.items()}
        return template.safe_substitute(escaped)

    return render


def wants_json(path: str, accept: str | None) -> bool:
    """JSON for API paths and for clients that ask for JSON over HTML."""
    if path.startswith("/api/"):
        return True
    if not accept:
        return False
    accept = accept.lower()
    json_at = accept.find("json")
    if json_at == -1:
        return False
    html_at = accept.find("text/html")
    return html_at == -1 or json_at < html_at


def retry_after(estimated_completion: float | None, now: float | None = None) -> str | None:
    if estimated_completion is None:
        return None
    seconds = math.ceil(estimated_completion - (time.time() if now is None else now))
    return str(max(seconds, 1))


def eta_in_words(completion: float, now: float) -> str:
    """``Expected back in about 20 minutes (around 14:30 CET).``: what a
    person reads, in the server's local time with its zone; the ISO time
    stays in the JSON answer and the ``$estimated_completion`` placeholder."""
    left = completion - now
    local = datetime.fromtimestamp(completion).astimezone()
    clock = local.strftime("%H:%M %Z").strip()
    if left <= 60:
        return f"Expected back within a minute (around {clock})."
    minutes = round(left / 60)
    if minutes < 90:
        span = f"about {minutes} minute{'s' if minutes != 1 else ''}"
    elif minutes < 36 * 60:
        span = f"about {round(minutes / 60)} hours"
    else:
        span = f"about {round(minutes / 1440)} days"
        clock = local.strftime("%a %d %b, %H:%M %Z").strip()
    return f"Expected back in {span} (around {clock})."


#: How many verdicts of plain requests one state remembers.
VERDICT_LIMIT = 4096


class Verdict(NamedTuple):
    """A remembered answer: the decision, and the 503 when it blocks."""

    decision: Any
    response: Response | None = None
    #: ``response``'s headers encoded once for ASGI.
    raw_headers: tuple[tuple[bytes, bytes], ...] = ()
    #: What counting a remembered block needs, made once: the path as the
    #: log line shows it, as the attempt report keeps it, and the key of
    #: the log line's rate limit (see ``BlockedAttempts.verdict``).
    path: str = ""
    sample: str = ""
    line_key: tuple[str, ...] = ()
    #: Counts one more of this block without a lock (``stores.counters.Tally``);
    #: ``None``: counted the locked way.
    hit: Callable[[], object] | None = None

    @classmethod
    def of(cls, decision: Any, response: Response | None = None) -> Verdict:
        raw = () if response is None else tuple(encode_headers(response.headers))
        return cls(decision, response, raw)


def encode_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as ASGI wants them: lower-case latin-1 bytes."""
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


@attrs.define
class BlockedResponder:
    """Renders 503 answers for one effective state, caching the bodies.

    It also remembers *verdicts* of plain requests — those carrying nothing
    that could make their sender an admin — keyed by (method, path, Accept):
    for one state such a request always gets the same answer, so the
    adapters look it up instead of classifying and rendering again.
    """

    mode: str
    message: str
    operation_label: Callable[[OperationType], str]
    estimated_completion: float | None
    page: PageRenderer
    _cache: dict[tuple[str, bool, str], bytes] = attrs.field(factory=dict)
    verdicts: dict[tuple[str, str, str | None], Verdict] = attrs.field(factory=dict)
    _retry: tuple[int, str] | None = None
    _eta: tuple[int, str] | None = None
    _headers_now: tuple[int, Response, Sequence[tuple[str, str]]] | None = None
    _raw_now: tuple[int, Verdict, Sequence[tuple[bytes, bytes]]] | None = None
    _remembered_bytes: int = 0

    def remember(self, key: tuple[str, str, str | None], verdict: Verdict) -> None:
        # Bounded in entries and in bytes; a long (or wide) path or Accept
        # value is judged each time instead.
        size = text_bytes(key[1], key[2])
        if verdict.response is not None:  # a block keeps its path and sample too
            size += text_bytes(verdict.path, verdict.sample)
        if (
            size <= REMEMBER_MAX_BYTES
            and len(self.verdicts) < VERDICT_LIMIT
            and self._remembered_bytes + size <= CACHE_BYTES
        ):
            self.verdicts[key] = verdict
            self._remembered_bytes += size

    def retry_after(self) -> str | None:
        """Whole seconds to the estimate (it counts down), at most one
        computation per clock second."""
        if self.estimated_completion is None:
            return None
        now = time.time()
        second = int(now)
        cached = self._retry
        if cached is None or cached[0] != second:
            cached = (second, retry_after(self.estimated_completion, now) or "")
            self._retry = cached
        return cached[1]

    def eta(self) -> str:
        """The expected time in words, as of this clock second."""
        if self.estimated_completion is None:
            return ""
        now = time.time()
        cached = self._eta
        if cached is None or cached[0] != int(now):
            cached = (int(now), eta_in_words(self.estimated_completion, now))
            self._eta = cached
        return cached[1]

    def body(self, operation: OperationType, as_json: bool) -> bytes:
        # The page says "about 20 minutes": its words are part of the key.
        eta = "" if as_json else self.eta()
        key = (operation, as_json, eta)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        completion = format_timestamp(self.estimated_completion)
        if as_json:
            body = json_body(
                {
                    "error": "maintenance",
                    "mode": self.mode,
                    "message": self.message,
                    "operation_type": operation.name,
                    "estimated_completion": completion,
                }
            )
        else:
            body = self.page(
                {
                    "title": "Down for maintenance"
                    if self.mode != "emergency"
                    else "Temporarily unavailable",
                    "message": self.message,
                    "mode": self.mode,
                    "operation": self.operation_label(operation),
                    "eta": eta,
                    "estimated_completion": completion or "",
                }
            ).encode("utf-8", "replace")
        if len(self._cache) >= 256:
            self._cache.clear()  # old words of a countdown: never needed again
        self._cache[key] = body
        return body

    def respond(
        self,
        operation: OperationType,
        *,
        as_json: bool,
        head: bool,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> Response:
        """The 503 without ``Retry-After``, which ``with_retry_after`` adds
        when it is sent (the answer itself may be remembered)."""
        body = self.body(operation, as_json)
        headers: Headers = [
            ("Content-Type", JSON_TYPE if as_json else HTML_TYPE),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        headers.extend(extra_headers)
        return Response(503, tuple(headers), b"" if head else body)

    def with_retry_after(self, response: Response) -> Response:
        after = self.retry_after()
        if after is None:
            return response
        return Response(response.status, (*response.headers, ("Retry-After", after)), response.body)

    def raw_headers_now(self, verdict: Verdict) -> Sequence[tuple[bytes, bytes]]:
        """A remembered block's ASGI headers plus ``Retry-After`` as of now
        (made once per verdict and clock second)."""
        if self.estimated_completion is None:
            return verdict.raw_headers
        second = int(time.time())
        made = self._raw_now
        if made is None or made[0] != second or made[1] is not verdict:
            after = self.retry_after()
            raw = verdict.raw_headers
            headers = (*raw, (b"retry-after", after.encode("ascii"))) if after else raw
            made = self._raw_now = (second, verdict, headers)
        return made[2]

    def headers_now(self, response: Response) -> list[tuple[str, str]]:
        """``response``'s headers plus ``Retry-After`` as of now, as a new list
        (made once per response and clock second: a flood repeats them)."""
        if self.estimated_completion is None:
            return list(response.headers)
        second = int(time.time())
        made = self._headers_now
        if made is None or made[0] != second or made[1] is not response:
            after = self.retry_after()
            headers = (*response.headers, ("Retry-After", after)) if after else response.headers
            made = self._headers_now = (second, response, headers)
        return list(made[2])
