"""Notifiers, against a real SMTP server (aiosmtpd) and a real HTTP receiver.

Both servers listen on 127.0.0.1 in this process. Dead receivers are real
too: a closed port, and a socket that accepts connections and never answers.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from maintguard.core.state import MaintenanceState, Mode
from maintguard.effects.events import EventKind, MaintenanceEvent
from maintguard.exceptions import ConfigurationError
from maintguard.notify import (
    EmailNotifier,
    NotificationError,
    WebhookNotifier,
    notifiers_from_settings,
)
from tests.servers import free_port

SECRET = "whsec-test-secret"
PASSWORD = "smtp-pass-123"


def make_event(
    kind: EventKind = EventKind.EMERGENCY,
    mode: Mode = Mode.EMERGENCY,
    reason: str = "Security incident",
) -> MaintenanceEvent:
    now = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
    state = MaintenanceState(
        version=7,
        active=True,
        mode=mode,
        reason=reason,
        started_at=now,
        estimated_duration=600,
        updated_by="alice",
    )
    return MaintenanceEvent(kind=kind, state=state, actor="alice", at=now)


# --- an SMTP server -------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def message(self, index: int = 0) -> EmailMessage:
        content = self.envelopes[index].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


def _authenticate(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"ops",
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def emailer(port: int, **options: Any) -> EmailNotifier:
    values: dict[str, Any] = {
        "sender": "maintguard@example.org",
        "recipients": ["ops@example.org", "oncall@example.org"],
        "timeout": 5.0,
        "local_hostname": "localhost",
        **options,
    }
    return EmailNotifier("127.0.0.1", port, **values)


def test_email_reaches_every_recipient_with_a_clear_subject(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp

    emailer(port).notify(make_event())

    envelope = inbox.envelopes[0]
    assert envelope.rcpt_tos == ["ops@example.org", "oncall@example.org"]
    assert envelope.mail_from == "maintguard@example.org"
    message = inbox.message()
    assert message["Subject"] == "[maintguard] Maintenance activated (emergency): Security incident"
    assert message["To"] == "ops@example.org, oncall@example.org"
    body = message.get_content()
    assert "Reason: Security incident" in body
    assert "By: alice" in body


def test_test_mode_email_is_marked(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp

    emailer(port).notify(make_event(kind=EventKind.ACTIVATED, mode=Mode.TEST, reason="Drill"))

    assert inbox.message()["Subject"] == "[maintguard] [TEST] Maintenance activated (test): Drill"
    assert "TEST MODE" in inbox.message().get_content()


def test_a_reason_cannot_inject_headers_or_recipients(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    reason = "Disk full\r\nBcc: evil@example.com\r\n\r\nforged body\u2028X-Evil: 1"

    emailer(port).notify(make_event(reason=reason))

    assert inbox.envelopes[0].rcpt_tos == ["ops@example.org", "oncall@example.org"]
    message = inbox.message()
    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert "\n" not in message["Subject"]
    assert message["Subject"].endswith("Disk full Bcc: evil@example.com forged body X-Evil: 1")


def test_email_logs_in_when_credentials_are_set(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp

    emailer(port, username="ops", password=PASSWORD).notify(make_event())

    assert len(inbox.envelopes) == 1


def test_wrong_credentials_fail_without_leaking_the_password(
    smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = smtp

    with pytest.raises(NotificationError) as caught:
        emailer(port, username="ops", password="wrong-" + PASSWORD).notify(make_event())

    assert PASSWORD not in str(caught.value)
    assert "[MAINTENANCE] Notification failed" in caplog.text
    assert PASSWORD not in caplog.text


def test_email_to_a_closed_port_fails_quickly() -> None:
    started = time.monotonic()

    with pytest.raises(NotificationError):
        emailer(free_port(), timeout=2.0).notify(make_event())

    assert time.monotonic() - started < 5


def test_email_to_a_server_that_never_answers_fails_within_its_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepted by the kernel; no greeting ever comes
        started = time.monotonic()

        with pytest.raises(NotificationError):
            emailer(silent.getsockname()[1], timeout=0.5).notify(make_event())

        elapsed = time.monotonic() - started
    assert elapsed < 5  # a fault bound, not a benchmark


@pytest.mark.parametrize(
    "options",
    [
        {"recipients": []},
        {"recipients": ["ops@example.org\r\nBcc: x@y.z"]},
        {"recipients": ["not-an-address"]},
        {"sender": "a@b.c\nBcc: x@y.z"},
        {"username": "ops"},
        {"starttls": True, "use_ssl": True},
    ],
)
def test_email_configuration_is_checked_at_start_up(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        emailer(25, **options)


# --- an HTTP receiver -------------------------------------------------------------


class Receiver:
    """Records requests; answers with ``statuses`` in turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                if code in (301, 302, 307, 308):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/hooks/T0KEN-in-path") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    built = Receiver()
    built.thread.start()
    try:
        yield built
    finally:
        built.server.shutdown()
        built.server.server_close()
        built.thread.join(5)


