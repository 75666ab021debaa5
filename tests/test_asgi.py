"""ASGI-only behaviour, driven with raw messages through ApplicationCommunicator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from maintguard import MaintenanceService
from maintguard.asgi import MaintenanceMiddleware

TOKEN = "asgi-admin-token"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _scope(kind: str, path: str, **extra: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0"},
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": extra.pop("headers", []),
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
        "scheme": "ws" if kind == "websocket" else "http",
    }
    if kind == "http":
        scope["method"] = extra.pop("method", "GET")
    scope.update(extra)
    return scope


async def echo_websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accepts, then echoes text until the client (or maintguard) disconnects."""
    message = await receive()
    assert message["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text", "")})


@pytest.fixture
def service() -> Any:
    service = MaintenanceService(admin_tokens=TOKEN)
    yield service
    service.close()


async def test_lifespan_passes_through(service: MaintenanceService) -> None:
    """Lifespan messages reach the app untouched, even in an emergency."""
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        message = await receive()
        await send({"type": message["type"] + ".complete"})

    service.enable_emergency("Incident")
    communicator = ApplicationCommunicator(
        MaintenanceMiddleware(app, service), {"type": "lifespan"}
    )
    await communicator.send_input({"type": "lifespan.startup"})
    assert {"type": "lifespan.startup.complete"} == await communicator.receive_output(2)
    assert ["lifespan"] == seen


async def test_unknown_scope_types_pass_through(service: MaintenanceService) -> None:
    """A scope type maintguard does not know is the app's business."""
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    service.enable_emergency("Incident")
    await MaintenanceMiddleware(app, service)({"type": "webtransport"}, None, None)  # type: ignore[arg-type]
    assert ["webtransport"] == seen


async def test_blocked_websocket_is_denied_with_503_where_the_server_allows(
    service: MaintenanceService,
) -> None:
    """With the denial-response extension, the handshake gets a real 503."""
    service.enable_emergency("Incident", message="Back soon")
    scope = _scope("websocket", "/ws/chat", extensions={"websocket.http.response": {}})
    communicator = ApplicationCommunicator(MaintenanceMiddleware(echo_websocket, service), scope)
    await communicator.send_input({"type": "websocket.connect"})
    start = await communicator.receive_output(2)
    body = await communicator.receive_output(2)
    assert ("websocket.http.response.start", 503) == (start["type"], start["status"])
    assert b'"Back soon"' in body["body"]


async def test_blocked_websocket_is_closed_before_accept_otherwise(
    service: MaintenanceService,
) -> None:
    """Without the extension the handshake is closed (the client sees 403)."""
    service.enable_emergency("Incident")
    communicator = ApplicationCommunicator(
        MaintenanceMiddleware(echo_websocket, service), _scope("websocket", "/ws/chat")
    )
    await communicator.send_input({"type": "websocket.connect"})
    message = await communicator.receive_output(2)
    assert "websocket.close" == message["type"]


