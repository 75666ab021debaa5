"""Ending cookie sessions by a maintenance epoch.

A signed cookie session (Flask's default, Starlette's ``SessionMiddleware``)
lives in the browser: no server-side store holds it, so nothing can delete
it when maintenance starts. Instead every non-empty session is stamped with
the time it was first seen; while a maintenance (normal or emergency, with
``session_cleanup`` on) is active, a non-admin session stamped before the
maintenance started is cleared on its next request, and the user meets the
app as a logged-out visitor (a login page, or the 503). Admins keep theirs.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from maintguard.core.state import MaintenanceState, Mode

#: The session key holding the epoch seconds the session was first seen.
STAMP = "_maintguard_since"


def stamp(session: MutableMapping[str, Any], now: float | None = None) -> None:
    """Stamp a non-empty session that has no stamp yet (called as the
    response leaves, so a login made by this request is stamped too)."""
    if session and STAMP not in session:
        session[STAMP] = round(time.time() if now is None else now, 3)


#: Admins known from the session's own user: their session is renewed, so
#: it is not checked again on each request of this maintenance. An admin by
#: token, bypass cookie or address is not the session's user: not renewed.
SESSION_ADMINS = frozenset({"resolver", "dependency"})


def renew(session: MutableMapping[str, Any], admin: str, now: float | None = None) -> None:
    """Restamp an admin's session, when the session's user is the admin."""
    if admin in SESSION_ADMINS:
        session[STAMP] = round(time.time() if now is None else now, 3)


def ended(session: MutableMapping[str, Any] | None, state: MaintenanceState, cleanup: bool) -> bool:
    """Whether the current maintenance ended ``session`` (the caller keeps
    an admin's). A session without a stamp, or with a stamp that is not a
    number, was never seen before this maintenance began: it is ended too,
    since its age cannot be told."""
    if not session or not cleanup or not state.active or state.mode is Mode.TEST:
        return False
    if state.started_at is None:
        return False
    since = session.get(STAMP)
    if isinstance(since, bool) or not isinstance(since, (int, float)):
        return set(session) != {STAMP}
    return float(since) < state.started_at.timestamp()
