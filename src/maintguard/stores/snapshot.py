"""The in-process snapshot the request path reads, and what keeps it current.

The request path calls ``Snapshot.view()``: an attribute read and, only
while a window or an ``ends_at`` is pending, one clock read. Everything
else — loading from the store, following change notifications, noticing a
manual repair, the outage policy — happens on a background thread that
starts lazily in the current process and again after a ``fork``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime, timezone

import attrs

from maintguard.core.state import MaintenanceState, Mode
from maintguard.exceptions import StateMissingError, StoreError
from maintguard.stores.base import StateStore, attempt_epoch
from maintguard.stores.loss import check_configuration, write_back

logger = logging.getLogger("maintguard")

STORE_ERROR_POLICIES = ("last_known", "open", "closed")
FORCE_MODES = ("normal", "emergency", "off")


@attrs.frozen
class View:
    """The effective state at some moment, with what the request path needs."""

    state: MaintenanceState
    #: The state as stored (before windows and ``ends_at`` were applied).
    stored: MaintenanceState
    #: Time (epoch seconds) when ``state`` may stop being effective.
    check_at: float
    #: Why the view is not the store's word ("force_mode", "store_error:open" …).
    override: str | None = None
    #: The counter epoch of this maintenance (computed once per view).
    epoch: str = ""

    @property
    def active(self) -> bool:
        return self.state.active


def effective_view(stored: MaintenanceState, now: datetime, override: str | None = None) -> View:
    state = stored.effective(now)
    transition = state.next_transition()
    check_at = transition.timestamp() if transition is not None else math.inf
    return View(state, stored, check_at, override, attempt_epoch(state))


def _forced(mode: str, stored: MaintenanceState) -> MaintenanceState:
    if mode == "off":
        return attrs.evolve(stored, active=False, window=None)
    return attrs.evolve(
        stored,
        active=True,
        mode=Mode(mode),
        reason=stored.reason if stored.active else "maintenance forced on this instance",
        started_at=stored.started_at if stored.active else datetime.now(timezone.utc),
        ends_at=None,
        operations=None,
        window=None,
    )


_UNAVAILABLE = "maintenance state unavailable"


class Snapshot:
    """Holds this process's view of the shared state.

    ``on_store_error``: ``last_known`` keeps the last state read (a cold
    start with nothing read is open); ``open`` serves as if maintenance were
    off while the store fails; ``closed`` blocks writes (normal-mode
    maintenance) while the store fails. ``force_mode`` beats the store.
    """

    def __init__(
        self,
        store: StateStore,
        *,
        refresh_interval: float,
        on_store_error: str,
        force_mode: str | None,
        on_tick: Callable[[], None] | None = None,
        on_change: Callable[[View, View], None] | None = None,
        on_loss: Callable[[MaintenanceState], None] | None = None,
    ) -> None:
        self.store = store
        self.refresh_interval = refresh_interval
        self.on_store_error = on_store_error
        self.force_mode = force_mode
        self._on_tick = on_tick
        self._on_change = on_change
        self._on_loss = on_loss
        self._stored: MaintenanceState | None = None
        self._view = effective_view(MaintenanceState(), datetime.now(timezone.utc))
        self._generation = 0
        self._lock = threading.RLock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._started = False
        self._pid = os.getpid()
        #: True while maintenance is off with nothing scheduled, in a started
        #: snapshot: the adapters' whole cost when maintenance is off is
        #: reading this one attribute.
        self.idle = False
        self.healthy = True
        self.last_error: str | None = None
        self.last_refresh: float | None = None
        #: Failed store reads in this process, and the seconds between the
        #: last change's write and its adoption here (for metrics).
        self.errors = 0
        self.propagation_lag: float | None = None
        _track_fork(self)

    # -- the request path ---------------------------------------------------

    def view(self) -> View:
        view = self._view
        if not self._started:
            self.start()
            view = self._view
        # Only a pending window or ends_at costs a clock read per request.
        if view.check_at != math.inf and view.check_at <= time.time():
            view = self._recompute()
        return view

    # -- changes ------------------------------------------------------------

    def apply(self, state: MaintenanceState) -> None:
        """Adopt a state this process just wrote (visible at once).

        Two writes of this process may return out of order; the older one
        must not win, so a lower version than the one held is ignored.
        """
        with self._lock:
            if self._stored is not None and state.version < self._stored.version:
                return
            self._generation += 1
            self._set(state)

    @property
    def known(self) -> MaintenanceState | None:
        """The last state read from or written to the store, if any."""
        return self._stored

    def refresh(self) -> None:
        """Load from the store and adopt what it holds, applying the policy."""
        generation = self._generation
        try:
            state = self.store.load()
        except StateMissingError as exc:
            known = self._stored
            if known is not None and known.version > 0:
                self.restore(known, None)
            else:
                self._failed(exc)
            return
        except StoreError as exc:
            self.errors += 1
            self._failed(exc)
            return
        with self._lock:
            if self._generation != generation:
                return  # a local change landed meanwhile; this read may predate it
            self._recovered()
            current = self._stored
            if current is not None and state.version < current.version:
                lost: MaintenanceState | None = current
            else:
                lost = None
                if (
                    current is None
                    or not current.same_content(state)
                    or (self._view.override and self._view.override.startswith("store_error"))
                ):
                    self._set(state)
        if lost is not None:
            self.restore(lost, state.version)

    def restore(self, known: MaintenanceState, found: int | None) -> bool:
        """Store loss: the state record vanished (``found`` None) or came
        back at an older version. The last known state keeps holding here;
        it is written back by compare-and-set on what was found, so of
        several workers noticing the loss one restores it, and says so."""
        try:
            won = write_back(self.store, known, found)
        except StoreError as exc:
            self._failed(exc)
            return False
        with self._lock:
            self._recovered()
        if won and self._on_loss is not None:
            try:
                self._on_loss(known)
            except Exception:  # a listener must never break the snapshot
                logger.exception("maintguard: store-loss listener failed")
        return won

    def _set(self, state: MaintenanceState) -> None:
        previous = self._stored
        if state.updated_at is not None and (previous is None or previous.version != state.version):
            self.propagation_lag = max(0.0, time.time() - state.updated_at.timestamp())
        self._stored = state
        self._publish(self._make_view(state))

    def _make_view(self, stored: MaintenanceState) -> View:
        now = datetime.now(timezone.utc)
        if self.force_mode is not None:
            return effective_view(_forced(self.force_mode, stored), now, "force_mode")
        if not self.healthy and self.on_store_error != "last_known":
            if self.on_store_error == "open":
                return effective_view(
                    attrs.evolve(stored, active=False, window=None), now, "store_error:open"
                )
            closed = attrs.evolve(
                stored,
                active=True,
                mode=Mode.NORMAL,
                reason=_UNAVAILABLE,
                message=None,
                operations=None,
                ends_at=None,
                window=None,
                started_at=stored.started_at or now,
            )
            return effective_view(closed, now, "store_error:closed")
        return effective_view(stored, now)

    def _recompute(self) -> View:
        with self._lock:
            stored = self._stored if self._stored is not None else MaintenanceState()
            self._publish(self._make_view(stored))
            return self._view

    def _publish(self, view: View) -> None:
        old = self._view
        self._view = view
        self.idle = self._started and not view.state.active and view.check_at == math.inf
        if self._on_change is not None and (
            old.state.active != view.state.active
            or old.state.version != view.state.version
            or old.state.mode != view.state.mode
        ):
            try:
                self._on_change(old, view)
            except Exception:  # a listener must never break the snapshot
                logger.exception("maintguard: snapshot change listener failed")

    # -- health -------------------------------------------------------------

    def _failed(self, exc: StoreError) -> None:
        with self._lock:
            if self.healthy:
                self.healthy = False
                self.last_error = str(exc)
                if isinstance(exc, StateMissingError):
                    # Not an outage: the store was never set up. Say what to run.
                    logger.error(
                        "[MAINTENANCE] State store has no state: store=%s policy=%s: %s",
                        self.store.name,
                        self.on_store_error,
                        exc,
                    )
                else:
                    logger.error(
                        "[MAINTENANCE] State store unavailable: store=%s policy=%s error=%s",
                        self.store.name,
                        self.on_store_error,
                        type(exc).__name__,
                    )
                if self._stored is None and self.on_store_error == "last_known":
                    logger.warning(
                        "[MAINTENANCE] No maintenance state known yet: serving as if off"
                    )
                self._publish(self._make_view(self._stored or MaintenanceState()))

    def _recovered(self) -> None:
        if not self.healthy:
            self.healthy = True
            self.last_error = None
            logger.warning("[MAINTENANCE] State store recovered: store=%s", self.store.name)
        self.last_refresh = time.time()

    # -- the background thread ----------------------------------------------

    def start(self) -> None:
        """Load once (bounded by the store's timeout) and start the thread.

        Requests arriving meanwhile wait on the start lock for that first
        load: none may be judged against the built-in "off" view while the
        store may say "emergency".
        """
        with self._start_lock:
            if self._started:
                return
            if self._stored is None:
                self.refresh()
                check_configuration(self.store)
            self._thread = threading.Thread(
                target=self._run, name="maintguard-snapshot", daemon=True
            )
            self._thread.start()
            try:
                self._unsubscribe = self.store.subscribe(self._wake.set)
            except StoreError as exc:
                self._failed(exc)
            self._started = True
            self._publish(self._view)  # now started: let ``idle`` hold

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        me = threading.current_thread()
        while self._thread is me:
            self._wake.wait(self.refresh_interval)
            self._wake.clear()
            if self._thread is not me:
                return
            self.refresh()
            if self._on_tick is not None:
                try:
                    self._on_tick()
                except Exception:
                    logger.exception("maintguard: housekeeping failed")

    def stop(self) -> None:
        self.idle = False
        thread, self._thread = self._thread, None
        self._wake.set()
        # Wait (bounded: a refresh is bounded by the store's timeout) for a
        # refresh in flight, so that closing the store after ``stop`` leaves no
        # connection behind it; never from the snapshot thread itself.
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._lock:
            self._started = False

    def after_fork(self) -> None:
        """In a forked child: keep the state, restart the thread lazily."""
        self._thread = None
        self._unsubscribe = None
        self._lock = threading.RLock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._started = False
        self.idle = False
        self._pid = os.getpid()


_snapshots: weakref.WeakSet[Snapshot] = weakref.WeakSet()


def _track_fork(snapshot: Snapshot) -> None:
    _snapshots.add(snapshot)


def _after_fork_in_child() -> None:
    for snapshot in list(_snapshots):
        snapshot.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
