"""The events stream and the WebSocket in process, through asgiref's
``ApplicationCommunicator`` (the server tests run them under uvicorn)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from maintguard import MaintenanceService
from maintguard.asgi import MaintenanceMiddleware
from maintguard.stores import MemoryStore

TOKEN = "asgi-console-token-0123456789"
PREFIX = "/api/maintenance"


async def _app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the console is answered by maintguard, not the app")


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService(MemoryStore(), admin_tokens=f"ops:{TOKEN}")
    yield service
    service.close()


def _scope(kind: str, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict:
    scope: dict[str, Any] = {
        "type": kind,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers or [],
        "client": ("127.0.0.1", 5000),
        "scheme": "ws" if kind == "websocket" else "http",
        "asgi": {"version": "3.0"},
    }
    if kind == "http":
        scope.update(method="GET", http_version="1.1")
    return scope


def test_the_sse_stream_sends_the_status_then_ends_when_the_client_leaves(
    service: MaintenanceService,
) -> None:
    """First the retry hint and the status; a disconnect ends the stream."""

    async def run() -> tuple[dict, dict]:
        app = MaintenanceMiddleware(_app, service)
        talk = ApplicationCommunicator(app, _scope("http", f"{PREFIX}/events"))
        await talk.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await talk.receive_output(5)
        first = await talk.receive_output(5)
        await talk.send_input({"type": "http.disconnect"})
        await talk.wait(5)
        return start, first

    start, first = asyncio.run(run())
    assert 200 == start["status"]
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    assert first["body"].startswith(b"retry: ")
    assert b"event: status" in first["body"]


def test_a_change_wakes_the_sse_stream_at_once(service: MaintenanceService) -> None:
    """A change in this process is the next thing the open stream sends."""

    async def run() -> bytes:
        app = MaintenanceMiddleware(_app, service)
        talk = ApplicationCommunicator(app, _scope("http", f"{PREFIX}/events"))
        await talk.send_input({"type": "http.request", "body": b"", "more_body": False})
        await talk.receive_output(5)
        await talk.receive_output(5)
        await asyncio.to_thread(service.enable_maintenance, "Woken")
        chunk = await talk.receive_output(5)
        await talk.send_input({"type": "http.disconnect"})
        await talk.wait(5)
        return bytes(chunk["body"])

    assert b'"reason":"Woken"' in asyncio.run(run())


def test_the_websocket_sends_json_events(service: MaintenanceService) -> None:
    """Accepted, then a status event as a JSON text message."""

    async def run() -> tuple[dict, dict]:
        app = MaintenanceMiddleware(_app, service)
        talk = ApplicationCommunicator(app, _scope("websocket", f"{PREFIX}/ws"))
        await talk.send_input({"type": "websocket.connect"})
        accepted = await talk.receive_output(5)
        message = await talk.receive_output(5)
        await talk.send_input({"type": "websocket.disconnect", "code": 1000})
        await talk.wait(5)
        return accepted, message

    accepted, message = asyncio.run(run())
    assert "websocket.accept" == accepted["type"]
    event = json.loads(message["text"])
    assert ("status", False) == (event["event"], event["data"]["is_active"])


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (f"{PREFIX}/ws", [(b"authorization", b"Bearer not-the-right-token-000")]),
        (f"{PREFIX}/status", []),
    ],
    ids=["wrong-token", "not-the-websocket-path"],
)
def test_a_refused_websocket_is_closed_before_accept(
    service: MaintenanceService, path: str, headers: list[tuple[bytes, bytes]]
) -> None:
    """A wrong token, or a control path that is no WebSocket: closed, never accepted."""

    async def run() -> dict:
        app = MaintenanceMiddleware(_app, service)
        talk = ApplicationCommunicator(app, _scope("websocket", path, headers))
        await talk.send_input({"type": "websocket.connect"})
        answer = await talk.receive_output(5)
        await talk.wait(5)
        return answer

    assert {"type": "websocket.close", "code": 1008} == asyncio.run(run())
