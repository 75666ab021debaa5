"""Telling operators: a signed JSON webhook and e-mail.

Notifiers are ``Listener``s (``notify(event)``); the event dispatcher calls
them off the request path. Each one bounds its time — every network
operation has a timeout and retries are counted — so a dead receiver can
never hang the dispatcher. A notifier that gives up logs one
``[MAINTENANCE] Notification failed`` line and raises ``NotificationError``.
No log line or error carries a password, a webhook secret or the webhook
URL's path and query (services such as Slack put their token there).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import math
import smtplib
import socket
import ssl
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from maintguard.effects.events import EventKind, MaintenanceEvent
from maintguard.exceptions import ConfigurationError, MaintGuardError
from maintguard.logs import maintenance as log_line

logger = logging.getLogger("maintguard")

__all__ = [
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "EmailNotifier",
    "NotificationError",
    "WebhookNotifier",
    "notifiers_from_settings",
    "one_line",
    "sign",
]

SIGNATURE_HEADER = "X-Maintguard-Signature"
EVENT_HEADER = "X-Maintguard-Event"


class NotificationError(MaintGuardError):
    """A notification could not be delivered (after its retries)."""


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``X-Maintguard-Signature`` value: ``sha256=`` + hex HMAC of the exact body."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _seconds(value: float, name: str, *, zero: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        kind = "non-negative" if zero else "positive"
        raise ConfigurationError(f"{name} must be a {kind} number")
    return float(value)


def _no_line_breaks(value: str, name: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise ConfigurationError(f"{name} must not contain line breaks")
    return value


# --- webhook ----------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A webhook answers where it is configured; a redirect is a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class WebhookNotifier:
    """POSTs ``event.to_dict()`` as JSON to an http(s) URL.

    With a ``secret``, ``X-Maintguard-Signature: sha256=<hex>`` is the
    HMAC-SHA256 of the exact body (receivers recompute and compare in
    constant time). Connection errors, timeouts, 408, 429 and 5xx are retried
    ``retries`` times after ``backoff``, ``2*backoff``, ``4*backoff``…
    seconds; other answers fail at once. Credentials in the URL
    (``https://user:pass@host/…``) are sent as HTTP Basic authentication.
    ``timeout`` bounds each network operation, so one attempt at a receiver
    that never answers ends after about ``timeout`` seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | bytes | None = None,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.5,
        # Extra request headers, e.g. an Authorization the receiver wants.
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._url, self.target, self._auth = _parse_webhook_url(url)
        if secret is not None and not secret:
            raise ConfigurationError("MAINTENANCE_WEBHOOK_SECRET must not be empty when set")
        self._secret = secret
        self.timeout = _seconds(timeout, "timeout")
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
            raise ConfigurationError("retries must be an integer between 0 and 10")
        self.retries = retries
        self.backoff = _seconds(backoff, "backoff", zero=True)
        self._headers: dict[str, str] = {}
        for name, value in (headers or {}).items():
            self._headers[_no_line_breaks(name, "header name")] = _no_line_breaks(
                value, f"header {name}"
            )
        self._opener = urllib.request.build_opener(_NoRedirects)

    def __repr__(self) -> str:
        # Never the full URL: its path or query may be the receiver's token.
        return f"WebhookNotifier({self.target!r}, signed={self._secret is not None})"

    def body(self, event: MaintenanceEvent) -> bytes:
        return json.dumps(event.to_dict(), separators=(",", ":"), sort_keys=True).encode("utf-8")

    def notify(self, event: MaintenanceEvent) -> None:
        body = self.body(event)
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "User-Agent": "maintguard",
            EVENT_HEADER: event.kind.value,
        }
        if self._auth is not None:
            headers["Authorization"] = self._auth
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        attempts = 0
        error = ""
        while attempts <= self.retries:
            if attempts:
                time.sleep(self.backoff * 2 ** (attempts - 1))
            attempts += 1
            retryable, error = self._post(body, headers)
            if not error:
                return
            if not retryable:
                break
            if attempts <= self.retries:
                log_line(
                    "Notification attempt failed",
                    logging.WARNING,
                    notifier="webhook",
                    target=self.target,
                    attempt=attempts,
                    error=error,
                )
        log_line(
            "Notification failed",
            logging.ERROR,
            notifier="webhook",
            target=self.target,
            kind=event.kind.value,
            attempts=attempts,
            error=error,
        )
        raise NotificationError(
            f"webhook {self.target} failed after {attempts} attempt(s): {error}"
        )

    def _post(self, body: bytes, headers: Mapping[str, str]) -> tuple[bool, str]:
        """One attempt: (retryable, error), error empty on success."""
        # The scheme was checked at construction: http or https only.
        request = urllib.request.Request(  # noqa: S310
            self._url, data=body, headers=dict(headers), method="POST"
        )
        try:
            with self._opener.open(request, timeout=self.timeout):
                return False, ""
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code >= 500 or exc.code in (408, 429), f"HTTP {exc.code}"
        except urllib.error.URLError as exc:
            return True, _describe(exc.reason)
        except (OSError, http.client.HTTPException) as exc:
            return True, _describe(exc)


