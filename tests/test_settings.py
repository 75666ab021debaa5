"""Settings from the environment (DESIGN.md, "Environment").

Every variable is read with its meaning; a malformed value is a
``ConfigurationError`` naming the variable; ``MaintenanceService.from_env()``
acts on what was read.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from werkzeug.test import Client

from maintguard import ConfigurationError, MaintenanceService, RequestInfo, Settings
from maintguard.config import VARIABLES
from maintguard.core.decision import Action
from maintguard.jobs import CallableJobTerminator
from maintguard.sessions import CallableSessionInvalidator
from maintguard.stores import MemoryStore
from maintguard.wsgi import MaintenanceMiddleware

DIGEST = hashlib.sha256(b"tok2").hexdigest()


def read(**env: str) -> Settings:
    return Settings.from_env(env)


# ------------------------------------------------------------------- the table


def test_every_field_has_exactly_one_variable() -> None:
    """VARIABLES documents each Settings field once, with a meaning."""
    fields = sorted(field.name for field in attrs.fields(Settings))
    documented = sorted(field for _, field, meaning in VARIABLES if meaning)
    assert fields == documented


def test_unset_environment_gives_the_defaults() -> None:
    """No variable set: every field has its default."""
    assert Settings() == Settings.from_env({})


def test_empty_values_give_the_defaults() -> None:
    """`VAR=` (as compose files write it) means unset, not false or zero."""
    assert Settings() == Settings.from_env({name: "" for name, _, _ in VARIABLES})


# ---------------------------------------------------------- well-formed values

GOOD = [
    ("MAINTENANCE_MODE_ENABLED", "false", "maintenance_mode_enabled", False),
    ("MAINTENANCE_MODE_ENABLED", "TRUE", "maintenance_mode_enabled", True),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "7200  # 2 hours default", "default_timeout", 7200.0),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "90.5", "default_timeout", 90.5),
    ("MAINTENANCE_CLEANUP_INTERVAL", "300  # 5 minutes", "cleanup_interval", 300.0),
    ("EMERGENCY_MODE_JOB_GRACE_PERIOD", "30  # 30 seconds", "job_grace_period", 30.0),
    ("EMERGENCY_MODE_JOB_GRACE_PERIOD", "0", "job_grace_period", 0.0),
    ("EMERGENCY_MODE_SESSION_CLEANUP", "false", "session_cleanup", False),
    ("TEST_MODE_SIMULATION", "no", "test_mode_simulation", False),
    ("TEST_MODE_LOGGING_LEVEL", "debug", "test_mode_logging_level", "DEBUG"),
    ("MAINTENANCE_NOTIFICATIONS_ENABLED", "true", "notifications_enabled", True),
    ("MAINTENANCE_EMAIL_ALERTS", "on", "email_alerts", True),
    (
        "MAINTENANCE_WEBHOOK_URL",
        "https://hooks.example/abc",
        "webhook_url",
        "https://hooks.example/abc",
    ),
    ("MAINTENANCE_STORE_URL", "sqlite:///maint.db", "store_url", "sqlite:///maint.db"),
    (
        "MAINTENANCE_STORE_URL",
        "postgresql+psycopg://u:p@db/x",
        "store_url",
        "postgresql+psycopg://u:p@db/x",
    ),
    (
        "MAINTENANCE_ADMIN_TOKENS",
        f"alice:tok1-0123456789abcdef,deploy-bot:sha256:{DIGEST}",
        "admin_tokens",
        f"alice:tok1-0123456789abcdef,deploy-bot:sha256:{DIGEST}",
    ),
    ("MAINTENANCE_FORCE_MODE", "Emergency", "force_mode", "emergency"),
    ("MAINTENANCE_FORCE_MODE", "off", "force_mode", "off"),
    (
        "MAINTENANCE_WEBHOOK_SECRET",
        "s3cret # not a comment",
        "webhook_secret",
        "s3cret # not a comment",
    ),
    ("MAINTENANCE_SMTP_HOST", "mail.example", "smtp_host", "mail.example"),
    ("MAINTENANCE_SMTP_PORT", "587", "smtp_port", 587),
    ("MAINTENANCE_SMTP_USERNAME", "ops", "smtp_username", "ops"),
    ("MAINTENANCE_SMTP_PASSWORD", "pa ss #word", "smtp_password", "pa ss #word"),
    ("MAINTENANCE_SMTP_FROM", "Ops <ops@example.com>", "smtp_sender", "Ops <ops@example.com>"),
    ("MAINTENANCE_SMTP_STARTTLS", "1", "smtp_starttls", True),
    (
        "MAINTENANCE_ALERT_EMAILS",
        "a@example.com, b@example.com",
        "alert_recipients",
        ("a@example.com", "b@example.com"),
    ),
    ("MAINTENANCE_BYPASS_SECRET", "0123456789abcdef", "bypass_cookie_secret", "0123456789abcdef"),
    (
        "MAINTENANCE_ALLOWED_IPS",
        "10.0.0.0/8, 192.0.2.7",
        "allowed_ips",
        ("10.0.0.0/8", "192.0.2.7"),
    ),
    ("MAINTENANCE_TRUSTED_PROXIES", "127.0.0.1", "trusted_proxies", ("127.0.0.1",)),
    ("MAINTENANCE_ON_STORE_ERROR", "closed", "on_store_error", "closed"),
    ("MAINTENANCE_REFRESH_INTERVAL", "0.25", "refresh_interval", 0.25),
    (
        "MAINTENANCE_CORS_ORIGINS",
        "https://app.example,*",
        "cors_origins",
        ("https://app.example", "*"),
    ),
]


@pytest.mark.parametrize(("variable", "value", "field", "expected"), GOOD)
def test_variable_sets_its_field(variable: str, value: str, field: str, expected: Any) -> None:
    """Each variable, well formed, sets its field."""
    assert expected == getattr(read(**{variable: value}), field)


# ------------------------------------------------------------ malformed values

BAD = [
    ("MAINTENANCE_MODE_ENABLED", "maybe"),
    ("MAINTENANCE_MODE_ENABLED", "true false"),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "2h"),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "0"),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "-60"),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "nan"),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "inf"),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "1e12"),
    ("MAINTENANCE_DEFAULT_TIMEOUT", "7200#2h"),
    ("MAINTENANCE_CLEANUP_INTERVAL", "soon"),
    ("MAINTENANCE_CLEANUP_INTERVAL", "0"),
    ("EMERGENCY_MODE_JOB_GRACE_PERIOD", "thirty"),
    ("EMERGENCY_MODE_JOB_GRACE_PERIOD", "-1"),
    ("EMERGENCY_MODE_SESSION_CLEANUP", "sometimes"),
    ("TEST_MODE_SIMULATION", "2"),
    ("TEST_MODE_LOGGING_LEVEL", "LOUD"),
    ("MAINTENANCE_NOTIFICATIONS_ENABLED", "enabled"),
    ("MAINTENANCE_EMAIL_ALERTS", "y"),
    ("MAINTENANCE_WEBHOOK_URL", "ftp://hooks.example/x"),
    ("MAINTENANCE_WEBHOOK_URL", "hooks.example/x"),
    ("MAINTENANCE_WEBHOOK_URL", "https://hooks.example/x  # prod"),
    ("MAINTENANCE_STORE_URL", "mongodb://db/x"),
    ("MAINTENANCE_STORE_URL", "localhost:6379"),
    ("MAINTENANCE_ADMIN_TOKENS", "alice:"),
    ("MAINTENANCE_ADMIN_TOKENS", "tok1,,tok2"),
    ("MAINTENANCE_ADMIN_TOKENS", "sha256:abc"),
    ("MAINTENANCE_ADMIN_TOKENS", "bad name:tok"),
    ("MAINTENANCE_FORCE_MODE", "panic"),
    ("MAINTENANCE_SMTP_HOST", "mail host"),
    ("MAINTENANCE_SMTP_PORT", "smtp"),
    ("MAINTENANCE_SMTP_PORT", "70000"),
    ("MAINTENANCE_SMTP_FROM", "nobody"),
    ("MAINTENANCE_SMTP_STARTTLS", "tls"),
    ("MAINTENANCE_ALERT_EMAILS", "a@example.com,,b@example.com"),
    ("MAINTENANCE_ALERT_EMAILS", "ops team"),
    ("MAINTENANCE_BYPASS_SECRET", "short"),
    ("MAINTENANCE_ALLOWED_IPS", "10.0.0.300"),
    ("MAINTENANCE_TRUSTED_PROXIES", "proxy.internal"),
    ("MAINTENANCE_ON_STORE_ERROR", "ignore"),
    ("MAINTENANCE_REFRESH_INTERVAL", "0.001"),
    ("MAINTENANCE_REFRESH_INTERVAL", "7200"),
    ("MAINTENANCE_CORS_ORIGINS", "app.example"),
]


@pytest.mark.parametrize(("variable", "value"), BAD)
def test_malformed_value_is_an_error_naming_the_variable(variable: str, value: str) -> None:
    """A malformed value raises ConfigurationError whose message names the variable."""
    with pytest.raises(ConfigurationError) as raised:
        read(**{variable: value})
    assert variable in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value", "secret"),
    [
        ("MAINTENANCE_STORE_URL", "mongodb://u:hunter2pw@db/x", "hunter2pw"),
        ("MAINTENANCE_ADMIN_TOKENS", "alice:tok-hunter2,bob:", "tok-hunter2"),
        ("MAINTENANCE_WEBHOOK_URL", "ftp://hooks.example/T0K3N-hunter2", "T0K3N-hunter2"),
        ("MAINTENANCE_BYPASS_SECRET", "hunter2", "hunter2"),
    ],
)
def test_error_never_echoes_a_secret(variable: str, value: str, secret: str) -> None:
    """Messages about secret-bearing variables do not repeat the secret."""
    with pytest.raises(ConfigurationError) as raised:
        read(**{variable: value})
    assert secret not in str(raised.value)


# ------------------------------------------------------------ from_env() uses them


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment: no maintguard variable set."""
    for name, _, _ in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def services() -> Iterator[list[MaintenanceService]]:
    """Services a test builds, closed afterwards."""
    built: list[MaintenanceService] = []
    yield built
    for service in built:
        service.close()


