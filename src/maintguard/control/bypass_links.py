"""One-time signed bypass links: ``GET {prefix}/bypass?link=…`` sets the bypass cookie.

An admin gets the bypass cookie in a browser without crafting a POST (like
Laravel's ``down --secret``): ``maintguard bypass-link`` prints a link that
is signed with ``bypass_cookie_secret``, bound to the current maintenance,
valid for a few minutes and good for one use. Opening it sets the cookie and
redirects to ``/``.

Single use holds across every worker: the link's id is claimed in the
shared state with a compare-and-set (``progress["bypass_links"]``), so of
two requests with one link, on any workers, exactly one wins. The claim is
audited (action ``bypass-link``). A wrong, used, expired or foreign link
answers 403 and changes nothing.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

import attrs

from maintguard.core.bypass import binding
from maintguard.core.responses import Response, error_response
from maintguard.core.state import AuditRecord, MaintenanceState, utcnow
from maintguard.exceptions import StoreError, ValidationError

if TYPE_CHECKING:
    from maintguard.core.decision import RequestInfo
    from maintguard.service import MaintenanceService

__all__ = ["DEFAULT_LINK_LIFETIME", "issue_link", "redeem_link"]

#: Seconds a link stays valid (opening it is a matter of a minute).
DEFAULT_LINK_LIFETIME = 600.0
_USED = "bypass_links"
_RETRIES = 8


def _link_binding(link_id: str, state: MaintenanceState) -> str:
    return f"link:{link_id}:{binding(state)}"


def issue_link(service: MaintenanceService, lifetime: float = DEFAULT_LINK_LIFETIME) -> str:
    """The path and query of a fresh link for the current maintenance."""
    signer = service.bypass.signer
    if signer is None:
        raise ValidationError("a bypass link needs bypass_cookie_secret", None)
    state = service.view().state
    if not state.active:
        raise ValidationError("maintenance is not active: a bypass link would be useless", None)
    if not 10 <= lifetime <= 86400:
        raise ValidationError("a link lifetime is 10 to 86400 seconds", "lifetime")
    link_id = secrets.token_urlsafe(12)
    token = signer.sign(_link_binding(link_id, state), time.time() + lifetime)
    return f"{service.settings.prefix}/bypass?link={quote(token, safe='')}"


def _link_id(token: str) -> str | None:
    parts = token.split(".")
    if len(parts) != 3 or len(token) > 512 or not token.isascii():
        return None
    try:
        text = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    kind, _, rest = text.partition(":")
    link_id = rest.partition(":")[0]
    return link_id if kind == "link" and link_id else None


def redeem_link(service: MaintenanceService, info: RequestInfo) -> Response:
    """Answer ``GET {prefix}/bypass?link=…``: the cookie and a redirect, or 403."""
    signer = service.bypass.signer
    if signer is None:
        return error_response(404, "the bypass cookie is not configured", None)
    try:
        values = parse_qs(info.query_string, max_num_fields=4).get("link") or []
    except ValueError:  # more fields than a link has: not a link
        values = []
    token = values[0] if len(values) == 1 else ""
    link_id = _link_id(token)
    state = service.view().state
    if (
        link_id is None
        or not state.active
        or not signer.verify(token, _link_binding(link_id, state))
    ):
        return error_response(403, "this bypass link is not valid (wrong, expired or used)", None)
    try:
        claimed = _claim(service, link_id, int(token.split(".", 1)[0]))
    except StoreError:
        return error_response(503, "the maintenance state store is unavailable", None)
    if not claimed:
        return error_response(403, "this bypass link is not valid (wrong, expired or used)", None)
    name, value, _ = service.bypass_cookie(info)
    secure = service.bypass.is_https(info)
    cookie = (
        f"{name}={value}; Path=/; Max-Age={int(service.settings.bypass_cookie_lifetime)}; "
        f"HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"
    )
    headers = (
        ("Location", "/"),
        ("Set-Cookie", cookie),
        ("Cache-Control", "no-store"),
        ("Content-Length", "0"),
    )
    return Response(303, headers, b"")


def _claim(service: MaintenanceService, link_id: str, expires: int) -> bool:
    """Record ``link_id`` as used, once across every worker (compare-and-set)."""
    store = service.store
    for _ in range(_RETRIES):
        stored = store.load()
        used: dict[str, Any] = dict(stored.progress.get(_USED) or {})
        if not stored.active or link_id in used:
            return False
        now = time.time()
        used = {key: at for key, at in used.items() if isinstance(at, int) and at > now}
        used[link_id] = expires
        # updated_by stays the person who enabled the maintenance.
        new = attrs.evolve(
            stored, version=stored.version + 1, progress={**stored.progress, _USED: used}
        )
        record = AuditRecord(
            at=utcnow(),
            actor="bypass-link",
            action="bypass-link",
            mode=stored.mode,
            reason=stored.reason,
            version=new.version,
        )
        if store.compare_and_set(stored.version, new, record):
            service.snapshot.apply(new)
            return True
    raise StoreError("could not record the bypass link: the state kept changing")
