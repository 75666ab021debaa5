"""The control API is strict about its input (DESIGN.md, "Bodies", "Conflicts").

Every test runs through the WSGI adapter (werkzeug's test client) and the
ASGI adapter (httpx's ASGITransport). A rejected request answers
``{"error", "field"}`` and changes nothing: the state version is the same
before and after.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import httpx
import pytest
from werkzeug.test import Client, EnvironBuilder

from maintguard import MaintenanceService, Mode
from maintguard.asgi import MaintenanceMiddleware as ASGIMiddleware
from maintguard.stores import MemoryStore
from maintguard.wsgi import MaintenanceMiddleware as WSGIMiddleware

PREFIX = "/api/maintenance"
ALICE = "alice-token-1f0c"
HASHED = "hashed-token-77aa"
BOT = "bot-token-5e21"
TOKENS = (
    f"alice:{ALICE},"
    f"sha256:{hashlib.sha256(HASHED.encode()).hexdigest()},"
    f"deploy-bot:sha256:{hashlib.sha256(BOT.encode()).hexdigest()}"
)
AUTH = {"Authorization": f"Bearer {ALICE}"}
JSON = {"Content-Type": "application/json"}


@attrs.frozen
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Send = Callable[..., Answer]


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the app"]


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"the app"})


def _wsgi_sender(service: MaintenanceService) -> Send:
    client = Client(WSGIMiddleware(_wsgi_app, service))

    def send(
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: str = "",
    ) -> Answer:
        response = client.open(
            path, method=method, data=body, headers=dict(headers or {}), query_string=query
        )
        try:
            return Answer(response.status_code, dict(response.headers), response.get_data())
        finally:
            response.close()

    return send


def _asgi_sender(service: MaintenanceService) -> Send:
    app = ASGIMiddleware(_asgi_app, service)  # type: ignore[arg-type]

    async def call(
        method: str, path: str, body: bytes | None, headers: Mapping[str, str], query: str
    ) -> Answer:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.request(
                method, f"{path}?{query}" if query else path, content=body, headers=headers
            )
        return Answer(response.status_code, dict(response.headers), response.content)

    def send(
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: str = "",
    ) -> Answer:
        return asyncio.run(call(method, path, body, dict(headers or {}), query))

    return send


@pytest.fixture
def service() -> Iterator[MaintenanceService]:
    service = MaintenanceService(MemoryStore(), admin_tokens=TOKENS)
    yield service
    service.close()


@pytest.fixture(params=["wsgi", "asgi"])
def send(request: pytest.FixtureRequest, service: MaintenanceService) -> Send:
    factory = _wsgi_sender if request.param == "wsgi" else _asgi_sender
    return factory(service)


def version(service: MaintenanceService) -> int:
    return service.store.load().version


def post(send: Send, endpoint: str, body: object, headers: Mapping[str, str] = AUTH) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return send("POST", f"{PREFIX}/{endpoint}", raw, {**JSON, **headers})


def rejected(answer: Answer) -> tuple[int, set[str], object]:
    """(status, keys of the body, field) of an error answer."""
    data = answer.json()
    return answer.status, set(data), data["field"]


# ------------------------------------------------------------------ bad bodies

BAD_BODIES = [
    pytest.param("enable", b'{"reason": "x",', None, id="invalid-json"),
    pytest.param("enable", b'["reason"]', None, id="array-not-object"),
    pytest.param("enable", b'"reason"', None, id="string-not-object"),
    pytest.param("enable", b"\xff\xfe{}", None, id="not-utf8"),
    pytest.param("enable", {"reason": "r", "duration": True}, "duration", id="bool-for-number"),
    pytest.param("enable", {"reason": "r", "duration": "60"}, "duration", id="string-for-number"),
    pytest.param("enable", {"reason": 42}, "reason", id="number-for-reason"),
    pytest.param("enable", {"reason": "r", "duration": None}, "duration", id="null-value"),
    pytest.param("enable", {"reason": "r", "colour": "red"}, "colour", id="unknown-field"),
    pytest.param("enable", {"reason": "r", "mode": "invalid_mode"}, "mode", id="unknown-mode"),
    pytest.param("enable", {"mode": "invalid_mode"}, "mode", id="seed-invalid-mode"),
    pytest.param("enable", {"duration": 60}, "reason", id="missing-reason"),
    pytest.param("enable", {"reason": ""}, "reason", id="empty-reason"),
    pytest.param("enable", {"reason": "   "}, "reason", id="blank-reason"),
    pytest.param("enable", {"reason": "x" * 501}, "reason", id="long-reason"),
    pytest.param("enable", {"reason": "r", "duration": -5}, "duration", id="negative-duration"),
    pytest.param("enable", {"reason": "r", "duration": 0}, "duration", id="zero-duration"),
    pytest.param("enable", b'{"reason": "r", "duration": NaN}', "duration", id="nan-duration"),
    pytest.param(
        "enable", b'{"reason": "r", "duration": Infinity}', "duration", id="infinite-duration"
    ),
    pytest.param("enable", {"reason": "r", "duration": 1e308}, "duration", id="1e308-duration"),
    pytest.param(
        "enable", {"reason": "r", "duration": 30 * 86400 + 1}, "duration", id="absurd-duration"
    ),
    pytest.param("enable", {"reason": "r", "ends_at": "tomorrow"}, "ends_at", id="bad-time"),
    pytest.param(
        "enable",
        {"reason": "r", "ends_at": "2099-01-01T00:00:00"},
        "ends_at",
        id="offsetless-time",
    ),
    pytest.param(
        "enable", {"reason": "r", "ends_at": "2001-01-01T00:00:00Z"}, "ends_at", id="past-time"
    ),
    pytest.param("enable", b'{"reason": "a", "reason": "b"}', "reason", id="duplicate-key"),
    pytest.param(
        "enable",
        {"reason": "r", "operations": ["NOT_A_TYPE"]},
        "operations",
        id="unknown-operation",
    ),
    pytest.param(
        "enable",
        {"reason": "r", "expected_version": "0"},
        "expected_version",
        id="string-version",
    ),
    pytest.param(
        "enable",
        {"reason": "r", "expected_version": -1},
        "expected_version",
        id="negative-version",
    ),
    pytest.param(
        "enable",
        {"reason": "r", "mode": "emergency", "operations": ["JOB_CREATION"]},
        "operations",
        id="partial-emergency",
    ),
    pytest.param(
        "emergency",
        {"reason": "r", "terminate_jobs": "yes"},
        "terminate_jobs",
        id="string-for-bool",
    ),
    pytest.param(
        "emergency", {"reason": "r", "grace_period": -1}, "grace_period", id="negative-grace"
    ),
    pytest.param("emergency", {"reason": "r", "force": True}, "force", id="emergency-force"),
    pytest.param("disable", {"reason": "done"}, "reason", id="disable-reason"),
    pytest.param(
        "schedule",
        {"reason": "r", "starts_at": "2099-01-01T00:00:00"},
        "starts_at",
        id="schedule-offsetless",
    ),
    pytest.param(
        "schedule",
        {"reason": "r", "starts_at": "2001-01-01T00:00:00+00:00"},
        "starts_at",
        id="schedule-past",
    ),
    pytest.param("schedule", {"reason": "r"}, "starts_at", id="schedule-no-start"),
]


@pytest.mark.parametrize(("endpoint", "body", "field"), BAD_BODIES)
def test_bad_body_is_400_naming_the_field_and_changes_nothing(
    send: Send, service: MaintenanceService, endpoint: str, body: object, field: str | None
) -> None:
    """Each bad-input class of "Bodies" answers 400 {error, field}; nothing changes."""
    before = version(service)
    answer = post(send, endpoint, body)
    assert (400, {"error", "field"}, field) == rejected(answer)
    assert before == version(service)


def test_bad_body_during_maintenance_keeps_the_maintenance(
    send: Send, service: MaintenanceService
) -> None:
    """A rejected update leaves the maintenance in force exactly as it was."""
    service.enable_maintenance("kept", duration=600)
    before = service.store.load()
    post(send, "enable", {"reason": "changed", "duration": -1})
    assert before == service.store.load()


# --------------------------------------------------------------- content types


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("text/plain", b'{"reason": "r"}', id="text-plain"),
        pytest.param(
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="reason"\r\n\r\nr\r\n--xyz--\r\n',
            id="multipart",
        ),
        pytest.param("application/x-www-form-urlencoded", b"reason=r", id="form-fields"),
        pytest.param("application/x-www-form-urlencoded", b'["r"]', id="form-json-array"),
    ],
)
def test_unsupported_body_is_415_and_changes_nothing(
    send: Send, service: MaintenanceService, content_type: str, body: bytes
) -> None:
    """Other types, and a form body that is not a JSON object, answer 415."""
    before = version(service)
    answer = send("POST", f"{PREFIX}/enable", body, {**AUTH, "Content-Type": content_type})
    assert (415, {"error", "field"}, None) == rejected(answer)
    assert before == version(service)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-content-type"),
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, id="curl-default"),
        pytest.param({"Content-Type": "application/json; charset=utf-8"}, id="json-charset"),
    ],
)
def test_json_object_is_accepted_with_the_content_types_curl_sends(
    send: Send, headers: dict[str, str]
) -> None:
    """A JSON object is read with JSON, no Content-Type or curl's form type."""
    answer = send("POST", f"{PREFIX}/enable", b'{"reason": "curl"}', {**AUTH, **headers})
    assert (200, "curl") == (answer.status, answer.json()["reason"])


