"""``Settings``: the one configuration object of a ``MaintenanceService``.

Every option lives here, once: its default, its environment variable, how
that variable's text is read, the check it passes and what it means. The
same frozen object is built from keywords (``MaintenanceService(...,
default_timeout=600)``), from the environment (``Settings.from_env()``) or
from a framework's configuration (``Settings.from_mapping(...)``); it is
checked once, when it is built, and the service reads nothing else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import attrs

from maintguard.config import checks, env
from maintguard.exceptions import ConfigurationError
from maintguard.stores.snapshot import FORCE_MODES, STORE_ERROR_POLICIES

#: Longer than this is a typo, not a plan (the API's limit for durations).
_THIRTY_DAYS = 30 * 86400.0
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _setting(
    default: Any,
    variable: str,
    read: env.Reader,
    check: checks.Check,
    meaning: str,
    *,
    secret: bool = False,
    many: bool = False,
) -> Any:
    return attrs.field(
        default=default,
        # Secrets and URLs (which may carry a password) stay out of reprs.
        repr=not secret,
        converter=checks.entries if many else None,
        validator=checks.validator(check),
        metadata={"env": variable, "read": read, "meaning": meaning},
    )


@attrs.frozen
class Settings:
    """Every maintguard option; ``VARIABLES`` lists the variable behind each."""

    # One option per entry: default, variable, reader, check, meaning. Kept
    # compact by hand, as a table reads.
    # fmt: off

    # -- the seeds' variables (deployment and configuration manuals)
    maintenance_mode_enabled: bool = _setting(
        True, "MAINTENANCE_MODE_ENABLED", env.boolean, checks.is_bool,
        "the feature switch: false makes the middleware pass every request through; "
        "it never switches maintenance on",
    )
    default_timeout: float = _setting(
        7200.0, "MAINTENANCE_DEFAULT_TIMEOUT", env.seconds, checks.between(1, _THIRTY_DAYS),
        "default estimated duration of a maintenance, seconds (sets Retry-After; ends nothing)",
    )
    cleanup_interval: float = _setting(
        300.0, "MAINTENANCE_CLEANUP_INTERVAL", env.seconds, checks.between(1, 86400),
        "housekeeping interval, seconds (counters, log summaries)",
    )
    job_grace_period: float = _setting(
        30.0, "EMERGENCY_MODE_JOB_GRACE_PERIOD", env.seconds, checks.between(0, _THIRTY_DAYS),
        "seconds running jobs get to stop in an emergency before they are terminated",
    )
    session_cleanup: bool = _setting(
        True, "EMERGENCY_MODE_SESSION_CLEANUP", env.boolean, checks.is_bool,
        "invalidate non-admin sessions when maintenance starts",
    )
    test_mode_simulation: bool = _setting(
        True, "TEST_MODE_SIMULATION", env.boolean, checks.is_bool,
        "test mode records what it would have blocked",
    )
    test_mode_logging_level: str = _setting(
        "INFO", "TEST_MODE_LOGGING_LEVEL", env.level, checks.one_of(*_LEVELS),
        "log level of test mode's would-be-blocked lines (DEBUG … CRITICAL)",
    )
    notifications_enabled: bool = _setting(
        False, "MAINTENANCE_NOTIFICATIONS_ENABLED", env.boolean, checks.is_bool,
        "send notifications (webhook, e-mail) on maintenance changes",
    )
    email_alerts: bool = _setting(
        False, "MAINTENANCE_EMAIL_ALERTS", env.boolean, checks.is_bool,
        "send e-mail alerts (needs MAINTENANCE_SMTP_HOST and MAINTENANCE_ALERT_EMAILS)",
    )
    webhook_url: str | None = _setting(
        None, "MAINTENANCE_WEBHOOK_URL", env.text, checks.webhook_url,
        "http(s) URL that receives a signed JSON POST", secret=True,
    )
    store_url: str = _setting(
        "memory://", "MAINTENANCE_STORE_URL", env.text, checks.store_url,
        "where the shared state lives: memory://, redis://…, sqlite:///…, postgresql+psycopg://…",
        secret=True,
    )
    admin_tokens: str | tuple[str, ...] = _setting(
        "", "MAINTENANCE_ADMIN_TOKENS", env.text, checks.admin_tokens,
        "bearer tokens of the control API, comma-separated: [name:]token or [name:]sha256:<hex>",
        secret=True,
    )
    force_mode: str | None = _setting(
        None, "MAINTENANCE_FORCE_MODE", env.choice, checks.one_of(*FORCE_MODES, optional=True),
        "break-glass override of this instance: normal, emergency or off (beats the store)",
    )

    # -- notifications
    webhook_secret: str | None = _setting(
        None, "MAINTENANCE_WEBHOOK_SECRET", env.text, checks.optional_text("text"),
        "HMAC key of the webhook signature", secret=True,
    )
    smtp_host: str | None = _setting(
        None, "MAINTENANCE_SMTP_HOST", env.text, checks.optional_text("a host name", spaces=False),
        "SMTP server for e-mail alerts",
    )
    smtp_port: int = _setting(
        25, "MAINTENANCE_SMTP_PORT", env.integer, checks.whole_between(1, 65535, "port number"),
        "SMTP port (465: implicit TLS)",
    )
    smtp_username: str | None = _setting(
        None, "MAINTENANCE_SMTP_USERNAME", env.text, checks.optional_text("text"), "SMTP login",
    )
    smtp_password: str | None = _setting(
        None, "MAINTENANCE_SMTP_PASSWORD", env.text, checks.optional_text("text"),
        "SMTP password", secret=True,
    )
    smtp_sender: str | None = _setting(
        None, "MAINTENANCE_SMTP_FROM", env.text, checks.sender, "sender address of e-mail alerts",
    )
    smtp_starttls: bool = _setting(
        False, "MAINTENANCE_SMTP_STARTTLS", env.boolean, checks.is_bool,
        "upgrade the SMTP connection with STARTTLS",
    )
    alert_recipients: tuple[str, ...] = _setting(
        (), "MAINTENANCE_ALERT_EMAILS", env.items, checks.emails,
        "recipients of e-mail alerts, comma-separated", many=True,
    )

    # -- who counts as an admin
    bypass_cookie_secret: str | bytes | None = _setting(
        None, "MAINTENANCE_BYPASS_SECRET", env.text, checks.secret,
        "HMAC key of the admin bypass cookie (at least 16 bytes; the same on every worker)",
        secret=True,
    )
    bypass_cookie_lifetime: float = _setting(
        8 * 3600.0, "MAINTENANCE_BYPASS_COOKIE_LIFETIME", env.seconds,
        checks.between(60, _THIRTY_DAYS), "seconds a bypass cookie stays valid",
    )
    allowed_ips: tuple[str, ...] = _setting(
        (), "MAINTENANCE_ALLOWED_IPS", env.items, checks.networks,
        "addresses or networks treated as admins", many=True,
    )
    trusted_proxies: tuple[str, ...] = _setting(
        (), "MAINTENANCE_TRUSTED_PROXIES", env.items, checks.networks,
        "proxies whose X-Forwarded-For / X-Forwarded-Proto are believed", many=True,
    )
    resolver_timeout: float = _setting(
        2.0, "MAINTENANCE_RESOLVER_TIMEOUT", env.seconds, checks.between(0.01, 60),
        "seconds the application's is_admin resolver may take before it counts as not admin",
    )
    resolver_headers: tuple[str, ...] = _setting(
        (), "MAINTENANCE_RESOLVER_HEADERS", env.items, checks.header_names,
        "request headers the is_admin resolver reads (cookie, authorization): a request with "
        "none of them is not asked about, so a flood of them is answered from memory",
        many=True,
    )

    # -- the store and its outages
    on_store_error: str = _setting(
        "last_known", "MAINTENANCE_ON_STORE_ERROR", env.choice,
        checks.one_of(*STORE_ERROR_POLICIES), "while the store fails: last_known, open or closed",
    )
    refresh_interval: float = _setting(
        1.0, "MAINTENANCE_REFRESH_INTERVAL", env.seconds, checks.between(0.01, 3600),
        "seconds between snapshot refreshes from the store (0.01 to 3600)",
    )

    # -- the HTTP surface
    prefix: str = _setting(
        "/api/maintenance", "MAINTENANCE_API_PREFIX", env.text, checks.url_path,
        "path prefix of the control API",
    )
    health_path: str = _setting(
        "/api/health/maintenance", "MAINTENANCE_HEALTH_PATH", env.text, checks.url_path,
        "path of maintguard's own health endpoint",
    )
    cors_origins: tuple[str, ...] = _setting(
        (), "MAINTENANCE_CORS_ORIGINS", env.items, checks.origins,
        "origins whose 503 answers carry Access-Control-Allow-Origin (or *)", many=True,
    )
    debug_headers: bool = _setting(
        False, "MAINTENANCE_DEBUG_HEADERS", env.boolean, checks.is_bool,
        "add X-Maintenance-Operation to answers (explains classification; not for production)",
    )
    exempt_paths: tuple[str, ...] = _setting(
        (), "MAINTENANCE_EXEMPT_PATHS", env.items, checks.path_prefixes,
        "path prefixes (whole segments) never blocked for GET/HEAD/OPTIONS, comma-separated; "
        "added to the built-in exemptions", many=True,
    )
    max_body: int = _setting(
        64 * 1024, "MAINTENANCE_MAX_BODY", env.integer,
        checks.whole_between(64, 16 * 1024 * 1024, "number of bytes"),
        "largest control API request body, bytes (larger: 413)",
    )
    event_stream_duration: float = _setting(
        25.0, "MAINTENANCE_EVENT_STREAM_DURATION", env.seconds, checks.between(5, 86400),
        "seconds an events stream (SSE, WebSocket) stays open before the client reconnects "
        "with Last-Event-ID, so a sync worker is never held for ever (5 to 86400)",
    )
    event_stream_limit: int = _setting(
        64, "MAINTENANCE_EVENT_STREAM_LIMIT", env.integer,
        checks.whole_between(0, 100_000, "number of streams"),
        "events streams without a token one process holds open at once; more answer 503 "
        "(clients poll instead); streams with a token are not limited",
    )
    event_heartbeat: float = _setting(
        15.0, "MAINTENANCE_EVENT_HEARTBEAT", env.seconds, checks.between(1, 300),
        "seconds of silence after which an events stream sends a heartbeat (1 to 300)",
    )

    # -- what operators and the public see
    public_status: str = _setting(
        "full", "MAINTENANCE_PUBLIC_STATUS", env.choice, checks.one_of("full", "minimal"),
        "what anonymous callers of GET {prefix}/status see: full, or minimal (is_active, mode, "
        "message, times, blocked operations, upcoming); a valid token always gets full",
    )
    log_file: str | None = _setting(
        None, "MAINTENANCE_LOG_FILE", env.text, checks.log_file,
        "file that receives maintguard's log lines (INFO and up) in the manuals' format, for "
        "apps that configure no logging",
    )
    # fmt: on

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every variable of ``VARIABLES`` (from ``os.environ`` by default).

        An unset or empty variable takes the default; a malformed one is a
        ``ConfigurationError`` naming the variable, never a silent default.
        """
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            variable = field.metadata["env"]
            raw = source.get(variable)
            if raw is not None and raw.strip():
                values[field.name] = field.metadata["read"](raw.strip(), variable)
        with checks.naming_variables():
            return cls(**values)

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any], base: Settings | None = None) -> Settings:
        """Settings from a framework's configuration: a mapping of option
        names to values (``app.config["MAINTGUARD"]``, Django's
        ``settings.MAINTGUARD``), applied over ``base`` (default: the
        defaults). An unknown name is an error, not ignored."""
        return (base or cls()).with_options(**options)

    def with_options(self, **options: Any) -> Settings:
        """A copy with ``options`` changed, checked like the original."""
        unknown = sorted(set(options) - _NAMES)
        if unknown:
            raise ConfigurationError(
                f"unknown option {unknown[0]!r}; the options are the fields of maintguard.Settings"
            )
        return attrs.evolve(self, **options) if options else self

    @property
    def test_mode_log_level(self) -> int:
        return int(logging.getLevelName(self.test_mode_logging_level))


_NAMES = frozenset(field.name for field in attrs.fields(Settings))

#: Every variable: (name, ``Settings`` field, meaning), in field order.
VARIABLES: tuple[tuple[str, str, str], ...] = tuple(
    (field.metadata["env"], field.name, field.metadata["meaning"])
    for field in attrs.fields(Settings)
)