def from_env(services: list[MaintenanceService], **overrides: Any) -> MaintenanceService:
    service = MaintenanceService.from_env(**overrides)
    services.append(service)
    return service


def caption(client: str | None = None) -> RequestInfo:
    return RequestInfo(method="POST", path="/start_caption_generation", client=client)


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def test_force_mode_emergency_blocks_a_fresh_service_without_a_store_change(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_FORCE_MODE=emergency blocks reads and writes; the store stays off."""
    env.setenv("MAINTENANCE_FORCE_MODE", "emergency")
    service = from_env(services)
    actions = [
        service.decide(RequestInfo(method=m, path=p)).action
        for m, p in (("GET", "/"), ("POST", "/start_caption_generation"))
    ]
    assert ([Action.BLOCK, Action.BLOCK], False, 0) == (
        actions,
        service.store.load().active,
        service.store.load().version,
    )


def test_force_mode_off_beats_maintenance_in_the_store(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_FORCE_MODE=off lets this instance serve while the store says on."""
    store = MemoryStore()
    from_env(services, store=store).enable_maintenance("on in the store")
    env.setenv("MAINTENANCE_FORCE_MODE", "off")
    assert Action.ALLOW == from_env(services, store=store).decide(caption()).action


def test_feature_switch_off_passes_everything_through(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_MODE_ENABLED=false: the middleware serves even during maintenance."""
    env.setenv("MAINTENANCE_MODE_ENABLED", "false")
    service = from_env(services)
    service.enable_emergency("on", background=False)
    response = Client(MaintenanceMiddleware(_app, service)).post("/start_caption_generation")
    assert (200, Action.ALLOW) == (response.status_code, service.decide(caption()).action)


def test_feature_switch_on_never_switches_maintenance_on(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_MODE_ENABLED=true enables the feature, not a maintenance."""
    env.setenv("MAINTENANCE_MODE_ENABLED", "true")
    service = from_env(services)
    assert (False, Action.ALLOW) == (
        service.get_maintenance_status().is_active,
        service.decide(caption()).action,
    )


def test_default_timeout_is_the_estimated_duration(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_DEFAULT_TIMEOUT is the estimate of an enable without duration."""
    env.setenv("MAINTENANCE_DEFAULT_TIMEOUT", "900  # 15 minutes")
    status = from_env(services).enable_maintenance("upgrade")
    assert 900.0 == status.estimated_duration


def test_cleanup_interval_reaches_the_service(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_CLEANUP_INTERVAL sets the service's housekeeping interval."""
    env.setenv("MAINTENANCE_CLEANUP_INTERVAL", "45")
    assert 45.0 == from_env(services).settings.cleanup_interval


def test_job_grace_period_is_given_to_the_job_terminator(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """EMERGENCY_MODE_JOB_GRACE_PERIOD is the grace of an emergency without one."""
    env.setenv("EMERGENCY_MODE_JOB_GRACE_PERIOD", "7")
    graces: list[float] = []
    terminator = CallableJobTerminator(
        count=lambda: 0, terminate=lambda grace: graces.append(grace) or 0
    )
    from_env(services, job_terminator=terminator).enable_emergency("fire", background=False)
    assert [7.0] == graces


@pytest.mark.parametrize(("value", "calls"), [("true", 1), ("false", 0)])
def test_session_cleanup_switches_session_invalidation(
    env: pytest.MonkeyPatch, services: list[MaintenanceService], value: str, calls: int
) -> None:
    """EMERGENCY_MODE_SESSION_CLEANUP decides whether sessions are ended."""
    env.setenv("EMERGENCY_MODE_SESSION_CLEANUP", value)
    called: list[bool] = []
    invalidator = CallableSessionInvalidator(lambda keep_admins: called.append(keep_admins) or 0)
    from_env(services, session_invalidator=invalidator).enable_emergency("fire", background=False)
    assert calls == len(called)


@pytest.mark.parametrize(("value", "recorded"), [("true", 1), ("false", 0)])
def test_test_mode_simulation_switches_recording(
    env: pytest.MonkeyPatch, services: list[MaintenanceService], value: str, recorded: int
) -> None:
    """TEST_MODE_SIMULATION=false: test mode records nothing it would block."""
    env.setenv("TEST_MODE_SIMULATION", value)
    service = from_env(services)
    service.enable_maintenance("rehearsal", mode="test")
    service.record(caption(), service.decide(caption()))
    assert recorded == service.attempt_counts().simulated.get("CAPTION_GENERATION", 0)


def test_test_mode_logging_level_is_the_level_of_would_be_blocked_lines(
    env: pytest.MonkeyPatch, services: list[MaintenanceService], caplog: pytest.LogCaptureFixture
) -> None:
    """TEST_MODE_LOGGING_LEVEL sets the level of test mode's lines."""
    env.setenv("TEST_MODE_LOGGING_LEVEL", "WARNING")
    service = from_env(services)
    service.enable_maintenance("rehearsal", mode="test")
    caplog.set_level(logging.DEBUG, logger="maintguard")
    service.record(caption(), service.decide(caption()))
    levels = [r.levelname for r in caplog.records if "would be blocked" in r.getMessage()]
    assert ["WARNING"] == levels


def test_notifications_enabled_with_a_webhook_adds_a_notifier(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_NOTIFICATIONS_ENABLED and MAINTENANCE_WEBHOOK_URL add a webhook."""
    env.setenv("MAINTENANCE_NOTIFICATIONS_ENABLED", "true")
    env.setenv("MAINTENANCE_WEBHOOK_URL", "https://hooks.example/maint")
    listeners = from_env(services).events.listeners
    assert ["WebhookNotifier"] == [type(listener).__name__ for listener in listeners]


def test_notifications_disabled_adds_no_notifier(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """Without MAINTENANCE_NOTIFICATIONS_ENABLED a webhook URL sends nothing."""
    env.setenv("MAINTENANCE_WEBHOOK_URL", "https://hooks.example/maint")
    assert () == from_env(services).events.listeners


def test_email_alerts_need_an_smtp_host(env: pytest.MonkeyPatch) -> None:
    """MAINTENANCE_EMAIL_ALERTS without a host is a start-up error naming it."""
    env.setenv("MAINTENANCE_NOTIFICATIONS_ENABLED", "true")
    env.setenv("MAINTENANCE_EMAIL_ALERTS", "true")
    with pytest.raises(ConfigurationError, match="MAINTENANCE_SMTP_HOST"):
        MaintenanceService.from_env()


def test_email_alerts_add_an_email_notifier(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_EMAIL_ALERTS with a host and recipients adds e-mail."""
    env.setenv("MAINTENANCE_NOTIFICATIONS_ENABLED", "true")
    env.setenv("MAINTENANCE_EMAIL_ALERTS", "true")
    env.setenv("MAINTENANCE_SMTP_HOST", "mail.example")
    env.setenv("MAINTENANCE_ALERT_EMAILS", "ops@example.com")
    listeners = from_env(services).events.listeners
    assert ["EmailNotifier"] == [type(listener).__name__ for listener in listeners]


def test_store_url_chooses_the_store(
    env: pytest.MonkeyPatch, services: list[MaintenanceService], tmp_path: Any
) -> None:
    """MAINTENANCE_STORE_URL builds the store it names."""
    env.setenv("MAINTENANCE_STORE_URL", f"sqlite:///{tmp_path / 'maint.db'}")
    assert "sqlite" == from_env(services).store.name


def test_admin_tokens_authorise(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_ADMIN_TOKENS: a listed token makes a blocked request an admin's."""
    env.setenv(
        "MAINTENANCE_ADMIN_TOKENS", f"alice:tok1-0123456789abcdef,deploy-bot:sha256:{DIGEST}"
    )
    service = from_env(services)
    service.enable_maintenance("on")
    admins = [
        service.decide(
            RequestInfo("POST", "/start_caption_generation", {"authorization": f"Bearer {t}"})
        ).admin
        for t in ("tok1-0123456789abcdef", "tok2", "nope")
    ]
    assert ["alice", "deploy-bot", None] == admins


def test_allowed_ips_and_trusted_proxies_make_admins(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_ALLOWED_IPS, read through MAINTENANCE_TRUSTED_PROXIES."""
    env.setenv("MAINTENANCE_ALLOWED_IPS", "192.0.2.0/24")
    env.setenv("MAINTENANCE_TRUSTED_PROXIES", "10.0.0.1")
    service = from_env(services)
    service.enable_maintenance("on")
    forwarded = RequestInfo(
        "POST", "/start_caption_generation", {"x-forwarded-for": "192.0.2.9"}, client="10.0.0.1"
    )
    untrusted = attrs.evolve(forwarded, client="10.0.0.2")
    assert ["ip:192.0.2.9", None] == [service.decide(r).admin for r in (forwarded, untrusted)]


def test_bypass_secret_enables_the_bypass_cookie(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_BYPASS_SECRET turns the bypass cookie on."""
    env.setenv("MAINTENANCE_BYPASS_SECRET", "0123456789abcdef0123")
    assert True is (from_env(services).bypass.signer is not None)


def test_on_store_error_and_refresh_interval_reach_the_snapshot(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_ON_STORE_ERROR and MAINTENANCE_REFRESH_INTERVAL configure the snapshot."""
    env.setenv("MAINTENANCE_ON_STORE_ERROR", "closed")
    env.setenv("MAINTENANCE_REFRESH_INTERVAL", "0.5")
    snapshot = from_env(services).snapshot
    assert ("closed", 0.5) == (snapshot.on_store_error, snapshot.refresh_interval)


def test_cors_origins_reach_blocked_answers(
    env: pytest.MonkeyPatch, services: list[MaintenanceService]
) -> None:
    """MAINTENANCE_CORS_ORIGINS: a matching origin gets Access-Control-Allow-Origin."""
    env.setenv("MAINTENANCE_CORS_ORIGINS", "https://app.example")
    service = from_env(services)
    assert [("Access-Control-Allow-Origin", "https://app.example"), ("Vary", "Origin")] == (
        service.answers.cors_headers("https://app.example")
    )


def test_from_env_fails_on_a_malformed_variable(env: pytest.MonkeyPatch) -> None:
    """A malformed variable stops MaintenanceService.from_env() at start-up."""
    env.setenv("MAINTENANCE_DEFAULT_TIMEOUT", "2h")
    with pytest.raises(ConfigurationError, match="MAINTENANCE_DEFAULT_TIMEOUT"):
        MaintenanceService.from_env()
