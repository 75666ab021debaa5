"""Prometheus metrics (``pip install 'maintguard[metrics]'``).

``MaintguardCollector(service)`` reads everything at scrape time, so the
request path pays nothing. The blocked and simulated totals are the
store's sums over every worker (as the status shows them), so any one
worker's scrape gives the whole deployment's count: with gunicorn's
multiprocess mode there is nothing to merge for them, and the collector is
simply registered next to ``MultiProcessCollector`` (see docs/console.md).
The gauges about this process (staleness, lag, store errors) describe the
worker that answered the scrape.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from maintguard.core.responses import Response
from maintguard.core.state import Mode
from maintguard.exceptions import import_extra

if TYPE_CHECKING:
    from maintguard.service import MaintenanceService

__all__ = ["MaintguardCollector", "available", "exposition", "register"]


def available() -> bool:
    try:
        importlib.import_module("prometheus_client")
    except ImportError:
        return False
    return True


def _prometheus() -> Any:
    return import_extra("prometheus_client", "metrics")


class MaintguardCollector:
    """A prometheus_client collector for one ``MaintenanceService``."""

    def __init__(self, service: MaintenanceService) -> None:
        self.service = service

    def describe(self) -> list[Any]:
        # Described as nothing: registering then never scrapes the store.
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        service = self.service
        view = service.view()
        state = view.state
        counts = service.attempt_counts()
        # The mode in force (an ended maintenance reads "normal").
        epoch_mode = state.mode.value
        blocked = CounterMetricFamily(
            "maintguard_blocked_requests",
            "Requests answered 503 in the current (or last) maintenance, all workers",
            labels=["operation", "mode"],
        )
        for operation, count in sorted(counts.blocked.items()):
            blocked.add_metric([operation, epoch_mode], float(count))
        yield blocked
        simulated = CounterMetricFamily(
            "maintguard_simulated_requests",
            "Requests test mode would have blocked, all workers",
            labels=["operation"],
        )
        for operation, count in sorted(counts.simulated.items()):
            simulated.add_metric([operation], float(count))
        yield simulated
        mode = GaugeMetricFamily(
            "maintguard_mode", "1 for the mode in force (normal when off)", labels=["mode"]
        )
        for each in Mode:
            mode.add_metric([each.value], 1.0 if state.active and state.mode is each else 0.0)
        yield mode
        yield GaugeMetricFamily(
            "maintguard_maintenance_active",
            "1 while maintenance is active on this worker",
            value=1.0 if state.active else 0.0,
        )
        progress = state.progress if state.active else {}
        yield CounterMetricFamily(
            "maintguard_sessions_invalidated",
            "Sessions ended by the current maintenance",
            value=float(progress.get("sessions_invalidated") or 0),
        )
        yield CounterMetricFamily(
            "maintguard_jobs_terminated",
            "Background jobs stopped by the current emergency",
            value=float(progress.get("jobs_stopped") or 0),
        )
        yield GaugeMetricFamily(
            "maintguard_active_jobs",
            "Background jobs running",
            value=float(service.active_jobs_count),
        )
        snapshot = service.snapshot
        yield CounterMetricFamily(
            "maintguard_store_errors",
            "Failed reads of the state store by this worker",
            value=float(snapshot.errors),
        )
        last = snapshot.last_refresh
        yield GaugeMetricFamily(
            "maintguard_snapshot_staleness_seconds",
            "Seconds since this worker last read the store",
            value=time.time() - last if last is not None else float("nan"),
        )
        yield GaugeMetricFamily(
            "maintguard_propagation_lag_seconds",
            "Seconds between the last change being written and this worker adopting it",
            value=snapshot.propagation_lag
            if snapshot.propagation_lag is not None
            else float("nan"),
        )


def register(service: MaintenanceService, registry: Any = None) -> MaintguardCollector:
    """Add the service's collector to ``registry`` (default: prometheus_client's)."""
    prometheus = _prometheus()
    collector = MaintguardCollector(service)
    (registry if registry is not None else prometheus.REGISTRY).register(collector)
    return collector


def exposition(service: MaintenanceService, accept: str | None) -> Response:
    """The text exposition of a registry holding only this service's collector."""
    prometheus = _prometheus()
    registry = prometheus.CollectorRegistry(auto_describe=False)
    registry.register(MaintguardCollector(service))
    encoder, content_type = prometheus.exposition.choose_encoder(accept or "")
    body = encoder(registry)
    return Response(
        200,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
        body,
    )
