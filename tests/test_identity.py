"""Admin identity: tokens, bearer parsing, forwarded addresses, bypass cookies."""

from __future__ import annotations

import hashlib
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintguard import ConfigurationError, Settings
from maintguard.core.identity import (
    BypassSigner,
    bearer_token,
    client_address,
    match_token,
    parse_admin_tokens,
    parse_networks,
)

ALICE = "tok1-0123456789abcdef"

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8"], "trusted_proxies")


def test_named_plain_and_hashed_tokens_all_match() -> None:
    """'alice:tok1,deploy-bot:sha256:<hex>,plain' gives three usable tokens."""
    digest = hashlib.sha256(b"bot-token").hexdigest()
    tokens = parse_admin_tokens(f"alice:{ALICE},deploy-bot:sha256:{digest},plain-0123456789abcdef")
    assert ["alice", "deploy-bot", None] == [t.name for t in tokens]
    assert "deploy-bot" == match_token(tokens, b"bot-token").label  # type: ignore[union-attr]
    assert "alice" == match_token(tokens, ALICE.encode()).label  # type: ignore[union-attr]
    assert match_token(tokens, b"plain-0123456789abcdef") is not None


def test_unnamed_hashed_token_matches() -> None:
    """A bare sha256:<hex> entry is a token without a name."""
    digest = hashlib.sha256(b"t0ken").hexdigest()
    (token,) = parse_admin_tokens(f"sha256:{digest}")
    assert token is match_token((token,), b"t0ken")


def test_empty_or_wrong_tokens_never_match() -> None:
    """An empty presented token and a near miss both fail."""
    tokens = parse_admin_tokens(f"alice:{ALICE}")
    assert (None, None, None) == (
        match_token(tokens, b""),
        match_token(tokens, None),
        match_token(tokens, ALICE[:-1].encode()),
    )


def test_an_unset_token_variable_configures_no_tokens() -> None:
    """MAINTENANCE_ADMIN_TOKENS='' means no token, not a token equal to ''."""
    assert () == parse_admin_tokens("")


@pytest.mark.parametrize(
    "value", ["a,,b", "alice:", "bad name:tok", "sha256:abc", "x:sha256:" + "g" * 64]
)
def test_malformed_token_settings_fail_at_startup(value: str) -> None:
    """Empty entries, bad names and bad digests are configuration errors."""
    with pytest.raises(ConfigurationError, match="admin_tokens"):
        parse_admin_tokens(value)


def test_token_configuration_error_never_echoes_the_token() -> None:
    """The error names the entry's position, not its secret."""
    with pytest.raises(ConfigurationError) as raised:
        parse_admin_tokens("good-token,bad name:sup3r-secret")
    assert "sup3r-secret" not in str(raised.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer abc.DEF-123_~+/=", b"abc.DEF-123_~+/="),
        ("bearer abc", b"abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearer a b", None),
        ("Bearer  a", None),
        ("Bearer a, Bearer b", None),
        ("Bearer tök", None),
        (None, None),
    ],
)
def test_bearer_parsing(header: str | None, expected: bytes | None) -> None:
    """Only 'Bearer <one token68>' yields a token."""
    assert expected == bearer_token(header)


@given(st.text())
def test_bearer_parsing_never_raises(header: str) -> None:
    """Any Authorization value parses to a token or None."""
    result = bearer_token(header)
    assert result is None or isinstance(result, bytes)


def test_direct_client_address_ignores_forwarded_for() -> None:
    """An untrusted peer's X-Forwarded-For is not read."""
    assert ipaddress.ip_address("203.0.113.5") == client_address("203.0.113.5", "10.1.1.1", PROXIES)


def test_right_most_untrusted_hop_is_the_client() -> None:
    """Behind trusted proxies the walk stops at the first untrusted hop from the right."""
    assert ipaddress.ip_address("198.51.100.7") == client_address(
        "127.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.2", PROXIES
    )


def test_junk_hop_yields_no_address() -> None:
    """A hop that is not an address stops the walk: never a match."""
    assert client_address("127.0.0.1", "1.2.3.4, garbage", PROXIES) is None


@given(st.text(max_size=200), st.text(max_size=200))
def test_client_address_never_raises(peer: str, forwarded: str) -> None:
    """Any peer and header give an address or None."""
    client_address(peer, forwarded, PROXIES)


def test_bad_network_setting_is_a_startup_error() -> None:
    """A junk allowlist entry fails at construction, naming the setting."""
    with pytest.raises(ConfigurationError, match="allowed_ips"):
        parse_networks(["10.0.0.0/8", "localhost"], "allowed_ips")


def test_bypass_cookie_round_trip_and_binding() -> None:
    """A signed cookie verifies for its maintenance only, until it expires."""
    signer = BypassSigner("0123456789abcdef-secret")
    cookie = signer.sign("2026-11-27T08:00:00+00:00", expires_at=2_000_000_000)
    assert signer.verify(cookie, "2026-11-27T08:00:00+00:00", now=1_900_000_000)
    assert not signer.verify(cookie, "2026-11-27T09:00:00+00:00", now=1_900_000_000)
    assert not signer.verify(cookie, "2026-11-27T08:00:00+00:00", now=2_000_000_001)


def test_bypass_cookie_from_another_secret_fails() -> None:
    """Another deployment's cookie is not admin here."""
    cookie = BypassSigner("another-secret-0123456").sign("b", 2_000_000_000)
    assert not BypassSigner("0123456789abcdef-secret").verify(cookie, "b", now=0)


@given(st.text(max_size=600))
def test_bypass_cookie_verification_never_raises(cookie: str) -> None:
    """Garbage of any shape is simply not a valid cookie."""
    assert not BypassSigner("0123456789abcdef-secret").verify(cookie, "b", now=0)


def test_short_bypass_secret_is_a_startup_error() -> None:
    """A guessable secret is refused."""
    with pytest.raises(ConfigurationError, match="bypass_cookie_secret"):
        BypassSigner("short")


def test_a_token_with_spaces_or_a_comment_is_a_startup_error() -> None:
    """'tok1  # two admins' could never be presented as a bearer token."""
    with pytest.raises(ConfigurationError, match="bearer token cannot carry"):
        parse_admin_tokens("alice:tok1  # two admins")


@pytest.mark.parametrize("entry", ["tok1", "alice:short-token-15"])
def test_a_plain_token_under_16_characters_is_refused(entry: str) -> None:
    """A short token is guessable: refused at start-up, naming the setting
    and the entry, never repeating the token."""
    with pytest.raises(
        ConfigurationError, match=r"^MAINTENANCE_ADMIN_TOKENS: entry 1 is shorter"
    ) as info:
        Settings.from_env({"MAINTENANCE_ADMIN_TOKENS": entry})
    assert entry.split(":")[-1] not in str(info.value)


def test_a_16_character_token_is_accepted() -> None:
    """Sixteen characters is the floor, not above it."""
    (token,) = parse_admin_tokens("0123456789abcdef")
    assert token is match_token((token,), b"0123456789abcdef")
