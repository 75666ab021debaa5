"""``MaintenanceService``: the object an application configures and its adapters share.

It composes the parts and reads one ``Settings``: the ``Judge`` decides
requests from the local snapshot (no I/O), ``BlockedAnswers`` builds the
503, ``Changes`` makes changes through the store (compare-and-set, then the
side effects in this process) and the snapshot keeps every worker current.
"""

from __future__ import annotations

import inspect
import logging
import os
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from maintguard import logs
from maintguard.config import Settings
from maintguard.control.changes import Changes
from maintguard.control.status import MaintenanceStatus, build_status
from maintguard.control.writer import StateWriter
from maintguard.core.answers import BlockedAnswers
from maintguard.core.bypass import BypassCookies
from maintguard.core.classifier import OperationClassifier
from maintguard.core.decision import Decision, RequestInfo
from maintguard.core.identity import parse_admin_tokens, parse_networks
from maintguard.core.judge import IsAdmin, Judge
from maintguard.core.operations import OperationType
from maintguard.core.policy import blocked_operations
from maintguard.core.responses import BlockedResponder, PageRenderer, Response
from maintguard.core.state import AuditRecord, Mode
from maintguard.effects.attempts import BlockedAttempts
from maintguard.effects.events import EventDispatcher, Listener, MaintenanceEvent, store_lost
from maintguard.effects.housekeeping import Housekeeper
from maintguard.effects.resolver import ResolverPool
from maintguard.effects.runner import SideEffects
from maintguard.stores import StateStore, store_from_url
from maintguard.stores.counters import AttemptCounters
from maintguard.stores.snapshot import Snapshot, View
from maintguard.stores.workers import warn_memory_in_forked_worker, warn_memory_under_workers

logger = logging.getLogger("maintguard")

Notifier = Listener | Callable[[MaintenanceEvent], object]


def _as_store(store: StateStore | str | None, settings: Settings) -> StateStore:
    if store is None:
        store = settings.store_url
    if isinstance(store, str):
        return store_from_url(store)
    return store


