"""``MaintenanceService``: decisions on the request path, changes off it.

``decide`` reads the local snapshot and does no I/O (the application's
``is_admin`` resolver aside, which is asked only when a request would be
blocked). Changes go through the store with a compare-and-set on the
state's version; the process that makes a change applies it to its own
snapshot at once and runs the side effects (sessions, jobs, notifications).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from maintguard import logs
from maintguard.control.changes import ChangesMixin
from maintguard.control.status import MaintenanceStatus, build_status
from maintguard.core.classifier import OperationClassifier
from maintguard.core.decision import Action, Decision, RequestInfo
from maintguard.core.identity import (
    AdminToken,
    BypassSigner,
    bearer_token,
    client_address,
    ip_allowed,
    match_token,
    parse_admin_tokens,
    parse_networks,
)
from maintguard.core.operations import OperationType
from maintguard.core.policy import policy_blocks
from maintguard.core.responses import (
    BlockedResponder,
    PageRenderer,
    Response,
    compile_page,
    wants_json,
)
from maintguard.core.state import AuditRecord, MaintenanceState, Mode
from maintguard.effects.events import EventDispatcher, Listener, MaintenanceEvent
from maintguard.effects.runner import SideEffects
from maintguard.exceptions import (
    ConfigurationError,
    StoreError,
    ValidationError,
)
from maintguard.settings import Settings
from maintguard.stores import StateStore, store_from_url
from maintguard.stores.counters import AttemptCounters
from maintguard.stores.memory import MemoryStore
from maintguard.stores.snapshot import FORCE_MODES, STORE_ERROR_POLICIES, Snapshot, View

logger = logging.getLogger("maintguard")

IsAdmin = Callable[[RequestInfo], object]

#: How often a last-writer-wins change retries its compare-and-set.
_RETRIES = 50
BYPASS_COOKIE = "maintguard_bypass"


def _as_store(store: StateStore | str | None) -> StateStore:
    if store is None:
        return MemoryStore()
    if isinstance(store, str):
        return store_from_url(store)
    return store


class MaintenanceService(ChangesMixin):
    """The one object an application configures and its adapters share."""

    def __init__(
        self,
        store: StateStore | str | None = None,
        *,
        classifier: OperationClassifier | None = None,
        admin_tokens: str | Iterable[str] = (),
        is_admin: IsAdmin | None = None,
        session_invalidator: Any = None,
        job_terminator: Any = None,
        notifiers: Sequence[Listener | Callable[[MaintenanceEvent], object]] = (),
        settings: Settings | None = None,
        allowed_ips: Iterable[str] = (),
        trusted_proxies: Iterable[str] = (),
        on_store_error: str = "last_known",
        refresh_interval: float = 1.0,
        prefix: str = "/api/maintenance",
        health_path: str = "/api/health/maintenance",
        bypass_cookie_secret: str | bytes | None = None,
        debug_headers: bool = False,
        cors_origins: Iterable[str] = (),
        page: str | PageRenderer | None = None,
        force_mode: str | None = None,
        resolver_timeout: float = 2.0,
        bypass_cookie_lifetime: float = 8 * 3600.0,
        max_body: int = 64 * 1024,
    ) -> None:
        self.settings = settings or Settings()
        if on_store_error not in STORE_ERROR_POLICIES:
            raise ConfigurationError(
                f"on_store_error must be one of {', '.join(STORE_ERROR_POLICIES)}, "
                f"not {on_store_error!r}"
            )
        if force_mode is not None and force_mode not in FORCE_MODES:
            raise ConfigurationError(
                f"force_mode must be one of {', '.join(FORCE_MODES)}, not {force_mode!r}"
            )
        if not (isinstance(refresh_interval, (int, float)) and 0.01 <= refresh_interval <= 3600):
            raise ConfigurationError("refresh_interval must be between 0.01 and 3600 seconds")
        for name, path in (("prefix", prefix), ("health_path", health_path)):
            if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
                raise ConfigurationError(f"{name} must start with '/' and not end with one")
        self.store = _as_store(store)
        self.classifier = classifier or OperationClassifier()
        self.tokens: tuple[AdminToken, ...] = parse_admin_tokens(admin_tokens)
        self.is_admin_resolver = is_admin
        self.session_invalidator = session_invalidator
        self.job_terminator = job_terminator
        self.allowed_ips = parse_networks(allowed_ips, "allowed_ips")
        self.trusted_proxies = parse_networks(trusted_proxies, "trusted_proxies")
        self.prefix = prefix
        self.health_path = health_path
        self.signer = BypassSigner(bypass_cookie_secret) if bypass_cookie_secret else None
        self.bypass_cookie_lifetime = bypass_cookie_lifetime
        self.debug_headers = debug_headers
        self.cors_origins = frozenset(cors_origins)
        self.page = compile_page(page)
        self.resolver_timeout = resolver_timeout
        self.max_body = max_body
        self.events = EventDispatcher()
        for notifier in notifiers:
            self.events.add(notifier)
        self.counters = AttemptCounters()
        self.limiter = logs.BlockedLineLimiter(window=min(self.settings.cleanup_interval, 60.0))
        self.effects = SideEffects(self)
        self.snapshot = Snapshot(
            self.store,
            refresh_interval=refresh_interval,
            on_store_error=on_store_error,
            force_mode=force_mode,
            on_tick=self._housekeeping,
            on_change=self._view_changed,
        )
        self.active_jobs_count = 0
        self._responder: tuple[View, BlockedResponder] | None = None
        self._last_cleanup = time.monotonic()
        self._connection_listeners: list[Callable[[View], None]] = []
        _services.add(self)

    @classmethod
    def from_env(cls, **overrides: Any) -> MaintenanceService:
        """A service built from ``Settings.from_env()``; keywords override."""
        settings = Settings.from_env()
        options: dict[str, Any] = {
            "admin_tokens": settings.admin_tokens,
            "allowed_ips": settings.allowed_ips,
            "trusted_proxies": settings.trusted_proxies,
            "on_store_error": settings.on_store_error,
            "refresh_interval": settings.refresh_interval,
            "bypass_cookie_secret": settings.bypass_cookie_secret,
            "cors_origins": settings.cors_origins,
            "force_mode": settings.force_mode,
            "notifiers": _notifiers_from_settings(settings),
        }
        options.update(overrides)
        store = options.pop("store", settings.store_url)
        return cls(store, settings=settings, **options)

    # ------------------------------------------------------------------ reads

    @property
    def enabled(self) -> bool:
        """The feature switch (MAINTENANCE_MODE_ENABLED); off passes everything."""
        return self.settings.maintenance_mode_enabled

    def view(self) -> View:
        return self.snapshot.view()

    def blocked_operations(self, view: View | None = None) -> tuple[OperationType, ...]:
        view = view or self.view()
        state = view.state
        if not state.active:
            return ()
        policy_mode = Mode.NORMAL if state.mode is Mode.TEST else state.mode
        return tuple(
            op
            for op in OperationType.all()
            if policy_blocks(op, policy_mode, "POST", state.operations)
        )

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

    def decide(self, info: RequestInfo) -> Decision:
        """Allow, block or simulate one request (sync; see ``decide_async``)."""
        decision, pending = self.judge(info)
        if pending:
            admin = self._resolve_admin(info)
            decision = self.finish(info, decision, admin)
        return decision

    def judge(self, info: RequestInfo) -> tuple[Decision, bool]:
        """The decision before the ``is_admin`` resolver; ``True`` when the
        resolver still has to be asked (the request would be blocked)."""
        view = self.view()
        state = view.state
        method = info.method.upper()
        classification = self.classifier.classify(method, info.path)
        operation = classification.operation
        if not state.active or not self.enabled:
            return Decision(
                Action.ALLOW, operation, None, "maintenance is off", classification
            ), False
        if method == "OPTIONS" and info.header("access-control-request-method"):
            return Decision(
                Action.ALLOW,
                operation,
                state.mode,
                "CORS preflights are never blocked",
                classification,
            ), False
        policy_mode = Mode.NORMAL if state.mode is Mode.TEST else state.mode
        blocked = policy_blocks(operation, policy_mode, method, state.operations)
        alternate = classification.alternate
        if not blocked and alternate is not None:
            blocked = policy_blocks(alternate, policy_mode, method, state.operations)
        if not blocked:
            return Decision(
                Action.ALLOW, operation, state.mode, _allowed_why(operation, state), classification
            ), False
        admin = self._fast_admin(info, view)
        if admin is not None:
            return Decision(
                Action.ALLOW,
                operation,
                state.mode,
                f"admin ({admin}) bypasses every block",
                classification,
                admin,
            ), False
        decision = self._blocked(operation, state, classification)
        return decision, self.is_admin_resolver is not None

    def finish(self, info: RequestInfo, decision: Decision, admin: str | None) -> Decision:
        """Complete a pending decision with the resolver's answer and count it."""
        if admin is not None:
            return attrs.evolve(
                decision,
                action=Action.ALLOW,
                why=f"admin ({admin}) bypasses every block",
                admin=admin,
            )
        return decision

    @property
    def memoizable(self) -> bool:
        """Whether a plain request's verdict depends only on (method, path,
        Accept) and the state: not with a resolver or an IP allowlist, which
        look at more of the request, nor with debug headers."""
        return self.is_admin_resolver is None and not self.allowed_ips and not self.debug_headers

    def record(self, info: RequestInfo, decision: Decision) -> None:
        """Count and log a blocked or simulated request (no I/O)."""
        self.count(decision, info.path, info.user)

    def count(
        self, decision: Decision, path: str, user: str | None = None, view: View | None = None
    ) -> None:
        """``record`` for adapters that skipped building a ``RequestInfo``."""
        if decision.action is Action.ALLOW:
            return
        view = view or self.view()
        simulated = decision.action is Action.SIMULATE
        if simulated and not self.settings.test_mode_simulation:
            return
        # OperationType and Mode are str subclasses: usable as keys directly.
        operation = decision.operation
        self.counters.record(view.epoch, operation, path, simulated)
        mode = view.state.mode
        if self.limiter.allow(operation, mode):
            if simulated:
                logs.maintenance(
                    "Operation would be blocked",
                    level=self.settings.test_mode_log_level,
                    endpoint=path,
                    user=user or "anonymous",
                    operation=operation,
                    mode=mode,
                )
            else:
                logs.maintenance(
                    "Operation blocked",
                    endpoint=path,
                    user=user or "anonymous",
                    operation=operation,
                )

    def _blocked(
        self, operation: OperationType, state: MaintenanceState, classification: Any
    ) -> Decision:
        if state.mode is Mode.TEST:
            return Decision(
                Action.SIMULATE,
                operation,
                state.mode,
                "test mode blocks nothing; normal maintenance would block this",
                classification,
            )
        if state.operations is not None and state.mode is not Mode.EMERGENCY:
            why = f"this partial maintenance blocks {', '.join(sorted(state.operations))}"
        elif state.mode is Mode.EMERGENCY:
            why = "an emergency blocks everything but health checks, logins and admins"
        elif operation is OperationType.UNKNOWN:
            why = "unclassified requests with an unsafe method are blocked"
        else:
            why = f"normal maintenance blocks {operation.name}"
        return Decision(Action.BLOCK, operation, state.mode, why, classification)

    def _fast_admin(self, info: RequestInfo, view: View) -> str | None:
        """Token, cookie and IP checks: no I/O, in the documented order."""
        token = match_token(self.tokens, bearer_token(info.header("authorization")))
        if token is not None:
            return token.label
        if self.signer is not None:
            cookie = info.cookies.get(self.bypass_cookie_name(info)) or info.cookies.get(
                BYPASS_COOKIE
            )
            if cookie and self.signer.verify(cookie, _binding(view.state)):
                return "bypass-cookie"
        if self.allowed_ips:
            address = client_address(
                info.client, info.header("x-forwarded-for"), self.trusted_proxies
            )
            if ip_allowed(address, self.allowed_ips):
                return f"ip:{address}"
        return None

    def _resolve_admin(self, info: RequestInfo) -> str | None:
        resolver = self.is_admin_resolver
        if resolver is None:
            return None
        try:
            answer = resolver(info)
        except Exception as exc:  # a broken resolver means "not admin"
            self.log_resolver_failure(exc)
            return None
        return "resolver" if answer is True else None

    @staticmethod
    def log_resolver_failure(exc: BaseException) -> None:
        logger.warning(
            "[MAINTENANCE] Admin resolver failed: error=%s (treated as not admin)",
            type(exc).__name__,
        )

    # -------------------------------------------------------------- responses

    def responder(self, view: View) -> BlockedResponder:
        cached = self._responder
        if cached is not None and cached[0] is view:
            return cached[1]
        state = view.state
        completion = state.estimated_completion
        responder = BlockedResponder(
            mode=state.mode.value,
            message=state.message if state.message is not None else (state.reason or "maintenance"),
            operation_label=lambda op: op.description,
            estimated_completion=completion.timestamp() if completion is not None else None,
            page=self.page,
        )
        self._responder = (view, responder)
        return responder

    def blocked_response(
        self, info: RequestInfo, decision: Decision, *, as_json: bool | None = None
    ) -> Response:
        """The 503 for a blocked request (without ``Retry-After``, which the
        responder adds when it is sent): JSON or HTML by path and Accept
        unless ``as_json`` says, CORS and test/debug headers included."""
        if as_json is None:
            as_json = wants_json(info.path, info.header("accept"))
        return self.responder(self.view()).respond(
            decision.operation,
            as_json=as_json,
            head=info.method == "HEAD",
            extra_headers=self.cors_headers(info.header("origin")) + self.extra_headers(decision),
        )

    def extra_headers(self, decision: Decision) -> list[tuple[str, str]]:
        """Headers added to answers: the test-mode mark, the debug header."""
        extra: list[tuple[str, str]] = []
        if decision.action is Action.SIMULATE:
            extra.append(("X-Maintenance-Simulated", "blocked"))
        if self.debug_headers:
            extra.append(("X-Maintenance-Operation", decision.operation.name))
        return extra

    def cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if not origin or not self.cors_origins:
            return []
        if "*" in self.cors_origins:
            return [("Access-Control-Allow-Origin", "*")]
        if origin in self.cors_origins:
            return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        return []

    def bypass_cookie_name(self, info: RequestInfo) -> str:
        return f"__Host-{BYPASS_COOKIE}" if self.is_https(info) else BYPASS_COOKIE

    def is_https(self, info: RequestInfo) -> bool:
        if info.scheme in ("https", "wss"):
            return True
        proto = info.header("x-forwarded-proto")
        if not proto or not self.trusted_proxies:
            return False
        address = client_address(info.client, None, ())
        return (
            address is not None
            and any(address in net for net in self.trusted_proxies)
            and proto.split(",")[-1].strip().lower() == "https"
        )

    def bypass_cookie(self, info: RequestInfo) -> tuple[str, str, float]:
        """(name, signed value, expiry) of a bypass cookie for the current
        maintenance; ``ValidationError`` when there is none or no secret."""
        if self.signer is None:
            raise ValidationError("the bypass cookie needs bypass_cookie_secret", None)
        state = self.view().state
        if not state.active:
            raise ValidationError("maintenance is not active", None)
        expires = time.time() + self.bypass_cookie_lifetime
        return self.bypass_cookie_name(info), self.signer.sign(_binding(state), expires), expires

    # ---------------------------------------------------------- housekeeping

    def _housekeeping(self) -> None:
        """Runs on the snapshot thread after each refresh."""
        view = self.snapshot.view()
        # On failure the batch is kept for the next flush; the outage is logged.
        with contextlib.suppress(StoreError):
            self.counters.flush(self.store, view.epoch)
        self._claim_transition(view)
        self.limiter.flush()
        if self.job_terminator is not None:
            try:
                self.active_jobs_count = int(self.job_terminator.active_jobs_count())
            except Exception as exc:
                logger.warning(
                    "[MAINTENANCE] Could not count active jobs: error=%s", type(exc).__name__
                )
        if time.monotonic() - self._last_cleanup >= self.settings.cleanup_interval:
            self._last_cleanup = time.monotonic()
            self.effects.summarise()

    def _view_changed(self, old: View, new: View) -> None:
        self._responder = None
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
        if isinstance(self.store, MemoryStore):
            logger.error(
                "[MAINTENANCE] maintguard uses the in-memory store in a forked worker "
                "(pid %s): each worker has its own state, so a change made through one "
                "worker is not seen by the others. Configure MAINTENANCE_STORE_URL with "
                "redis:// or a SQL URL for several workers.",
                os.getpid(),
            )