# ------------------------------------------------------------------ body size


def test_body_over_the_limit_is_413(send: Send, service: MaintenanceService) -> None:
    """A body larger than the limit answers 413 and changes nothing."""
    body = json.dumps({"reason": "r", "message": "x" * (service.settings.max_body + 10)}).encode()
    answer = post(send, "enable", body)
    assert (413, {"error", "field"}, None) == rejected(answer)
    assert 0 == version(service)


def test_streamed_body_over_the_limit_is_413_in_asgi(service: MaintenanceService) -> None:
    """A body without Content-Length is cut off at the limit (ASGI)."""
    app = ASGIMiddleware(_asgi_app, service)  # type: ignore[arg-type]

    async def chunks() -> Any:
        yield b'{"reason": "r", "message": "'
        for _ in range(service.settings.max_body // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(f"{PREFIX}/enable", content=chunks(), headers=AUTH)

    response = asyncio.run(call())
    assert (413, {"error", "field"}, None) == rejected(
        Answer(response.status_code, {}, response.content)
    )
    assert 0 == version(service)


def test_chunked_body_over_the_limit_is_413_in_wsgi(service: MaintenanceService) -> None:
    """A chunked body (no Content-Length) is read to the limit only (WSGI)."""
    body = b'{"reason": "' + b"x" * (service.settings.max_body + 10) + b'"}'
    environ = EnvironBuilder(f"{PREFIX}/enable", method="POST", headers=AUTH).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    answer = _call_wsgi(service, environ)
    assert (413, {"error", "field"}, None) == rejected(answer)
    assert 0 == version(service)


def _call_wsgi(service: MaintenanceService, environ: dict[str, Any]) -> Answer:
    """Call the WSGI middleware directly with a hand-made environ."""
    statuses: list[str] = []
    chunks = WSGIMiddleware(_wsgi_app, service)(
        environ, lambda status, headers: statuses.append(status)
    )
    return Answer(int(statuses[0].split()[0]), {}, b"".join(chunks))


class _Tripwire(io.RawIOBase):
    """A wsgi.input that fails the test if anyone reads past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        wanted = self.limit + 1 if size is None or size < 0 else size
        if self.consumed + wanted > self.limit:
            raise AssertionError("the body was read past the limit")
        self.consumed += wanted
        return b" " * wanted


def test_over_limit_content_length_is_413_without_reading_wsgi(
    service: MaintenanceService,
) -> None:
    """An announced body over the limit is refused before any byte is read (WSGI)."""
    environ = EnvironBuilder(f"{PREFIX}/enable", method="POST", headers=AUTH).get_environ()
    environ["CONTENT_LENGTH"] = str(10 * 1024 * 1024)
    tripwire = _Tripwire(service.settings.max_body)
    environ["wsgi.input"] = tripwire
    answer = _call_wsgi(service, environ)
    assert (413, {"error", "field"}, None, 0) == (*rejected(answer), tripwire.consumed)
    assert 0 == version(service)


def test_over_limit_content_length_is_413_without_reading_asgi(
    service: MaintenanceService,
) -> None:
    """An announced body over the limit is refused before any byte is received (ASGI)."""
    app = ASGIMiddleware(_asgi_app, service)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"{PREFIX}/enable",
        "root_path": "",
        "query_string": b"",
        "scheme": "http",
        "client": ("127.0.0.1", 1),
        "headers": [
            (b"authorization", f"Bearer {ALICE}".encode()),
            (b"content-length", str(10 * 1024 * 1024).encode()),
        ],
    }

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, record))
    answer = Answer(sent[0]["status"], {}, sent[1]["body"])
    assert (413, {"error", "field"}, None) == rejected(answer)
    assert 0 == version(service)


# -------------------------------------------------------------------- methods


@pytest.mark.parametrize(
    ("method", "endpoint", "allow"),
    [
        ("GET", "enable", "POST"),
        ("PUT", "disable", "POST"),
        ("PATCH", "schedule", "POST, DELETE"),
        ("POST", "status", "GET, HEAD"),
        ("DELETE", "audit", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_with_allow(
    send: Send, service: MaintenanceService, method: str, endpoint: str, allow: str
) -> None:
    """A method the endpoint does not serve answers 405 with Allow."""
    answer = send(method, f"{PREFIX}/{endpoint}", b"{}", AUTH)
    assert (405, {"error", "field"}, None) == rejected(answer)
    assert allow == answer.headers.get("Allow", answer.headers.get("allow"))
    assert 0 == version(service)


# ------------------------------------------------------------ authentication

BAD_AUTH = [
    pytest.param({}, "", id="missing"),
    pytest.param({"Authorization": "Bearer invalid_token"}, "", id="wrong"),
    pytest.param({"Authorization": f"Basic {ALICE}"}, "", id="basic"),
    pytest.param({"Authorization": "Bearer "}, "", id="empty-bearer"),
    pytest.param({"Authorization": f"Bearer {ALICE} {ALICE}"}, "", id="two-tokens"),
    pytest.param({"Authorization": f"Bearer {ALICE}x"}, "", id="token-prefix"),
    pytest.param({}, f"token={ALICE}&access_token={ALICE}", id="query-string"),
]


@pytest.mark.parametrize(("headers", "query"), BAD_AUTH)
def test_write_without_a_valid_bearer_token_is_401(
    send: Send, service: MaintenanceService, headers: dict[str, str], query: str
) -> None:
    """Only `Authorization: Bearer <configured token>` authorises a change."""
    answer = send("POST", f"{PREFIX}/enable", b'{"reason": "r"}', {**JSON, **headers}, query)
    www = answer.headers.get("WWW-Authenticate", answer.headers.get("www-authenticate", ""))
    assert (401, {"error", "field"}, None) == rejected(answer)
    assert www.startswith("Bearer")
    assert 0 == version(service)


@pytest.mark.parametrize(("headers", "query"), BAD_AUTH)
def test_audit_without_a_valid_bearer_token_is_401(
    send: Send, headers: dict[str, str], query: str
) -> None:
    """The audit trail needs a token too."""
    answer = send("GET", f"{PREFIX}/audit", None, headers, query)
    assert 401 == answer.status


@pytest.mark.parametrize(
    ("token", "actor"),
    [(ALICE, "alice"), (BOT, "deploy-bot")],
)
def test_named_token_is_the_audit_actor(
    send: Send, service: MaintenanceService, token: str, actor: str
) -> None:
    """Named tokens, plain or hashed, record their name in the audit trail."""
    answer = post(send, "enable", {"reason": "named"}, {"Authorization": f"Bearer {token}"})
    assert (200, actor) == (answer.status, service.get_audit_log(1)[0].actor)


def test_hashed_token_without_a_name_works(send: Send, service: MaintenanceService) -> None:
    """A token configured as sha256:<hex> authorises; its actor is "admin",
    with no fragment of the hash that would help confirm a guess offline."""
    answer = post(send, "enable", {"reason": "hashed"}, {"Authorization": f"Bearer {HASHED}"})
    actor = service.get_audit_log(1)[0].actor
    assert (200, "admin") == (answer.status, actor)


def test_no_token_appears_in_any_log_line_or_answer(
    send: Send, caplog: pytest.LogCaptureFixture
) -> None:
    """Tokens, right or wrong, are never logged nor echoed."""
    wrong = "wrong-secret-token-93b1"
    caplog.set_level(logging.DEBUG)
    answers = [
        post(send, "enable", {"reason": "r"}, {"Authorization": f"Bearer {wrong}"}),
        post(send, "enable", {"reason": "r"}, {"Authorization": f"Bearer {ALICE}"}),
        post(send, "emergency", {"reason": "e"}, {"Authorization": f"Bearer {BOT}"}),
        send("GET", f"{PREFIX}/audit", None, {"Authorization": f"Bearer {HASHED}"}),
        send("GET", f"{PREFIX}/status"),
        send("POST", "/start_caption_generation", b"{}", {"Authorization": f"Bearer {wrong}"}),
        post(send, "disable", b"", {"Authorization": f"Bearer {ALICE}"}),
    ]
    seen = caplog.text + "".join(a.body.decode() + json.dumps(dict(a.headers)) for a in answers)
    leaked = [t for t in (ALICE, HASHED, BOT, wrong) if t in seen]
    assert ([], [200, 202, 200, 200, 503, 200]) == (leaked, [a.status for a in answers[1:]])


# ------------------------------------------------------------------ conflicts


def test_stale_expected_version_is_409_and_changes_nothing(
    send: Send, service: MaintenanceService
) -> None:
    """With expected_version, a stale version answers 409 naming the current one."""
    service.enable_maintenance("first")
    answer = post(send, "enable", {"reason": "second", "expected_version": 0})
    data = answer.json()
    assert (409, "expected_version", 1) == (answer.status, data["field"], data["current_version"])
    assert ("first", 1) == (service.store.load().reason, version(service))


def test_current_expected_version_is_accepted(send: Send, service: MaintenanceService) -> None:
    """The version the client saw, still current, lets the change through."""
    service.enable_maintenance("first")
    answer = post(send, "enable", {"reason": "second", "expected_version": 1})
    assert (200, 2) == (answer.status, answer.json()["version"])


def test_normal_enable_during_emergency_is_409(send: Send, service: MaintenanceService) -> None:
    """No silent downgrade: a normal enable during an emergency needs force."""
    service.enable_emergency("fire", background=False)
    before = version(service)
    answer = post(send, "enable", {"reason": "calmer"})
    assert (409, "force") == (answer.status, answer.json()["field"])
    assert (before, Mode.EMERGENCY) == (version(service), service.store.load().mode)


def test_forced_enable_during_emergency_downgrades(send: Send, service: MaintenanceService) -> None:
    """With force, a normal enable replaces the emergency."""
    service.enable_emergency("fire", background=False)
    answer = post(send, "enable", {"reason": "calmer", "force": True})
    assert (200, "normal") == (answer.status, answer.json()["mode"])


def test_emergency_during_maintenance_never_conflicts(
    send: Send, service: MaintenanceService
) -> None:
    """Emergency without expected_version always wins (202)."""
    service.enable_maintenance("planned")
    answer = post(send, "emergency", {"reason": "fire"})
    assert (202, "emergency") == (answer.status, answer.json()["mode"])


def test_disable_during_emergency_never_conflicts(send: Send, service: MaintenanceService) -> None:
    """Disable without expected_version always wins (200)."""
    service.enable_emergency("fire", background=False)
    answer = send("POST", f"{PREFIX}/disable", None, AUTH)
    assert (200, False) == (answer.status, answer.json()["is_active"])


def test_enable_with_mode_emergency_is_202(send: Send) -> None:
    """`enable` with mode emergency is the same as /emergency."""
    answer = post(send, "enable", {"reason": "fire", "mode": "emergency"})
    assert (202, "emergency") == (answer.status, answer.json()["mode"])


def test_repeated_enable_updates_the_reason_not_the_start(
    send: Send, service: MaintenanceService
) -> None:
    """Repeating an enable updates reason (200) and keeps started_at."""
    first = post(send, "enable", {"reason": "first", "duration": 60}).json()
    answer = post(send, "enable", {"reason": "second", "duration": 120})
    second = answer.json()
    assert (200, "second", 120.0, first["started_at"]) == (
        answer.status,
        second["reason"],
        second["estimated_duration"],
        second["started_at"],
    )


def test_repeated_disable_is_a_no_op(send: Send, service: MaintenanceService) -> None:
    """A disable when maintenance is off answers 200 and records nothing."""
    service.enable_maintenance("on")
    send("POST", f"{PREFIX}/disable", None, AUTH)
    records, before = len(service.get_audit_log()), version(service)
    answer = send("POST", f"{PREFIX}/disable", None, AUTH)
    assert (200, records, before) == (answer.status, len(service.get_audit_log()), version(service))


# ----------------------------------------------------------- message vs reason

INTERNAL = "internal: replica lag on db-7, ticket OPS-4411"
PUBLIC = "We are upgrading our systems and will be back shortly."


def test_message_hides_the_reason_from_the_html_page(send: Send) -> None:
    """Once message is set, the HTML 503 shows it and not the reason."""
    post(send, "enable", {"reason": INTERNAL, "message": PUBLIC})
    answer = send("POST", "/start_caption_generation", b"", {"Accept": "text/html"})
    page = answer.body.decode()
    assert (503, True, False) == (answer.status, PUBLIC in page, "replica lag" in page)


def test_message_hides_the_reason_from_the_json_answer(send: Send) -> None:
    """Once message is set, the JSON 503 shows it and not the reason."""
    post(send, "enable", {"reason": INTERNAL, "message": PUBLIC})
    answer = send("POST", "/api/jobs", b"{}", JSON)
    assert (503, PUBLIC, False) == (
        answer.status,
        answer.json()["message"],
        "replica lag" in answer.body.decode(),
    )


def test_status_shows_both_reason_and_message(send: Send) -> None:
    """The status API keeps the internal reason visible to operators."""
    post(send, "enable", {"reason": INTERNAL, "message": PUBLIC})
    status = send("GET", f"{PREFIX}/status").json()
    assert (INTERNAL, PUBLIC) == (status["reason"], status["message"])
