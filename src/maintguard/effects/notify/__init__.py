"""Telling operators: a signed JSON webhook and e-mail.

Notifiers are ``Listener``s (``notify(event)``); the event dispatcher calls
them off the request path. Each one bounds its time — every network
operation has a timeout and retries are counted — so a dead receiver can
never hang the dispatcher. A notifier that gives up logs one
``[MAINTENANCE] Notification failed`` line and raises ``NotificationError``.
No log line or error carries a password, a webhook secret or the webhook
URL's path and query (services such as Slack put their token there).
"""

# The parts: ``common`` (headers, error, signature, shared checks),
# ``webhook``, ``email`` and ``from_settings``; this module only gathers them.

from __future__ import annotations

from maintguard.effects.notify.common import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    NotificationError,
    sign,
)
from maintguard.effects.notify.email import EmailNotifier, one_line
from maintguard.effects.notify.from_settings import notifiers_from_settings
from maintguard.effects.notify.webhook import WebhookNotifier

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
