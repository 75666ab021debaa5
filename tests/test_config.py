"""One configuration object: ``Settings`` holds every option, checked once.

Keywords, the environment and a framework's mapping all build the same frozen
``Settings``; the service reads only it. The same rule judges a value from
any source, and the message names the setting as the user wrote it.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintguard import ConfigurationError, MaintenanceService, Settings
from maintguard.config import VARIABLES

VARIABLE_OF = {field: variable for variable, field, _ in VARIABLES}


@pytest.fixture
def services() -> Any:
    made: list[MaintenanceService] = []
    yield made
    for service in made:
        service.close()


def test_keywords_land_in_the_one_settings_object(services: list[MaintenanceService]) -> None:
    """MaintenanceService(..., option=value) is Settings(option=value) for the service."""
    service = MaintenanceService(default_timeout=600, prefix="/ops/maintenance", max_body=4096)
    services.append(service)
    assert (600, "/ops/maintenance", 4096) == (
        service.settings.default_timeout,
        service.settings.prefix,
        service.settings.max_body,
    )


def test_keywords_apply_over_given_settings(services: list[MaintenanceService]) -> None:
    """A keyword overrides one field of ``settings=``; the others stay."""
    base = Settings(default_timeout=600, debug_headers=True)
    service = MaintenanceService(settings=base, default_timeout=60)
    services.append(service)
    assert (60, True) == (service.settings.default_timeout, service.settings.debug_headers)


def test_given_settings_are_used_as_they_are(services: list[MaintenanceService]) -> None:
    """Without keywords the service keeps the very object it was given."""
    base = Settings(cleanup_interval=60)
    service = MaintenanceService(settings=base)
    services.append(service)
    assert base is service.settings


def test_an_unknown_option_is_an_error_naming_it() -> None:
    """A typo in an option name fails at start-up instead of being ignored."""
    with pytest.raises(ConfigurationError, match="'refresh_intervall'"):
        MaintenanceService(refresh_intervall=0.5)


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("refresh_interval", 0.001),
        ("default_timeout", 0),
        ("on_store_error", "ignore"),
        ("force_mode", "maybe"),
        ("prefix", "api/maintenance"),
        ("health_path", "/health/"),
        ("max_body", 10),
        ("smtp_port", 70000),
        ("debug_headers", "maybe"),
        ("bypass_cookie_secret", "short"),
        ("cors_origins", ["app.example"]),
    ],
)
def test_one_rule_for_every_source_naming_the_setting(field: str, bad: object) -> None:
    """The same bad value fails from keywords (naming the option) and from
    the environment (naming the variable)."""
    with pytest.raises(ConfigurationError) as from_keywords:
        Settings(**{field: bad})
    assert field in str(from_keywords.value)

    text = ",".join(bad) if isinstance(bad, list) else str(bad)
    variable = VARIABLE_OF[field]
    with pytest.raises(ConfigurationError) as from_env:
        Settings.from_env({variable: text})
    assert variable in str(from_env.value)


def test_lists_are_read_from_a_string_or_any_iterable() -> None:
    """allowed_ips="a, b" and allowed_ips=["a", "b"] are the same setting."""
    assert Settings(allowed_ips="10.0.0.0/8, 192.0.2.7") == Settings(
        allowed_ips=["10.0.0.0/8", "192.0.2.7"]
    )
    assert ("10.0.0.0/8", "192.0.2.7") == Settings(
        allowed_ips=["10.0.0.0/8", "192.0.2.7"]
    ).allowed_ips


def test_from_mapping_reads_a_framework_configuration() -> None:
    """Settings.from_mapping takes option names, as app.config["MAINTGUARD"] holds them."""
    settings = Settings.from_mapping({"default_timeout": 900, "trusted_proxies": ["127.0.0.1"]})
    assert (900, ("127.0.0.1",)) == (settings.default_timeout, settings.trusted_proxies)


def test_from_mapping_refuses_an_unknown_name() -> None:
    with pytest.raises(ConfigurationError, match="'MAINTENANCE_DEFAULT_TIMEOUT'"):
        Settings.from_mapping({"MAINTENANCE_DEFAULT_TIMEOUT": 900})


def test_settings_are_frozen() -> None:
    """Nothing changes an option behind the service's back."""
    settings = Settings()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        settings.max_body = 1  # type: ignore[misc]


def test_secrets_stay_out_of_the_repr() -> None:
    settings = Settings(
        admin_tokens="alice:tok-hunter2-0123456789",
        smtp_password="hunter2pw",
        store_url="redis://:hunter3@cache:6379/0",
    )
    shown = repr(settings)
    assert "hunter" not in shown


@given(
    variable=st.sampled_from([variable for variable, _, _ in VARIABLES]),
    text=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
)
def test_any_environment_text_gives_settings_or_an_error_naming_the_variable(
    variable: str, text: str
) -> None:
    """Whatever an operator types, start-up either succeeds or fails with a
    ConfigurationError naming the variable: never another exception."""
    try:
        Settings.from_env({variable: text})
    except ConfigurationError as exc:
        message = str(exc)
    else:
        return
    assert variable in message