class MaintenanceService:
    """The one object an application configures and its adapters share.

    ``store`` is a ``StateStore`` or a store URL (default: ``settings``'
    ``store_url``, ``memory://``). Every other keyword is an option of
    ``Settings`` (``default_timeout=600``, ``admin_tokens="alice:…"``),
    applied over ``settings``; an unknown one is a ``ConfigurationError``.
    """

    def __init__(
        self,
        store: StateStore | str | None = None,
        *,
        settings: Settings | None = None,
        classifier: OperationClassifier | None = None,
        is_admin: IsAdmin | None = None,
        session_invalidator: Any = None,
        job_terminator: Any = None,
        notifiers: Sequence[Notifier] = (),
        page: str | PageRenderer | None = None,
        **options: Any,
    ) -> None:
        self.settings = settings = (settings or Settings()).with_options(**options)
        if settings.log_file is not None:
            logs.attach_file(settings.log_file)
        self.store = _as_store(store, settings)
        self.classifier = classifier or OperationClassifier()
        for prefix in settings.exempt_paths:
            self.classifier.add_exempt(prefix)
        trusted_proxies = parse_networks(settings.trusted_proxies, "trusted_proxies")
        self.bypass = BypassCookies(
            settings.bypass_cookie_secret, settings.bypass_cookie_lifetime, trusted_proxies
        )
        self.decider = Judge(
            classifier=self.classifier,
            tokens=parse_admin_tokens(settings.admin_tokens),
            cookies=self.bypass,
            allowed_ips=parse_networks(settings.allowed_ips, "allowed_ips"),
            trusted_proxies=trusted_proxies,
            resolver=is_admin,
        )
        self.resolvers = ResolverPool(self.decider.resolve_admin, self.decider.failures, settings)
        self.answers = BlockedAnswers(page, settings.cors_origins, settings.debug_headers)
        self.events = EventDispatcher()
        for notifier in notifiers:
            self.events.add(notifier)
        self.counters = AttemptCounters()
        self.limiter = logs.BlockedLineLimiter(window=min(settings.cleanup_interval, 60.0))
        self.unauthorized = logs.UnauthorizedLineLimiter(window=60.0)
        self.attempts = BlockedAttempts(
            self.counters,
            self.limiter,
            simulation=settings.test_mode_simulation,
            simulation_log_level=settings.test_mode_log_level,
        )
        self.snapshot = Snapshot(
            self.store,
            refresh_interval=settings.refresh_interval,
            on_store_error=settings.on_store_error,
            force_mode=settings.force_mode,
            on_tick=self._housekeeping,
            on_change=self._view_changed,
            on_loss=lambda restored: self.events.emit(store_lost(restored)),
        )
        writer = StateWriter(self.store, self.snapshot, self.events)
        self.effects = SideEffects(
            session_invalidator,
            job_terminator,
            session_cleanup=settings.session_cleanup,
            recorder=writer,
        )
        self.changes = Changes(writer, self.effects, settings, self.get_maintenance_status)
        self.housekeeper = Housekeeper(
            store=self.store,
            counters=self.counters,
            limiter=self.limiter,
            effects=self.effects,
            claim_transition=self.changes.claim_transition,
            cleanup_interval=settings.cleanup_interval,
        )
        self._connection_listeners: list[Callable[[View], None]] = []
        _services.add(self)
        warn_memory_under_workers(self.store)

    @classmethod
    def from_env(cls, **overrides: Any) -> MaintenanceService:
        """A service built from ``Settings.from_env()``; keywords override."""
        from maintguard.effects.notify import notifiers_from_settings

        settings = Settings.from_env()
        if "notifiers" not in overrides:
            wanted = inspect.signature(notifiers_from_settings).parameters
            fields = {name: getattr(settings, name) for name in wanted if hasattr(settings, name)}
            overrides["notifiers"] = notifiers_from_settings(**fields)
        return cls(settings=settings, **overrides)

    # ----------------------------------------------------------- the parts

    @property
    def is_admin_resolver(self) -> IsAdmin | None:
        """The application's ``is_admin(request_info)``; integrations may set it."""
        return self.decider.resolver

    @is_admin_resolver.setter
    def is_admin_resolver(self, resolver: IsAdmin | None) -> None:
        self.decider.resolver = resolver

    @property
    def session_invalidator(self) -> Any:
        return self.effects.session_invalidator

    @property
    def job_terminator(self) -> Any:
        return self.effects.job_terminator

    @property
    def enabled(self) -> bool:
        """The feature switch (MAINTENANCE_MODE_ENABLED); off passes everything."""
        return self.settings.maintenance_mode_enabled

    @property
    def memoizable(self) -> bool:
        """Whether a plain request's verdict depends only on (method, path,
        Accept) and the state: not with an IP allowlist, which looks at more
        of the request, nor with debug headers; with a resolver only when
        ``resolver_headers`` says what it reads."""
        return (
            (self.is_admin_resolver is None or bool(self.settings.resolver_headers))
            and not self.decider.allowed_ips
            and not self.settings.debug_headers
        )

    # ------------------------------------------------------------------ reads

    def view(self) -> View:
        return self.snapshot.view()

    @property
    def active_jobs_count(self) -> int:
        return self.housekeeper.active_jobs_count

    def blocked_operations(self, view: View | None = None) -> tuple[OperationType, ...]:
        return blocked_operations((view or self.view()).state)

    def get_maintenance_status(self) -> MaintenanceStatus:
        view = self.view()
        return build_status(
            view.state,
            blocked=self.blocked_operations(view),
            active_jobs_count=self.active_jobs_count,
            store=self.store.name,
            override=view.override,
        )

    def get_audit_log(self, limit: int = 100) -> list[AuditRecord]:
        return self.store.read_audit(limit)

    def attempt_counts(self) -> Any:
        return self.counters.totals(self.view().epoch)

    def check_login(self, is_admin: bool) -> bool:
        """Whether a login may proceed: admins always, others only when no
        normal or emergency maintenance is active (test mode blocks nothing)."""
        if is_admin:
            return True
        state = self.view().state
        return not (state.active and state.mode is not Mode.TEST and self.enabled)

    # -------------------------------------------------------------- decisions

    def decide(self, info: RequestInfo, *, bounded: bool = True, plain: bool = False) -> Decision:
        """Allow, block or simulate one request; ``bounded``: the resolver
        runs on its own threads for at most ``resolver_timeout``; ``plain``:
        none of the headers it reads came (``resolver_headers``), so it is not asked."""
        decision, pending = self.judge(info)
        if pending:
            admin = None
            if not plain:
                admin = self.resolvers.call(info) if bounded else self.decider.resolve_admin(info)
            decision = self.finish(info, decision, admin)
        return decision

    def judge(self, info: RequestInfo) -> tuple[Decision, bool]:
        """The decision before the ``is_admin`` resolver; ``True`` when the
        resolver still has to be asked (the request would be blocked)."""
        return self.decider.judge(info, self.view().state, self.enabled)

    def finish(self, info: RequestInfo, decision: Decision, admin: str | None) -> Decision:
        """Complete a pending decision with the resolver's answer."""
        return self.decider.finish(decision, admin)

    def record(self, info: RequestInfo, decision: Decision) -> None:
        """Count and log a blocked or simulated request (no I/O)."""
        self.count(decision, info.path, info.user)

    def count(
        self, decision: Decision, path: str, user: str | None = None, view: View | None = None
    ) -> None:
        """``record`` for adapters that skipped building a ``RequestInfo``."""
        self.attempts.record(decision, path, user, view or self.view())

    # -------------------------------------------------------------- responses

    def responder(self, view: View) -> BlockedResponder:
        return self.answers.responder(view, view.state)

    def blocked_response(
        self, info: RequestInfo, decision: Decision, *, as_json: bool | None = None
    ) -> Response:
        """The 503 for a blocked request (without ``Retry-After``, which the
        responder adds when it is sent): JSON or HTML by path and Accept
        unless ``as_json`` says, CORS and test/debug headers included."""
        return self.answers.respond(self.responder(self.view()), info, decision, as_json)

    def bypass_cookie(self, info: RequestInfo) -> tuple[str, str, float]:
        """(name, signed value, expiry) of a bypass cookie for the current
        maintenance; ``ValidationError`` when there is none or no secret."""
        return self.bypass.issue(info, self.view().state)

    # ---------------------------------------------------------------- changes
    # The public change methods, kept here under the seeds' names; ``Changes``
    # does the work (see maintguard.control.changes for every parameter).

    def enable_maintenance(
        self,
        reason: str,
        duration: float | None = None,
        mode: Mode | str = Mode.NORMAL,
        enabled_by: str | None = None,
        message: str | None = None,
        ends_at: datetime | None = None,
        operations: Iterable[str] | None = None,
        *,
        expected_version: int | None = None,
        force: bool = False,
        notify: bool = False,
    ) -> MaintenanceStatus:
        """Switch maintenance on (or update the one in force)."""
        return self.changes.enable_maintenance(
            reason, duration, mode, enabled_by, message, ends_at, operations,
            expected_version=expected_version, force=force, notify=notify,
        )  # fmt: skip

    def enable_emergency(
        self,
        reason: str,
        terminate_jobs: bool = True,
        grace_period: float | None = None,
        enabled_by: str | None = None,
        message: str | None = None,
        duration: float | None = None,
        *,
        expected_version: int | None = None,
        background: bool = True,
        notify: bool = False,
    ) -> MaintenanceStatus:
        """Block everything but admins at once; sessions and jobs follow in
        the background (``background=False`` waits for them)."""
        return self.changes.enable_emergency(
            reason, terminate_jobs, grace_period, enabled_by, message, duration,
            expected_version=expected_version, background=background, notify=notify,
        )  # fmt: skip

    def disable_maintenance(
        self,
        disabled_by: str | None = None,
        *,
        expected_version: int | None = None,
        force: bool = False,
        notify: bool = False,
    ) -> MaintenanceStatus:
        """Switch maintenance off; a no-op when it is off. ``force`` also
        drops a pending window and overwrites an unreadable stored state."""
        return self.changes.disable_maintenance(
            disabled_by, expected_version=expected_version, force=force, notify=notify
        )

    def schedule_maintenance(
        self,
        reason: str,
        starts_at: datetime,
        ends_at: datetime | None = None,
        mode: Mode | str = Mode.NORMAL,
        message: str | None = None,
        scheduled_by: str | None = None,
        operations: Iterable[str] | None = None,
        *,
        expected_version: int | None = None,
        notify: bool = False,
    ) -> MaintenanceStatus:
        """Plan a window; every worker opens and closes it on time."""
        return self.changes.schedule_maintenance(
            reason, starts_at, ends_at, mode, message, scheduled_by, operations,
            expected_version=expected_version, notify=notify,
        )  # fmt: skip

    def cancel_schedule(
        self, cancelled_by: str | None = None, *, expected_version: int | None = None
    ) -> MaintenanceStatus:
        return self.changes.cancel_schedule(cancelled_by, expected_version=expected_version)

    # ---------------------------------------------------------- housekeeping

    def _housekeeping(self) -> None:
        """Runs on the snapshot thread after each refresh."""
        self.housekeeper.tick(self.snapshot.view())
        for limiter in (self.unauthorized, self.decider.failures):
            limiter.flush()

    def _view_changed(self, old: View, new: View) -> None:
        self.answers.forget()
        for listener in list(self._connection_listeners):
            listener(new)

    def on_view_change(self, listener: Callable[[View], None]) -> None:
        """Adapters use this to close connections a new state forbids."""
        self._connection_listeners.append(listener)

    def flush(self) -> None:
        """Flush counters and wait for side effects and events (tests, shutdown)."""
        self.counters.flush(self.store, self.view().epoch)
        self.effects.wait()
        self.events.drain()

    def close(self) -> None:
        self.snapshot.stop()
        self.store.close()

    def _after_fork(self) -> None:
        self.counters.after_fork()
        self.events.after_fork()
        warn_memory_in_forked_worker(self.store)


_services: weakref.WeakSet[MaintenanceService] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for service in list(_services):
        service._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
