"""The admin bypass cookie: its name, whether a request is HTTPS, issuing and checking.

The cookie is bound to one maintenance (its start time), so it dies when
that maintenance ends; on HTTPS (as seen directly or through a trusted
proxy) it carries the ``__Host-`` prefix.
"""

from __future__ import annotations

import time

from maintguard.core.decision import RequestInfo
from maintguard.core.identity import BypassSigner, IPNetwork, client_address
from maintguard.core.state import MaintenanceState
from maintguard.exceptions import ValidationError

BYPASS_COOKIE = "maintguard_bypass"


def binding(state: MaintenanceState) -> str:
    """What a cookie is bound to: the maintenance's start."""
    return state.started_at.isoformat() if state.started_at is not None else "-"


class BypassCookies:
    """Issues and checks bypass cookies with one secret (``None``: the
    feature is off, every cookie is "not admin")."""

    def __init__(
        self,
        secret: str | bytes | None,
        lifetime: float,
        trusted_proxies: tuple[IPNetwork, ...],
    ) -> None:
        self.signer = BypassSigner(secret) if secret else None
        self.lifetime = lifetime
        self._trusted_proxies = trusted_proxies

    def is_https(self, info: RequestInfo) -> bool:
        if info.scheme in ("https", "wss"):
            return True
        proto = info.header("x-forwarded-proto")
        if not proto or not self._trusted_proxies:
            return False
        address = client_address(info.client, None, ())
        return (
            address is not None
            and any(address in net for net in self._trusted_proxies)
            and proto.split(",")[-1].strip().lower() == "https"
        )

    def name(self, info: RequestInfo) -> str:
        return f"__Host-{BYPASS_COOKIE}" if self.is_https(info) else BYPASS_COOKIE

    def verify(self, info: RequestInfo, state: MaintenanceState) -> bool:
        if self.signer is None:
            return False
        # On HTTPS only the __Host- name counts: a plain-named cookie can be
        # planted by a sibling subdomain or over plain HTTP.
        cookie = info.cookies.get(self.name(info))
        return bool(cookie) and self.signer.verify(cookie, binding(state))

    def issue(self, info: RequestInfo, state: MaintenanceState) -> tuple[str, str, float]:
        """(name, signed value, expiry) of a cookie for the current
        maintenance; ``ValidationError`` when there is none or no secret."""
        if self.signer is None:
            raise ValidationError("the bypass cookie needs bypass_cookie_secret", None)
        if not state.active:
            raise ValidationError("maintenance is not active", None)
        expires = time.time() + self.lifetime
        return self.name(info), self.signer.sign(binding(state), expires), expires
