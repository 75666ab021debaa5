"""Settings from the environment, one field per variable.

Every variable the seeds' manuals set works with its stated meaning (see
``VARIABLES``). A malformed value is a ``ConfigurationError`` naming the
variable, never a silent default: an operator who typed
``MAINTENANCE_DEFAULT_TIMEOUT=2h`` learns at start-up, not during the
incident. An unset or empty variable takes its default.

Structured values (switches, numbers, choices) may carry a trailing
``# comment`` as the seeds' ``.env`` files do (``7200  # 2 hours default``).
Free text (URLs, tokens, secrets, addresses) is taken as written: cutting a
password at a ``#`` would be a silent change, so a comment there fails the
value's own check instead.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from maintguard.core.identity import parse_admin_tokens, parse_networks
from maintguard.exceptions import ConfigurationError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_COMMENT = re.compile(r"\s+#.*\Z", re.DOTALL)
#: Longer than this is a typo, not a plan (the API's limit for durations).
_THIRTY_DAYS = 30 * 86400.0

#: Every variable: (name, ``Settings`` field, meaning). The first eleven are
#: the seeds' (deployment and configuration manuals); the rest are maintguard's.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    (
        "MAINTENANCE_MODE_ENABLED",
        "maintenance_mode_enabled",
        "the feature switch: false makes the middleware pass every request through; "
        "it never switches maintenance on",
    ),
    (
        "MAINTENANCE_DEFAULT_TIMEOUT",
        "default_timeout",
        "default estimated duration of a maintenance, seconds (sets Retry-After; ends nothing)",
    ),
    (
        "MAINTENANCE_CLEANUP_INTERVAL",
        "cleanup_interval",
        "housekeeping interval, seconds (counters, log summaries)",
    ),
    (
        "EMERGENCY_MODE_JOB_GRACE_PERIOD",
        "job_grace_period",
        "seconds running jobs get to stop in an emergency before they are terminated",
    ),
    (
        "EMERGENCY_MODE_SESSION_CLEANUP",
        "session_cleanup",
        "invalidate non-admin sessions when maintenance starts",
    ),
    (
        "TEST_MODE_SIMULATION",
        "test_mode_simulation",
        "test mode records what it would have blocked",
    ),
    (
        "TEST_MODE_LOGGING_LEVEL",
        "test_mode_logging_level",
        "log level of test mode's would-be-blocked lines (DEBUG … CRITICAL)",
    ),
    (
        "MAINTENANCE_NOTIFICATIONS_ENABLED",
        "notifications_enabled",
        "send notifications (webhook, e-mail) on maintenance changes",
    ),
    (
        "MAINTENANCE_EMAIL_ALERTS",
        "email_alerts",
        "send e-mail alerts (needs MAINTENANCE_SMTP_HOST and MAINTENANCE_ALERT_EMAILS)",
    ),
    ("MAINTENANCE_WEBHOOK_URL", "webhook_url", "http(s) URL that receives a signed JSON POST"),
    (
        "MAINTENANCE_STORE_URL",
        "store_url",
        "where the shared state lives: memory://, redis://…, sqlite:///…, postgresql+psycopg://…",
    ),
    (
        "MAINTENANCE_ADMIN_TOKENS",
        "admin_tokens",
        "bearer tokens of the control API, comma-separated: [name:]token or [name:]sha256:<hex>",
    ),
    (
        "MAINTENANCE_FORCE_MODE",
        "force_mode",
        "break-glass override of this instance: normal, emergency or off (beats the store)",
    ),
    ("MAINTENANCE_WEBHOOK_SECRET", "webhook_secret", "HMAC key of the webhook signature"),
    ("MAINTENANCE_SMTP_HOST", "smtp_host", "SMTP server for e-mail alerts"),
    ("MAINTENANCE_SMTP_PORT", "smtp_port", "SMTP port (465: implicit TLS)"),
    ("MAINTENANCE_SMTP_USERNAME", "smtp_username", "SMTP login"),
    ("MAINTENANCE_SMTP_PASSWORD", "smtp_password", "SMTP password"),
    ("MAINTENANCE_SMTP_FROM", "smtp_sender", "sender address of e-mail alerts"),
    ("MAINTENANCE_SMTP_STARTTLS", "smtp_starttls", "upgrade the SMTP connection with STARTTLS"),
    (
        "MAINTENANCE_ALERT_EMAILS",
        "alert_recipients",
        "recipients of e-mail alerts, comma-separated",
    ),
    (
        "MAINTENANCE_BYPASS_SECRET",
        "bypass_cookie_secret",
        "HMAC key of the admin bypass cookie (at least 16 bytes; the same on every worker)",
    ),
    ("MAINTENANCE_ALLOWED_IPS", "allowed_ips", "addresses or networks treated as admins"),
    (
        "MAINTENANCE_TRUSTED_PROXIES",
        "trusted_proxies",
        "proxies whose X-Forwarded-For / X-Forwarded-Proto are believed",
    ),
    (
        "MAINTENANCE_ON_STORE_ERROR",
        "on_store_error",
        "while the store fails: last_known, open or closed",
    ),
    (
        "MAINTENANCE_REFRESH_INTERVAL",
        "refresh_interval",
        "seconds between snapshot refreshes from the store (0.05 to 3600)",
    ),
    (
        "MAINTENANCE_CORS_ORIGINS",
        "cors_origins",
        "origins whose 503 answers carry Access-Control-Allow-Origin (or *)",
    ),
)


def _raw(env: Mapping[str, str], name: str) -> str | None:
    """The value as written, stripped; ``None`` when unset or empty."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    return raw.strip()


