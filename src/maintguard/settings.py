"""Settings from the environment, one field per variable.

Every variable the seeds' manuals set works with its stated meaning. A
malformed value is a ``ConfigurationError`` naming the variable, never a
silent default: an operator who typed ``MAINTENANCE_DEFAULT_TIMEOUT=2h``
learns at start-up, not during the incident.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from typing import Any

import attrs

from maintguard.exceptions import ConfigurationError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def _seconds(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    # Allow the seeds' inline comments ("7200  # 2 hours default") in .env files.
    text = raw.split("#", 1)[0].strip()
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not math.isfinite(value) or value < minimum or value > 366 * 86400:
        raise ConfigurationError(f"{name} must be between {minimum:g} and one year of seconds")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.split("#", 1)[0].strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, not {raw!r}") from None
    if value < minimum or value > 65535:
        raise ConfigurationError(f"{name} must be between {minimum} and 65535")
    return value


def _text(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    if raw is None:
        return None
    value = raw.split(" #", 1)[0].strip()
    return value or None


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = _text(env, name)
    if raw is None:
        return ()
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    raw = _text(env, name)
    if raw is None:
        return None
    if raw.lower() not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw.lower()


@attrs.frozen
class Settings:
    """maintguard's environment settings (``Settings.from_env()``)."""

    #: The feature is on; false makes the middleware pass everything through.
    #: It never switches maintenance itself on.
    maintenance_mode_enabled: bool = True
    #: Default *estimated* duration (seconds): sets Retry-After, ends nothing.
    default_timeout: float = 7200.0
    #: Housekeeping interval (seconds): counters, expired windows, log summaries.
    cleanup_interval: float = 300.0
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
        env = os.environ if environ is None else environ
        level = (_text(env, "TEST_MODE_LOGGING_LEVEL") or "INFO").upper()
        if level not in _LEVELS:
            raise ConfigurationError(
                f"TEST_MODE_LOGGING_LEVEL must be one of {', '.join(_LEVELS)}, not {level!r}"
            )
        values: dict[str, Any] = {
            "maintenance_mode_enabled": _bool(env, "MAINTENANCE_MODE_ENABLED", True),
            "default_timeout": _seconds(env, "MAINTENANCE_DEFAULT_TIMEOUT", 7200.0, minimum=1),
            "cleanup_interval": _seconds(env, "MAINTENANCE_CLEANUP_INTERVAL", 300.0, minimum=1),
            "job_grace_period": _seconds(env, "EMERGENCY_MODE_JOB_GRACE_PERIOD", 30.0),
            "session_cleanup": _bool(env, "EMERGENCY_MODE_SESSION_CLEANUP", True),
            "test_mode_simulation": _bool(env, "TEST_MODE_SIMULATION", True),
            "test_mode_logging_level": level,
            "notifications_enabled": _bool(env, "MAINTENANCE_NOTIFICATIONS_ENABLED", False),
            "email_alerts": _bool(env, "MAINTENANCE_EMAIL_ALERTS", False),
            "webhook_url": _text(env, "MAINTENANCE_WEBHOOK_URL"),
            "webhook_secret": _text(env, "MAINTENANCE_WEBHOOK_SECRET"),
            "smtp_host": _text(env, "MAINTENANCE_SMTP_HOST"),
            "smtp_port": _int(env, "MAINTENANCE_SMTP_PORT", 25),
            "smtp_username": _text(env, "MAINTENANCE_SMTP_USERNAME"),
            "smtp_password": _text(env, "MAINTENANCE_SMTP_PASSWORD"),
            "smtp_sender": _text(env, "MAINTENANCE_SMTP_FROM"),
            "smtp_starttls": _bool(env, "MAINTENANCE_SMTP_STARTTLS", False),
            "alert_recipients": _list(env, "MAINTENANCE_ALERT_EMAILS"),
            "store_url": _text(env, "MAINTENANCE_STORE_URL") or "memory://",
            "admin_tokens": _text(env, "MAINTENANCE_ADMIN_TOKENS") or "",
            "force_mode": _choice(env, "MAINTENANCE_FORCE_MODE", ("normal", "emergency", "off")),
            "bypass_cookie_secret": _text(env, "MAINTENANCE_BYPASS_SECRET"),
            "allowed_ips": _list(env, "MAINTENANCE_ALLOWED_IPS"),
            "trusted_proxies": _list(env, "MAINTENANCE_TRUSTED_PROXIES"),
            "on_store_error": _choice(
                env, "MAINTENANCE_ON_STORE_ERROR", ("last_known", "open", "closed")
            )
            or "last_known",
            "refresh_interval": _seconds(
                env, "MAINTENANCE_REFRESH_INTERVAL", 1.0, minimum=0.05
            ),
            "cors_origins": _list(env, "MAINTENANCE_CORS_ORIGINS"),
        }
        return cls(**values)

    @property
    def test_mode_log_level(self) -> int:
        return int(logging.getLevelName(self.test_mode_logging_level))