async def test_admin_websocket_is_accepted_during_an_emergency(service: MaintenanceService) -> None:
    """A token holder's handshake goes through."""
    service.enable_emergency("Incident")
    scope = _scope(
        "websocket", "/ws/chat", headers=[(b"authorization", f"Bearer {TOKEN}".encode())]
    )
    communicator = ApplicationCommunicator(MaintenanceMiddleware(echo_websocket, service), scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert "websocket.accept" == (await communicator.receive_output(2))["type"]
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(2)


async def test_open_websocket_is_closed_when_an_emergency_starts(
    service: MaintenanceService,
) -> None:
    """A non-admin WebSocket opened before the emergency is closed with 1012."""
    communicator = ApplicationCommunicator(
        MaintenanceMiddleware(echo_websocket, service), _scope("websocket", "/ws/chat")
    )
    await communicator.send_input({"type": "websocket.connect"})
    assert "websocket.accept" == (await communicator.receive_output(2))["type"]
    await communicator.send_input({"type": "websocket.receive", "text": "hi"})
    assert "hi" == (await communicator.receive_output(2))["text"]
    await asyncio.get_running_loop().run_in_executor(None, service.enable_emergency, "Incident")
    closing = await communicator.receive_output(2)
    assert ("websocket.close", 1012) == (closing["type"], closing["code"])
    await communicator.wait(2)


async def test_open_websocket_survives_a_normal_maintenance(service: MaintenanceService) -> None:
    """Normal maintenance does not block reads, so an open socket stays."""
    communicator = ApplicationCommunicator(
        MaintenanceMiddleware(echo_websocket, service), _scope("websocket", "/ws/chat")
    )
    await communicator.send_input({"type": "websocket.connect"})
    await communicator.receive_output(2)
    service.enable_maintenance("Upgrade")
    await communicator.send_input({"type": "websocket.receive", "text": "still here"})
    assert "still here" == (await communicator.receive_output(2))["text"]
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(2)


async def test_event_stream_is_ended_when_an_emergency_starts(service: MaintenanceService) -> None:
    """An open text/event-stream response is finished for non-admins."""
    release = asyncio.Event()

    async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        message = await receive()  # maintguard answers http.disconnect on close
        assert message["type"] == "http.disconnect"
        release.set()

    scope = _scope("http", "/events", headers=[(b"accept", b"text/event-stream")])
    communicator = ApplicationCommunicator(MaintenanceMiddleware(stream, service), scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert 200 == (await communicator.receive_output(2))["status"]
    assert b"data: 1\n\n" == (await communicator.receive_output(2))["body"]
    service.enable_emergency("Incident")
    final = await communicator.receive_output(2)
    assert (b"", False) == (final["body"], final.get("more_body", False))
    await asyncio.wait_for(release.wait(), 2)
    await communicator.wait(2)


async def test_streaming_response_is_passed_chunk_by_chunk(service: MaintenanceService) -> None:
    """Allowed streaming responses are neither buffered nor cut."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in (b"a", b"b", b"c"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    service.enable_maintenance("Upgrade")
    communicator = ApplicationCommunicator(
        MaintenanceMiddleware(app, service), _scope("http", "/feed")
    )
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    await communicator.receive_output(2)
    chunks = [(await communicator.receive_output(2))["body"] for _ in range(4)]
    assert [b"a", b"b", b"c", b""] == chunks


async def test_async_resolver_is_awaited_and_bounded() -> None:
    """An async is_admin that hangs past the timeout means not admin."""

    async def slow(info: Any) -> bool:
        await asyncio.sleep(5)
        return True

    service = MaintenanceService(admin_tokens=TOKEN, is_admin=slow, resolver_timeout=0.05)
    service.enable_maintenance("Upgrade")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise AssertionError("the app must not be called")

    communicator = ApplicationCommunicator(
        MaintenanceMiddleware(app, service), _scope("http", "/upload", method="POST")
    )
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert 503 == (await communicator.receive_output(2))["status"]
    service.close()


async def test_oversized_body_is_refused_without_reading_it_all() -> None:
    """A streamed body past the limit answers 413 after limit+1 bytes."""
    service = MaintenanceService(admin_tokens=TOKEN, max_body=100)
    scope = _scope(
        "http",
        "/api/maintenance/enable",
        method="POST",
        headers=[(b"authorization", f"Bearer {TOKEN}".encode())],
    )
    communicator = ApplicationCommunicator(MaintenanceMiddleware(echo_websocket, service), scope)
    await communicator.send_input({"type": "http.request", "body": b"x" * 80, "more_body": True})
    await communicator.send_input({"type": "http.request", "body": b"x" * 80, "more_body": True})
    assert 413 == (await communicator.receive_output(2))["status"]
    assert not service.get_maintenance_status().is_active
    service.close()


async def test_a_body_cut_short_by_a_disconnect_changes_nothing(
    service: MaintenanceService,
) -> None:
    """A client that leaves mid-body gets no change applied, even if the part parses."""
    scope = _scope(
        "http",
        "/api/maintenance/enable",
        method="POST",
        headers=[(b"authorization", f"Bearer {TOKEN}".encode())],
    )
    communicator = ApplicationCommunicator(MaintenanceMiddleware(echo_websocket, service), scope)
    await communicator.send_input(
        {"type": "http.request", "body": b'{"reason": "x"}', "more_body": True}
    )
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(2)
    assert 0 == service.get_maintenance_status().version


async def test_async_callable_object_resolver_is_awaited(service: MaintenanceService) -> None:
    """An object with an async __call__ is awaited like a coroutine function."""

    class Resolver:
        async def __call__(self, info: Any) -> bool:
            return info.header("x-role") == "admin"  # type: ignore[no-any-return]

    service.is_admin_resolver = Resolver()
    service.enable_maintenance("Upgrade")
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = _scope("http", "/upload", method="POST", headers=[(b"x-role", b"admin")])
    communicator = ApplicationCommunicator(MaintenanceMiddleware(app, service), scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    assert 200 == (await communicator.receive_output(2))["status"]
    assert ["/upload"] == seen


async def test_repeated_accept_headers_do_not_poison_remembered_answers(
    service: MaintenanceService,
) -> None:
    """A request with two Accept headers cannot change what JSON clients get."""
    service.enable_maintenance("Upgrade")

    async def call(*accepts: bytes) -> bytes:
        scope = _scope("http", "/upload", method="POST", headers=[(b"accept", a) for a in accepts])
        communicator = ApplicationCommunicator(
            MaintenanceMiddleware(echo_websocket, service), scope
        )
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(2)
        await communicator.receive_output(2)
        return dict(start["headers"])[b"content-type"]

    await call(b"text/html", b"application/json")
    assert b"application/json" == await call(b"application/json")


async def test_an_event_stream_with_two_accept_headers_is_still_tracked(
    service: MaintenanceService,
) -> None:
    """The stream is recognised whichever Accept header names it."""

    async def stream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        await receive()

    headers = [(b"accept", b"text/html"), (b"accept", b"text/event-stream")]
    scope = _scope("http", "/events", headers=headers)
    communicator = ApplicationCommunicator(MaintenanceMiddleware(stream, service), scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    await communicator.receive_output(2)
    await communicator.receive_output(2)
    service.enable_emergency("Incident")
    final = await communicator.receive_output(2)
    assert (b"", False) == (final["body"], final.get("more_body", False))
    await communicator.wait(2)


async def test_the_host_bypass_cookie_works_on_secure_websockets() -> None:
    """A __Host- cookie issued over HTTPS also admits its holder's wss:// socket."""
    service = MaintenanceService(admin_tokens=TOKEN, bypass_cookie_secret="0123456789abcdef-secret")
    service.enable_emergency("Incident")
    from maintguard import RequestInfo

    name, value, _ = service.bypass_cookie(RequestInfo("POST", "/", scheme="https"))
    scope = _scope(
        "websocket", "/ws/chat", scheme="wss", headers=[(b"cookie", f"{name}={value}".encode())]
    )
    communicator = ApplicationCommunicator(MaintenanceMiddleware(echo_websocket, service), scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert ("__Host-maintguard_bypass", "websocket.accept") == (
        name,
        (await communicator.receive_output(2))["type"],
    )
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    await communicator.wait(2)
    service.close()
