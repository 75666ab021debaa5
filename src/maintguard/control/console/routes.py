"""The console's endpoints: ``dashboard``, ``banner.js``, ``events``, ``ws``, ``metrics``.

``Console`` gives ``ControlAPI`` the answers it serves as plain reads, and
the adapters ``open`` for the streams they hold open (``events`` on WSGI
and ASGI, ``ws`` on ASGI). An integration that cannot hold a response
open still answers ``events``: with the current events and a ``retry``
hint, so an ``EventSource`` comes back for the next ones.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from maintguard.control.console import assets
from maintguard.control.console.feed import ChangeFeed
from maintguard.control.console.history import minute_history
from maintguard.control.console.stream import EventStream, clean_last_id, sse_opening
from maintguard.core.identity import bearer_token, client_address, ip_allowed, match_token
from maintguard.core.responses import Response, error_response
from maintguard.core.state import format_timestamp

if TYPE_CHECKING:
    from maintguard.core.decision import RequestInfo
    from maintguard.service import MaintenanceService

#: How soon (ms) an EventSource reconnects when its stream ends.
RETRY_MS = 1000

SSE_HEADERS = [
    ("Content-Type", "text/event-stream; charset=utf-8"),
    ("Cache-Control", "no-store"),
    # nginx buffers proxied answers unless told not to.
    ("X-Accel-Buffering", "no"),
    ("X-Content-Type-Options", "nosniff"),
]

_BUSY = [("Retry-After", "30")]
_UNAUTHORIZED = [("WWW-Authenticate", 'Bearer realm="maintguard", error="invalid_token"')]


class Console:
    """The console endpoints of one service; ``status`` is the status endpoint's handler."""

    def __init__(
        self, service: MaintenanceService, status: Callable[[RequestInfo], Response]
    ) -> None:
        self.service = service
        self._status = status
        self.feed = ChangeFeed()
        service.on_view_change(self.feed.changed)
        self._dashboard_cache: Response | None = None
        self._lock = threading.Lock()
        self._anonymous = 0
        self.reads: dict[str, Callable[[RequestInfo], Response]] = {
            "dashboard": self._dashboard,
            "banner": self._banner,
            "events": self._events_once,
            "ws": self._not_websocket,
            "metrics": self._metrics,
        }

    # -- streams ---------------------------------------------------------------

    def open(self, info: RequestInfo) -> Response | EventStream:
        """A stream for this request, or the answer refusing it.

        No token: public fields. A valid token: everything. A token that is
        not one of ours: 401, so a dashboard with a mistyped token says so
        instead of quietly showing less.
        """
        presented = bearer_token(info.header("authorization"))
        full = False
        if presented is not None:
            if match_token(self.service.decider.tokens, presented) is None:
                return error_response(401, "a valid bearer token is required", None, _UNAUTHORIZED)
            full = True
        settings = self.service.settings
        release = None
        if not full:
            # Anonymous streams are capped: each holds a thread (or a sync
            # worker) on WSGI, and anyone may open one.
            with self._lock:
                if self._anonymous >= settings.event_stream_limit:
                    return error_response(
                        503, "too many open event streams; poll the status", None, _BUSY
                    )
                self._anonymous += 1
            release = self._release_anonymous
        return EventStream(
            status=lambda: self.status_document(info),
            counts=lambda: self.counts_document(full),
            last_id=clean_last_id(info.header("last-event-id")),
            duration=settings.event_stream_duration,
            heartbeat=settings.event_heartbeat,
            release=release,
        )

    def _release_anonymous(self) -> None:
        with self._lock:
            self._anonymous -= 1

    @property
    def anonymous_streams(self) -> int:
        """Streams without a token open now (they count against the limit)."""
        return self._anonymous

    def status_document(self, info: RequestInfo) -> dict[str, Any]:
        """What ``GET {prefix}/status`` answers this request: one definition
        of the public fields for the status endpoint and the streams."""
        document: dict[str, Any] = json.loads(self._status(info).body)
        return document

    def counts_document(self, full: bool) -> dict[str, Any]:
        service = self.service
        counts = service.attempt_counts()
        blocked = {op: int(n) for op, n in sorted(counts.blocked.items())}
        document: dict[str, Any] = {"blocked": blocked, "total": sum(blocked.values())}
        if not full:
            return document
        snapshot = service.snapshot
        document.update(
            simulated={op: int(n) for op, n in sorted(counts.simulated.items())},
            history=minute_history(counts),
            store={
                "backend": service.store.name,
                "healthy": snapshot.healthy,
                "last_refresh": format_timestamp(snapshot.last_refresh),
            },
        )
        return document

    def _events_once(self, info: RequestInfo) -> Response:
        opened = self.open(info)
        if isinstance(opened, Response):
            return opened
        try:
            body = sse_opening(RETRY_MS) + opened.sse_chunk()
        finally:
            opened.close()
        return Response(200, [*SSE_HEADERS, ("Content-Length", str(len(body)))], body)

    def _not_websocket(self, info: RequestInfo) -> Response:
        return error_response(
            426, "this endpoint is a WebSocket (ASGI servers)", None, [("Upgrade", "websocket")]
        )

    # -- pages -----------------------------------------------------------------

    def _dashboard(self, info: RequestInfo) -> Response:
        if self._dashboard_cache is None:
            self._dashboard_cache = assets.dashboard_response(self.service.settings.prefix)
        return self._dashboard_cache

    def _banner(self, info: RequestInfo) -> Response:
        return assets.banner_response()

    # -- metrics ---------------------------------------------------------------

    def _metrics(self, info: RequestInfo) -> Response:
        from maintguard.control.console import metrics

        if not metrics.available():
            return error_response(404, "install maintguard[metrics] for /metrics", None)
        if not self._may_scrape(info):
            return error_response(
                401, "a valid bearer token or an allowed address is required", None, _UNAUTHORIZED
            )
        return metrics.exposition(self.service, info.header("accept"))

    def _may_scrape(self, info: RequestInfo) -> bool:
        decider = self.service.decider
        if match_token(decider.tokens, bearer_token(info.header("authorization"))) is not None:
            return True
        if not decider.allowed_ips:
            return False
        address = client_address(
            info.client, info.header("x-forwarded-for"), decider.trusted_proxies
        )
        return ip_allowed(address, decider.allowed_ips)