def _describe(reason: object) -> str:
    """An error's kind, never its text (it may echo a URL)."""
    if isinstance(reason, OSError) and reason.strerror:
        return f"{type(reason).__name__}: {reason.strerror}"
    if isinstance(reason, BaseException):
        return type(reason).__name__
    return "unreachable"


def _parse_webhook_url(url: object) -> tuple[str, str, str | None]:
    """(the URL to call, scheme://host[:port] to log, a Basic header or None)."""
    problem = "MAINTENANCE_WEBHOOK_URL must be an http:// or https:// URL with a host"
    if not isinstance(url, str) or any(c in url for c in "\r\n\0 "):
        raise ConfigurationError(problem)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError("MAINTENANCE_WEBHOOK_URL has an invalid port") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(problem)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host if port is None else f"{host}:{port}"
    auth = None
    if parts.username is not None or parts.password is not None:
        pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    return target, f"{scheme}://{netloc}", auth


# --- e-mail -----------------------------------------------------------------

_TITLES = {
    EventKind.ACTIVATED: "Maintenance activated",
    EventKind.EMERGENCY: "Maintenance activated",
    EventKind.UPDATED: "Maintenance updated",
    EventKind.DEACTIVATED: "Maintenance deactivated",
    EventKind.WINDOW_UPCOMING: "Maintenance scheduled",
}


def one_line(text: object, limit: int = 150) -> str:
    """Text fit for a header: control and line-separator characters become
    spaces, runs of spaces collapse, and it is cut at ``limit``."""
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(text)
    )
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _printable(text: object) -> str:
    """Body text: line breaks kept, other control characters dropped."""
    return "".join(
        c
        for c in str(text).replace("\r\n", "\n").replace("\r", "\n")
        if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf")
    )


def _address(value: object, name: str) -> str:
    if (
        not isinstance(value, str)
        or value.count("@") != 1
        or not value.split("@")[0]
        or not value.split("@")[1]
        or any(c.isspace() or unicodedata.category(c) == "Cc" for c in value)
        or any(c in value for c in ',;<>"')
    ):
        raise ConfigurationError(f"{name} must hold plain e-mail addresses (user@domain)")
    return value


class EmailNotifier:
    """Sends one plain-text e-mail per event with ``smtplib``.

    The subject reads ``[maintguard] Maintenance activated (emergency):
    <reason>``, with ``[TEST]`` after the tag for test-mode events; the
    reason is flattened to one line, so it can never add a header.
    """

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_ssl: bool = False,
        timeout: float = 10.0,
        # The EHLO name; None asks the OS (which may do a DNS lookup).
        local_hostname: str | None = None,
    ) -> None:
        if not isinstance(host, str) or not host.strip():
            raise ConfigurationError("MAINTENANCE_SMTP_HOST must name the SMTP server")
        self.host = _no_line_breaks(host.strip(), "MAINTENANCE_SMTP_HOST")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigurationError("MAINTENANCE_SMTP_PORT must be a port number (1-65535)")
        self.port = port
        self.sender = _address(sender, "MAINTENANCE_SMTP_FROM")
        if isinstance(recipients, str):
            recipients = [r.strip() for r in recipients.split(",") if r.strip()]
        self.recipients = tuple(_address(r, "MAINTENANCE_ALERT_EMAILS") for r in recipients)
        if not self.recipients:
            raise ConfigurationError("MAINTENANCE_ALERT_EMAILS must name at least one recipient")
        if (username is None) != (password is None):
            raise ConfigurationError(
                "MAINTENANCE_SMTP_USERNAME and MAINTENANCE_SMTP_PASSWORD go together"
            )
        if starttls and use_ssl:
            raise ConfigurationError("choose STARTTLS or implicit TLS (SMTPS), not both")
        self.username = username
        self._password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.timeout = _seconds(timeout, "timeout")
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        return f"EmailNotifier({self.host!r}, {self.port}, recipients={len(self.recipients)})"

    def subject(self, event: MaintenanceEvent) -> str:
        title = _TITLES.get(event.kind, "Maintenance event")
        test = "[TEST] " if event.simulated else ""
        reason = one_line(event.state.reason) or "(no reason given)"
        return f"[maintguard] {test}{title} ({event.state.mode.value}): {reason}"

    def message(self, event: MaintenanceEvent) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = self.subject(event)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.split("@", 1)[1])
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
        message[EVENT_HEADER] = event.kind.value
        message.set_content(_body(event))
        return message

    def notify(self, event: MaintenanceEvent) -> None:
        message = self.message(event)
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                refused = smtp.send_message(
                    message, from_addr=self.sender, to_addrs=list(self.recipients)
                )
        except (smtplib.SMTPException, OSError) as exc:
            log_line(
                "Notification failed",
                logging.ERROR,
                notifier="email",
                target=f"{self.host}:{self.port}",
                kind=event.kind.value,
                error=_describe(exc),
            )
            raise NotificationError(
                f"e-mail via {self.host}:{self.port} failed: {_describe(exc)}"
            ) from None
        if refused:
            log_line(
                "Notification partly failed",
                logging.WARNING,
                notifier="email",
                refused_recipients=len(refused),
            )

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=ssl.create_default_context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )


