"""``notifiers_from_settings``: the notifiers the ``Settings`` fields ask for.

Kept apart from the notifiers so that each of them stays usable on its own;
this is where the settings' defaults (the sender's address, implicit TLS on
port 465) are decided.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from maintguard.effects.notify.email import EmailNotifier
from maintguard.effects.notify.webhook import WebhookNotifier
from maintguard.exceptions import ConfigurationError


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
