"""One small client interface over both adapters, for the scenario suite.

``WSGIClient`` drives ``maintguard.wsgi.MaintenanceMiddleware`` through
Werkzeug's test client; ``ASGIClient`` drives
``maintguard.asgi.MaintenanceMiddleware`` with raw ASGI messages through
asgiref's ``ApplicationCommunicator``. Both return the same ``Answer``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from werkzeug.test import Client

from maintguard import MaintenanceService
from maintguard.asgi import MaintenanceMiddleware as ASGIMiddleware
from maintguard.wsgi import MaintenanceMiddleware as WSGIMiddleware


@attrs.frozen
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    #: What the wrapped app saw (None when the app was not called).
    app_called: bool

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def wsgi_app(calls: list[dict[str, Any]]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        calls.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app:", environ["PATH_INFO"].encode("latin-1")]

    return app


def asgi_app(calls: list[dict[str, Any]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope)
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": f"{message['type']}.complete"})
            return
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"app:" + scope["path"].encode()})

    return app


class WSGIClient:
    kind = "wsgi"

    def __init__(self, service: MaintenanceService) -> None:
        self.calls: list[dict[str, Any]] = []
        self.service = service
        self.middleware = WSGIMiddleware(wsgi_app(self.calls), service)
        self.client = Client(self.middleware, use_cookies=False)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        client: str = "127.0.0.1",
        root_path: str = "",
    ) -> Answer:
        before = len(self.calls)
        environ = {"REMOTE_ADDR": client}
        if root_path:
            environ["SCRIPT_NAME"] = root_path
        if path.startswith("//"):
            # Werkzeug would read "//x/y" as a URL whose host is x.
            environ["PATH_INFO"] = path
            path = "/"
        response = self.client.open(
            path=path,
            method=method,
            headers=list((headers or {}).items()),
            data=body,
            environ_overrides=environ,
        )
        data = response.get_data()
        response.close()
        return Answer(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            data,
            len(self.calls) > before,
        )


class ASGIClient:
    kind = "asgi"

    def __init__(self, service: MaintenanceService) -> None:
        self.calls: list[dict[str, Any]] = []
        self.service = service
        self.middleware = ASGIMiddleware(asgi_app(self.calls), service)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        client: str = "127.0.0.1",
        root_path: str = "",
    ) -> Answer:
        return async_to_sync(self._request)(method, path, headers, body, client, root_path)

    async def _request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None,
        body: bytes,
        client: str,
        root_path: str,
    ) -> Answer:
        before = len(self.calls)
        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": root_path + raw_path,
            "root_path": root_path,
            "raw_path": (root_path + raw_path).encode("utf-8", "surrogateescape"),
            "query_string": query.encode("latin-1"),
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in (headers or {}).items()
            ],
            "client": (client, 50000),
            "server": ("127.0.0.1", 80),
        }
        communicator = ApplicationCommunicator(self.middleware, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(5)
        assert start["type"] == "http.response.start"
        chunks = []
        while True:
            message = await communicator.receive_output(5)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await communicator.wait(5)
        return Answer(
            start["status"],
            {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]},
            b"".join(chunks),
            len(self.calls) > before,
        )
