"""Who counts as an admin: bearer tokens, bypass cookies, IP allowlists.

All of this is attack surface. Tokens are compared in constant time on
bytes (as SHA-256 digests, so every comparison has the same length); an
empty token never matches; forwarded headers are read only from trusted
proxies; a malformed value of any kind means "not admin", never an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import time
from collections.abc import Iterable, Sequence

import attrs

from maintguard.exceptions import ConfigurationError

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
#: RFC 6750 token68 characters; anything else is not a bearer token.
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

#: A plain token shorter than this is guessable offline or online: refused.
MIN_TOKEN_LENGTH = 16

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@attrs.frozen
class AdminToken:
    """One configured token, kept only as its SHA-256 digest."""

    digest: bytes = attrs.field(repr=False)
    name: str | None = None

    @property
    def label(self) -> str:
        # An unnamed token is "admin": no part of its hash ever reaches the
        # audit or the public status, where it would help confirm a guess.
        return self.name or "admin"


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


def parse_admin_tokens(
    value: str | Iterable[str], setting: str = "admin_tokens"
) -> tuple[AdminToken, ...]:
    """Parse ``"alice:tok1,deploy-bot:sha256:ab12…,plaintok"``.

    Each entry is ``[name:]token`` or ``[name:]sha256:<64 hex>``. Empty
    entries are an error rather than a token that might match "".
    """
    entries = [e.strip() for e in value.split(",")] if isinstance(value, str) else list(value)
    tokens: list[AdminToken] = []
    for position, entry in enumerate(entries, 1):
        if not entry:
            if isinstance(value, str) and not value.strip():
                continue  # an unset variable: no tokens
            raise ConfigurationError(f"{setting}: entry {position} is empty")
        name: str | None = None
        secret = entry
        if not entry.startswith("sha256:") and ":" in entry:
            name, secret = entry.split(":", 1)
            if not _NAME.fullmatch(name):
                raise ConfigurationError(
                    f"{setting}: entry {position} has an invalid name (letters, digits, _.@-)"
                )
        if secret.startswith("sha256:"):
            hexdigest = secret[len("sha256:") :]
            if not _HEX64.fullmatch(hexdigest):
                raise ConfigurationError(
                    f"{setting}: entry {position} is not sha256: followed by 64 hex digits"
                )
            tokens.append(AdminToken(bytes.fromhex(hexdigest), name))
        elif not secret:
            raise ConfigurationError(f"{setting}: entry {position} has an empty token")
        elif not _TOKEN68.fullmatch(secret):
            # A bearer header can only carry these characters: such a token
            # (say, with a trailing "# comment") could never match.
            raise ConfigurationError(
                f"{setting}: entry {position} has characters a bearer token cannot carry "
                "(letters, digits and -._~+/ only; no spaces or comments)"
            )
        elif len(secret) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"{setting}: entry {position} is shorter than {MIN_TOKEN_LENGTH} characters; "
                "use a long random token (python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))') or its sha256: digest"
            )
        else:
            tokens.append(AdminToken(_digest(secret.encode("utf-8")), name))
    return tuple(tokens)


def bearer_token(authorization: str | None) -> bytes | None:
    """The token of ``Authorization: Bearer <token>``, or ``None``.

    Any other scheme (``Basic``), an empty or doubled token, or a header
    repeated (joined by a comma) gives ``None``.
    """
    if not authorization:
        return None
    parts = authorization.split(" ")
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    token = parts[1]
    if not token or not _TOKEN68.fullmatch(token):
        return None
    return token.encode("ascii")


def match_token(tokens: Sequence[AdminToken], presented: bytes | None) -> AdminToken | None:
    """The configured token equal to ``presented``, compared in constant time.

    Every configured token is compared (no early exit) so timing says
    nothing about which, or how many, there are.
    """
    if not presented or not tokens:
        return None
    digest = _digest(presented)
    found: AdminToken | None = None
    for token in tokens:
        if hmac.compare_digest(token.digest, digest):
            found = token
    return found


def parse_networks(values: Iterable[str], setting: str) -> tuple[IPNetwork, ...]:
    """Parse addresses and CIDR blocks; a bad entry is a start-up error."""
    networks: list[IPNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{setting}: {value!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _address(value: str) -> IPAddress | None:
    text = value.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _inside(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted_proxies: Sequence[IPNetwork]
) -> IPAddress | None:
    """The client's address: the right-most hop not in ``trusted_proxies``.

    ``X-Forwarded-For`` is read only when the peer itself is a trusted
    proxy; a junk hop stops the walk and yields ``None`` (never matches).
    """
    address = _address(peer) if peer else None
    if address is None:
        return None
    if not forwarded_for or not _inside(address, trusted_proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _address(hop)
        if hop_address is None:
            return None
        if not _inside(hop_address, trusted_proxies):
            return hop_address
    return hop_address


def ip_allowed(address: IPAddress | None, allowed: Sequence[IPNetwork]) -> bool:
    return address is not None and bool(allowed) and _inside(address, allowed)


class BypassSigner:
    """Signs and checks the bypass cookie: ``<expiry>.<binding>.<mac>``.

    ``binding`` ties the cookie to one maintenance (its start time), so it
    dies when that maintenance ends. The secret is required: a per-process
    random default would fail on every other worker.
    """

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ConfigurationError("bypass_cookie_secret must be at least 16 bytes long")
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, b"maintguard-bypass|" + payload, hashlib.sha256).digest()

    def sign(self, binding: str, expires_at: float) -> str:
        payload = f"{int(expires_at)}.{_b64(binding.encode('utf-8'))}".encode("ascii")
        return f"{payload.decode('ascii')}.{_b64(self._mac(payload))}"

    def verify(self, cookie: str | None, binding: str, now: float | None = None) -> bool:
        if not cookie or len(cookie) > 512:
            return False
        parts = cookie.split(".")
        if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()):
            return False
        if not cookie.isascii():
            return False
        payload = f"{parts[0]}.{parts[1]}".encode("ascii")
        # Compare the canonical encoding, so no second spelling of a MAC passes.
        expected = _b64(self._mac(payload)).encode("ascii")
        if not hmac.compare_digest(parts[2].encode("ascii"), expected):
            return False
        if parts[1] != _b64(binding.encode("utf-8")):
            return False
        return int(parts[0]) > (time.time() if now is None else now)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
