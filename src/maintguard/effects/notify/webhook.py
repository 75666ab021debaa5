"""The webhook notifier: an event as JSON, POSTed, signed, retried within bounds.

Only connection errors, timeouts, 408, 429 and 5xx are retried; a redirect
is a failure, never followed. The URL's path and query are never logged:
services such as Slack put their token there.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from maintguard.effects.events import MaintenanceEvent
from maintguard.effects.notify.common import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    NotificationError,
    _describe,
    _no_line_breaks,
    _seconds,
    sign,
)
from maintguard.exceptions import ConfigurationError
from maintguard.logs import maintenance as log_line


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
