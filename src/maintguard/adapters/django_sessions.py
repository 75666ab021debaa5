"""Ending ``django.contrib.sessions`` sessions when maintenance starts.

``DjangoSessionInvalidator`` deletes every session whose user is not an
admin (by default an active staff user or superuser) from the database
backends (``db`` and ``cached_db``, whose cached copy is deleted with it).
Sessions of the ``cache`` and ``signed_cookies`` backends cannot be listed:
the middleware ends them by the maintenance epoch instead, on their next
request (see :mod:`maintguard.adapters.cookie_sessions`), so every backend
ends non-admin sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from maintguard.effects.sessions import InvalidationReport
from maintguard.logs import maintenance as log_line

__all__ = ["DjangoSessionInvalidator", "staff_user"]

_DB_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")
_BATCH = 500


def staff_user(user: Any) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_active", False) is True
        and (
            getattr(user, "is_staff", False) is True or getattr(user, "is_superuser", False) is True
        )
    )


class DjangoSessionInvalidator:
    """Ends non-admin Django sessions; ``is_admin(user)`` decides who keeps one."""

    def __init__(self, is_admin: Callable[[Any], bool] = staff_user) -> None:
        self.is_admin = is_admin

    def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> InvalidationReport:
        from django.conf import settings  # type: ignore[import-untyped, import-not-found, unused-ignore]

        engine = getattr(settings, "SESSION_ENGINE", _DB_ENGINES[0])
        if engine not in _DB_ENGINES:
            # Not listable: the middleware ends them by the maintenance epoch.
            return InvalidationReport(0, 0, 0, complete=True, simulated=dry_run)
        from django.db import connections  # type: ignore[import-untyped, import-not-found, unused-ignore]

        try:
            return self._database(import_module(engine).SessionStore, keep_admins, dry_run)
        except Exception as exc:  # never a client error: report it incomplete
            log_line("Session invalidation failed", logging.ERROR, error=type(exc).__name__)
            return InvalidationReport(0, 0, 0, complete=False, simulated=dry_run)
        finally:
            connections.close_all()  # this thread's own connections: it may never run again

    def _database(self, store: Any, keep_admins: bool, dry_run: bool) -> InvalidationReport:
        from django.contrib.auth import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            get_user_model,
        )
        from django.contrib.sessions.models import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            Session,
        )

        users = get_user_model()
        invalidated = kept = failed = 0
        keys = list(Session.objects.values_list("session_key", flat=True))
        for start in range(0, len(keys), _BATCH):
            for session in Session.objects.filter(session_key__in=keys[start : start + _BATCH]):
                user_id = session.get_decoded().get("_auth_user_id")
                user = users._default_manager.filter(pk=user_id).first() if user_id else None
                if keep_admins and self.is_admin(user):
                    kept += 1
                    continue
                if dry_run:
                    invalidated += 1
                    continue
                try:
                    store(session_key=session.session_key).delete()
                    invalidated += 1
                except Exception:  # one session failing never stops the others
                    failed += 1
        log_line("Session invalidated", count=invalidated, kept_admin=kept, backend="django")
        return InvalidationReport(
            invalidated, kept, failed, complete=failed == 0, simulated=dry_run
        )
