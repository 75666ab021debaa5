"""A hung ``is_admin`` resolver delays nothing but its own request: it runs
on a bounded pool of its own, for at most ``resolver_timeout``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from maintguard import MaintenanceService, RequestInfo
from maintguard.asgi import MaintenanceMiddleware
from tests.test_asgi import _scope

TOKEN = "resolver-token-0123456789"
AUTH = (b"authorization", f"Bearer {TOKEN}".encode())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def hung() -> Iterator[Any]:
    """A sync resolver that never returns while the test runs."""
    release = threading.Event()

    def is_admin(info: Any) -> bool:
        release.wait(30)
        return True

    yield is_admin
    release.set()


async def _status_of(app: Any, scope: dict[str, Any], body: bytes = b"") -> int:
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(5)
    await communicator.receive_output(5)
    await communicator.wait(5)
    return int(start["status"])


async def _no_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise AssertionError("the app must not be called")


@pytest.mark.anyio
async def test_a_hung_sync_resolver_never_starves_the_control_api(hung: Any) -> None:
    """Twenty blocked uploads each wait for a resolver that hangs; a
    ``disable`` through the control API still answers at once after them."""
    service = MaintenanceService(admin_tokens=f"ops:{TOKEN}", is_admin=hung, resolver_timeout=0.05)
    service.enable_maintenance("Upgrade")
    app = MaintenanceMiddleware(_no_app, service)
    statuses = [await _status_of(app, _scope("http", "/upload", method="POST")) for _ in range(20)]
    disable = _scope("http", "/api/maintenance/disable", method="POST", headers=[AUTH])
    assert [503] * 20 == statuses
    assert 200 == await _status_of(app, disable, b"{}")
    service.close()


@pytest.mark.anyio
async def test_a_hung_resolver_is_logged_once_per_interval(
    hung: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Ten timeouts give one "Admin resolver failed" line, not ten."""
    service = MaintenanceService(is_admin=hung, resolver_timeout=0.05)
    service.enable_maintenance("Upgrade")
    app = MaintenanceMiddleware(_no_app, service)
    with caplog.at_level(logging.INFO, logger="maintguard"):
        for _ in range(10):
            await _status_of(app, _scope("http", "/upload", method="POST"))
    lines = [r for r in caplog.records if "Admin resolver failed" in r.getMessage()]
    assert 1 == len(lines)
    service.close()


def test_a_hung_resolver_holds_a_wsgi_worker_only_for_the_timeout(hung: Any) -> None:
    """Under WSGI the resolver is time-limited too: the blocked request is
    answered "not admin" instead of holding the worker for good."""
    service = MaintenanceService(is_admin=hung, resolver_timeout=0.05)
    service.enable_maintenance("Upgrade")
    decisions: list[Any] = []
    worker = threading.Thread(
        target=lambda: decisions.append(service.decide(RequestInfo("POST", "/upload"))),
        daemon=True,
    )
    worker.start()
    worker.join(10)
    assert [True] == [d.blocked for d in decisions]
    service.close()


def test_a_resolver_that_answers_in_time_still_makes_an_admin() -> None:
    """The pool changes nothing for a healthy resolver."""
    service = MaintenanceService(is_admin=lambda info: True, resolver_timeout=2)
    service.enable_maintenance("Upgrade")
    assert "resolver" == service.decide(RequestInfo("POST", "/upload")).admin
    service.close()