def _allowed_why(operation: OperationType, state: MaintenanceState) -> str:
    if operation is OperationType.HEALTH_CHECK:
        return "health checks and static files are never blocked"
    if operation is OperationType.AUTHENTICATION:
        return "logins stay reachable; the app calls check_login"
    if state.operations is not None and state.mode is not Mode.EMERGENCY:
        return "this partial maintenance does not block it"
    if operation in (OperationType.READ_OPERATIONS, OperationType.ADMIN_OPERATIONS):
        return f"{state.mode.value} maintenance allows {operation.name}"
    return f"{operation.name} is allowed with a safe method"


def _binding(state: MaintenanceState) -> str:
    return state.started_at.isoformat() if state.started_at is not None else "-"


def _notifiers_from_settings(settings: Settings) -> list[Any]:
    from maintguard.effects.notify import notifiers_from_settings

    return list(
        notifiers_from_settings(
            notifications_enabled=settings.notifications_enabled,
            email_alerts=settings.email_alerts,
            webhook_url=settings.webhook_url,
            webhook_secret=settings.webhook_secret,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_username=settings.smtp_username,
            smtp_password=settings.smtp_password,
            smtp_sender=settings.smtp_sender,
            alert_recipients=settings.alert_recipients,
            smtp_starttls=settings.smtp_starttls,
        )
    )


_services: weakref.WeakSet[MaintenanceService] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for service in list(_services):
        service._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