def _body(event: MaintenanceEvent) -> str:
    data = event.to_dict()
    title = _TITLES.get(event.kind, "Maintenance event")
    lines = [f"{title}.", ""]
    if event.simulated:
        lines += ["TEST MODE: a simulation; nothing is blocked.", ""]
    for label, key in (
        ("Mode", "mode"),
        ("Reason", "reason"),
        ("Message", "message"),
        ("By", "actor"),
        ("At", "at"),
        ("Started at", "started_at"),
        ("Estimated completion", "estimated_completion"),
        ("Ends at", "ends_at"),
        ("State version", "version"),
    ):
        value = data.get(key)
        if value is not None and value != "":
            lines.append(f"{label}: {_printable(value)}")
    window = data.get("window")
    if window:
        lines.append(f"Scheduled window: {_printable(json.dumps(window, sort_keys=True))}")
    lines += ["", "-- ", "maintguard"]
    return "\n".join(lines) + "\n"


# --- from settings ------------------------------------------------------------


def _default_sender() -> str:
    host = socket.gethostname()
    if not host or any(not (c.isalnum() or c in "-.") for c in host):
        host = "localhost"
    return f"maintguard@{host}"


def notifiers_from_settings(
    *,
    notifications_enabled: bool = False,
    email_alerts: bool = False,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    smtp_host: str | None = None,
    smtp_port: int = 25,
    smtp_username: str | None = None,
    smtp_password: str | None = None,
    smtp_sender: str | None = None,
    alert_recipients: Sequence[str] = (),
    smtp_starttls: bool = False,
    smtp_ssl: bool | None = None,
) -> list[WebhookNotifier | EmailNotifier]:

    """The notifiers the settings ask for (the ``Settings`` fields of the same names).

    Nothing when notifications are disabled. A webhook when
    ``webhook_url`` is set; e-mail when ``email_alerts`` is on, which then
    needs ``smtp_host`` and ``alert_recipients``. ``smtp_sender`` defaults to
    ``maintguard@<this host>``; ``smtp_ssl`` (implicit TLS) defaults to on
    for port 465 without STARTTLS.
    """
    if not notifications_enabled:
        return []
    notifiers: list[WebhookNotifier | EmailNotifier] = []
    if webhook_url:
        notifiers.append(WebhookNotifier(webhook_url, secret=webhook_secret or None))
    if email_alerts:
        if not smtp_host:
            raise ConfigurationError(
                "MAINTENANCE_SMTP_HOST must be set when MAINTENANCE_EMAIL_ALERTS is on"
            )
        if not alert_recipients:
            raise ConfigurationError(
                "MAINTENANCE_ALERT_EMAILS must be set when MAINTENANCE_EMAIL_ALERTS is on"
            )
        implicit_tls = smtp_port == 465 and not smtp_starttls if smtp_ssl is None else smtp_ssl
        notifiers.append(
            EmailNotifier(
                smtp_host,
                smtp_port,
                sender=smtp_sender or _default_sender(),
                recipients=alert_recipients,
                username=smtp_username,
                password=smtp_password,
                starttls=smtp_starttls,
                use_ssl=implicit_tls,
            )
        )
    return notifiers