def test_webhook_posts_the_event_as_signed_json(receiver: Receiver) -> None:
    event = make_event()

    WebhookNotifier(receiver.url(), secret=SECRET).notify(event)

    path, headers, body = receiver.requests[0]
    assert path == "/hooks/T0KEN-in-path"
    assert event.to_dict() == json.loads(body)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Maintguard-Event"] == "emergency"
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-Maintguard-Signature"])


def test_webhook_without_a_secret_is_unsigned(receiver: Receiver) -> None:
    WebhookNotifier(receiver.url()).notify(make_event())

    assert "X-Maintguard-Signature" not in receiver.requests[0][1]


def test_webhook_retries_server_errors_then_succeeds(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]

    WebhookNotifier(receiver.url(), retries=3, backoff=0.01).notify(make_event())

    assert len(receiver.requests) == 3
    bodies = {body for _, _, body in receiver.requests}
    assert len(bodies) == 1  # the same signed body every time


def test_webhook_gives_up_after_its_retries_and_logs_no_secret(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.statuses = [500] * 10

    with pytest.raises(NotificationError) as caught:
        WebhookNotifier(receiver.url(), secret=SECRET, retries=2, backoff=0.01).notify(make_event())

    assert len(receiver.requests) == 3
    assert "[MAINTENANCE] Notification failed" in caplog.text
    for text in (caplog.text, str(caught.value)):
        assert SECRET not in text
        assert "T0KEN" not in text  # the URL path may be the receiver's token
        assert f"http://127.0.0.1:{receiver.port}" in text


def test_webhook_client_errors_are_not_retried(receiver: Receiver) -> None:
    receiver.statuses = [400]

    with pytest.raises(NotificationError, match="HTTP 400"):
        WebhookNotifier(receiver.url(), retries=3, backoff=0.01).notify(make_event())

    assert len(receiver.requests) == 1


def test_webhook_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.statuses = [302]

    with pytest.raises(NotificationError, match="HTTP 302"):
        WebhookNotifier(receiver.url(), retries=3, backoff=0.01).notify(make_event())

    assert len(receiver.requests) == 1


def test_webhook_url_credentials_become_basic_auth_and_stay_out_of_logs(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://hook-user:{PASSWORD}@127.0.0.1:{receiver.port}/hook"
    receiver.statuses = [500]
    notifier = WebhookNotifier(url, retries=0)

    with pytest.raises(NotificationError):
        notifier.notify(make_event())

    expected = "Basic " + base64.b64encode(f"hook-user:{PASSWORD}".encode()).decode()
    assert expected == receiver.requests[0][1]["Authorization"]
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(notifier)


def test_webhook_to_a_closed_port_fails_within_its_budget() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    notifier = WebhookNotifier(url, timeout=1.0, retries=2, backoff=0.05)
    started = time.monotonic()

    with pytest.raises(NotificationError):
        notifier.notify(make_event())

    assert time.monotonic() - started < 5


def test_webhook_to_a_receiver_that_never_answers_fails_within_its_timeout() -> None:
    """A socket that accepts and stays silent: each attempt ends after ``timeout``."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts; nobody ever reads or answers
        port = silent.getsockname()[1]
        url = f"http://127.0.0.1:{port}/"
        notifier = WebhookNotifier(url, timeout=0.5, retries=1, backoff=0.05)
        started = time.monotonic()

        with pytest.raises(NotificationError):
            notifier.notify(make_event())

        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 6  # two attempts of 0.5 s each; a fault bound, not a benchmark


@pytest.mark.parametrize(
    "url",
    [
        "ftp://user:hunter2@example.org/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "example.org/hook",
        "http://",
        "https://exa mple.org/",
    ],
)
def test_only_http_and_https_webhooks_are_accepted(url: str) -> None:
    with pytest.raises(ConfigurationError, match="MAINTENANCE_WEBHOOK_URL") as caught:
        WebhookNotifier(url)

    assert "hunter2" not in str(caught.value)


# --- from settings ----------------------------------------------------------------


def test_nothing_is_installed_when_notifications_are_disabled() -> None:
    notifiers = notifiers_from_settings(
        notifications_enabled=False,
        email_alerts=True,
        webhook_url="https://hooks.example.org/x",
        smtp_host="smtp.example.org",
        alert_recipients=("ops@example.org",),
    )

    assert notifiers == []


def test_a_webhook_url_installs_a_webhook() -> None:
    notifiers = notifiers_from_settings(
        notifications_enabled=True, webhook_url="https://hooks.example.org/x"
    )

    assert [WebhookNotifier] == [type(n) for n in notifiers]


def test_email_alerts_install_an_email_notifier_next_to_the_webhook() -> None:
    notifiers = notifiers_from_settings(
        notifications_enabled=True,
        email_alerts=True,
        webhook_url="https://hooks.example.org/x",
        webhook_secret=SECRET,
        smtp_host="smtp.example.org",
        smtp_port=587,
        smtp_starttls=True,
        alert_recipients=("ops@example.org",),
    )

    assert [WebhookNotifier, EmailNotifier] == [type(n) for n in notifiers]
    email_notifier = notifiers[1]
    assert isinstance(email_notifier, EmailNotifier)
    assert email_notifier.starttls
    assert email_notifier.sender.startswith("maintguard@")


def test_email_alerts_need_an_smtp_host() -> None:
    with pytest.raises(ConfigurationError, match="MAINTENANCE_SMTP_HOST"):
        notifiers_from_settings(
            notifications_enabled=True, email_alerts=True, alert_recipients=("ops@example.org",)
        )


def test_email_alerts_need_recipients() -> None:
    with pytest.raises(ConfigurationError, match="MAINTENANCE_ALERT_EMAILS"):
        notifiers_from_settings(
            notifications_enabled=True, email_alerts=True, smtp_host="smtp.example.org"
        )


def test_a_webhook_secret_without_a_url_installs_nothing() -> None:
    assert notifiers_from_settings(notifications_enabled=True, webhook_secret=SECRET) == []


def test_notifiers_from_settings_deliver(smtp: tuple[Inbox, int], receiver: Receiver) -> None:
    inbox, port = smtp
    notifiers = notifiers_from_settings(
        notifications_enabled=True,
        email_alerts=True,
        webhook_url=receiver.url(),
        webhook_secret=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_username="ops",
        smtp_password=PASSWORD,
        smtp_sender="alerts@example.org",
        alert_recipients=("ops@example.org",),
    )

    for notifier in notifiers:
        notifier.notify(make_event(kind=EventKind.DEACTIVATED))

    assert len(receiver.requests) == 1
    assert inbox.message()["Subject"].startswith("[maintguard] Maintenance deactivated")
    assert inbox.envelopes[0].mail_from == "alerts@example.org"
