"""Open connections at an emergency's start: admins the resolver vouches for
stay, event streams are found by their response."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from maintguard import MaintenanceService
from maintguard.asgi import MaintenanceMiddleware
from tests.test_asgi import _scope, echo_websocket

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _resolver(info: Any) -> bool:
    """The application's own login: a header its session middleware set."""
    return bool(info.header("x-staff") == "yes")


async def test_a_resolver_admin_s_websocket_stays_open_at_an_emergency() -> None:
    """An admin known only to ``is_admin`` keeps their socket; the
    non-admin beside them is closed with 1012."""
    service = MaintenanceService(is_admin=_resolver)
    middleware = MaintenanceMiddleware(echo_websocket, service)
    admin = ApplicationCommunicator(
        middleware, _scope("websocket", "/ws/chat", headers=[(b"x-staff", b"yes")])
    )
    user = ApplicationCommunicator(middleware, _scope("websocket", "/ws/chat"))
    for communicator in (admin, user):
        await communicator.send_input({"type": "websocket.connect"})
        assert "websocket.accept" == (await communicator.receive_output(2))["type"]
    await asyncio.get_running_loop().run_in_executor(None, service.enable_emergency, "Incident")
    closing = await user.receive_output(2)
    await admin.send_input({"type": "websocket.receive", "text": "still here"})
    assert ("websocket.close", 1012) == (closing["type"], closing["code"])
    assert "still here" == (await admin.receive_output(2))["text"]
    await admin.send_input({"type": "websocket.disconnect", "code": 1000})
    await admin.wait(2)
    await user.wait(2)
    service.close()


async def test_an_event_stream_without_accept_is_ended_at_an_emergency() -> None:
    """A stream the response declares ``text/event-stream`` is ended even
    though the request sent no ``Accept: text/event-stream``."""
    service = MaintenanceService()
    released = asyncio.Event()

    async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        message = await receive()
        assert message["type"] == "http.disconnect"
        released.set()

    communicator = ApplicationCommunicator(
        MaintenanceMiddleware(stream, service), _scope("http", "/feed")
    )
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert 200 == (await communicator.receive_output(2))["status"]
    assert b"data: 1\n\n" == (await communicator.receive_output(2))["body"]
    await asyncio.get_running_loop().run_in_executor(None, service.enable_emergency, "Incident")
    final = await communicator.receive_output(2)
    assert (b"", False) == (final["body"], final.get("more_body", False))
    await asyncio.wait_for(released.wait(), 2)
    await communicator.wait(2)
    service.close()
