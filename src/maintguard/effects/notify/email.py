"""The e-mail notifier: one plain-text message per event, sent with ``smtplib``.

Every value that reaches a header is flattened to one line (``one_line``)
and every address is checked to be plain, so an event's reason can never
add a header or a recipient. The SMTP password is never logged.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import unicodedata
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from maintguard.effects.events import EventKind, MaintenanceEvent
from maintguard.effects.notify.common import (
    EVENT_HEADER,
    NotificationError,
    _describe,
    _no_line_breaks,
    _seconds,
)
from maintguard.exceptions import ConfigurationError
from maintguard.logs import maintenance as log_line

_TITLES = {
    EventKind.ACTIVATED: "Maintenance activated",
    EventKind.EMERGENCY: "Maintenance activated",
    EventKind.UPDATED: "Maintenance updated",
    EventKind.DEACTIVATED: "Maintenance deactivated",
    EventKind.WINDOW_UPCOMING: "Maintenance scheduled",
    EventKind.STORE_LOST: "Maintenance state store lost its state",
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
    if event.notify_users:
        lines += [_printable(event.notice), ""]
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