def _structured(env: Mapping[str, str], name: str) -> str | None:
    """A switch, number or choice: an inline ``# comment`` is dropped."""
    raw = _raw(env, name)
    if raw is None:
        return None
    return _COMMENT.sub("", raw).strip() or None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _structured(env, name)
    if raw is None:
        return default
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw[:40]!r}")


def _seconds(
    env: Mapping[str, str], name: str, default: float, *, minimum: float, maximum: float
) -> float:
    raw = _structured(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw[:40]!r}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ConfigurationError(f"{name} must be between {minimum:g} and {maximum:g} seconds")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _structured(env, name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 65535:
        raise ConfigurationError(f"{name} must be a port number between 1 and 65535")
    return int(raw)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    raw = _structured(env, name)
    if raw is None:
        return None
    if raw.lower() not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {raw[:40]!r}")
    return raw.lower()


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = _raw(env, name)
    if raw is None:
        return ()
    items = tuple(item.strip() for item in raw.split(","))
    if any(not item for item in items):
        raise ConfigurationError(f"{name} has an empty entry (check the commas)")
    return items


def _no_space(value: str | None, name: str, what: str) -> str | None:
    if value is not None and any(char.isspace() for char in value):
        raise ConfigurationError(f"{name} must be {what} without spaces (a trailing comment?)")
    return value


def _webhook_url(env: Mapping[str, str], name: str) -> str | None:
    raw = _no_space(_raw(env, name), name, "a URL")
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        # The URL may carry a token in its path or query: do not echo it.
        raise ConfigurationError(f"{name} must be an http:// or https:// URL with a host")
    return raw


def _store_url(env: Mapping[str, str], name: str) -> str:
    from maintguard.stores import registered_schemes

    raw = _no_space(_raw(env, name), name, "a URL")
    if raw is None:
        return "memory://"
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    known = registered_schemes()
    if scheme not in known and scheme.split("+", 1)[0] not in known:
        # Never echo the URL: it may carry a password.
        raise ConfigurationError(
            f"{name} must be a store URL such as redis://host:6379/0 or sqlite:///maint.db "
            f"(known schemes: {', '.join(known)})"
        )
    return raw


def _tokens(env: Mapping[str, str], name: str) -> str:
    raw = _raw(env, name)
    if raw is None:
        return ""
    parse_admin_tokens(raw, name)  # the messages name the entry, never the token
    return raw


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    values = _list(env, name)
    parse_networks(values, name)
    return values


def _emails(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    values = _list(env, name)
    for value in values:
        if "@" not in value or any(char.isspace() for char in value):
            raise ConfigurationError(f"{name}: {value[:80]!r} is not an e-mail address")
    return values


def _sender(env: Mapping[str, str], name: str) -> str | None:
    raw = _raw(env, name)
    if raw is not None and "@" not in raw:
        raise ConfigurationError(f"{name} must be an e-mail address")
    return raw


def _secret(env: Mapping[str, str], name: str) -> str | None:
    raw = _raw(env, name)
    if raw is not None and len(raw.encode("utf-8")) < 16:
        raise ConfigurationError(f"{name} must be at least 16 bytes long")
    return raw


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    values = _list(env, name)
    for value in values:
        if value != "*" and not re.fullmatch(r"https?://[^\s/]+", value):
            raise ConfigurationError(
                f"{name}: {value[:80]!r} is not an origin (scheme://host[:port]) or *"
            )
    return values


def _level(env: Mapping[str, str], name: str) -> str:
    raw = _structured(env, name)
    if raw is None:
        return "INFO"
    if raw.upper() not in _LEVELS:
        raise ConfigurationError(f"{name} must be one of {', '.join(_LEVELS)}, not {raw[:40]!r}")
    return raw.upper()


@attrs.frozen
class Settings:
    """maintguard's environment settings (``Settings.from_env()``).

    ``VARIABLES`` lists the variable behind each field and its meaning.
    """

    #: The feature is on; false makes the middleware pass everything through.
    #: It never switches maintenance itself on.
    maintenance_mode_enabled: bool = True
    #: Default *estimated* duration (seconds): sets Retry-After, ends nothing.
    default_timeout: float = 7200.0
    #: Housekeeping interval (seconds): counters, log summaries.
    cleanup_interval: float = 300.0
    #: Seconds jobs get to stop in an emergency before they are terminated.
    job_grace_period: float = 30.0
    #: Invalidate non-admin sessions when maintenance starts.
    session_cleanup: bool = True
    #: Test mode records what it would block (else it records nothing).
    test_mode_simulation: bool = True
    test_mode_logging_level: str = "INFO"
    notifications_enabled: bool = False
    email_alerts: bool = False
    webhook_url: str | None = attrs.field(default=None, repr=False)
    webhook_secret: str | None = attrs.field(default=None, repr=False)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = attrs.field(default=None, repr=False)
    smtp_sender: str | None = None
    smtp_starttls: bool = False
    alert_recipients: tuple[str, ...] = ()
    store_url: str = attrs.field(default="memory://", repr=False)
    admin_tokens: str = attrs.field(default="", repr=False)
    #: Per-instance break-glass: normal / emergency / off beats the store.
    force_mode: str | None = None
    bypass_cookie_secret: str | None = attrs.field(default=None, repr=False)
    allowed_ips: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    on_store_error: str = "last_known"
    refresh_interval: float = 1.0
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every variable of ``VARIABLES`` (from ``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "maintenance_mode_enabled": _bool(env, "MAINTENANCE_MODE_ENABLED", True),
            "default_timeout": _seconds(
                env, "MAINTENANCE_DEFAULT_TIMEOUT", 7200.0, minimum=1, maximum=_THIRTY_DAYS
            ),
            "cleanup_interval": _seconds(
                env, "MAINTENANCE_CLEANUP_INTERVAL", 300.0, minimum=1, maximum=86400
            ),
            "job_grace_period": _seconds(
                env, "EMERGENCY_MODE_JOB_GRACE_PERIOD", 30.0, minimum=0, maximum=_THIRTY_DAYS
            ),
            "session_cleanup": _bool(env, "EMERGENCY_MODE_SESSION_CLEANUP", True),
            "test_mode_simulation": _bool(env, "TEST_MODE_SIMULATION", True),
            "test_mode_logging_level": _level(env, "TEST_MODE_LOGGING_LEVEL"),
            "notifications_enabled": _bool(env, "MAINTENANCE_NOTIFICATIONS_ENABLED", False),
            "email_alerts": _bool(env, "MAINTENANCE_EMAIL_ALERTS", False),
            "webhook_url": _webhook_url(env, "MAINTENANCE_WEBHOOK_URL"),
            "webhook_secret": _raw(env, "MAINTENANCE_WEBHOOK_SECRET"),
            "smtp_host": _no_space(
                _raw(env, "MAINTENANCE_SMTP_HOST"), "MAINTENANCE_SMTP_HOST", "a host name"
            ),
            "smtp_port": _port(env, "MAINTENANCE_SMTP_PORT", 25),
            "smtp_username": _raw(env, "MAINTENANCE_SMTP_USERNAME"),
            "smtp_password": _raw(env, "MAINTENANCE_SMTP_PASSWORD"),
            "smtp_sender": _sender(env, "MAINTENANCE_SMTP_FROM"),
            "smtp_starttls": _bool(env, "MAINTENANCE_SMTP_STARTTLS", False),
            "alert_recipients": _emails(env, "MAINTENANCE_ALERT_EMAILS"),
            "store_url": _store_url(env, "MAINTENANCE_STORE_URL"),
            "admin_tokens": _tokens(env, "MAINTENANCE_ADMIN_TOKENS"),
            "force_mode": _choice(env, "MAINTENANCE_FORCE_MODE", ("normal", "emergency", "off")),
            "bypass_cookie_secret": _secret(env, "MAINTENANCE_BYPASS_SECRET"),
            "allowed_ips": _networks(env, "MAINTENANCE_ALLOWED_IPS"),
            "trusted_proxies": _networks(env, "MAINTENANCE_TRUSTED_PROXIES"),
            "on_store_error": _choice(
                env, "MAINTENANCE_ON_STORE_ERROR", ("last_known", "open", "closed")
            )
            or "last_known",
            "refresh_interval": _seconds(
                env, "MAINTENANCE_REFRESH_INTERVAL", 1.0, minimum=0.05, maximum=3600
            ),
            "cors_origins": _origins(env, "MAINTENANCE_CORS_ORIGINS"),
        }
        return cls(**values)

    @property
    def test_mode_log_level(self) -> int:
        return int(logging.getLevelName(self.test_mode_logging_level))
