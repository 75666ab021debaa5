"""Events the service emits when maintenance changes, and who hears them.

Listeners (notifiers, the application's own callbacks) run off the request
path, on the dispatcher's thread; one failing listener is logged and never
stops the others or the change itself.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol

import attrs

from maintguard.core.state import MaintenanceState, Mode, format_time

logger = logging.getLogger("maintguard")


class EventKind(str, enum.Enum):
    ACTIVATED = "activated"
    UPDATED = "updated"
    DEACTIVATED = "deactivated"
    EMERGENCY = "emergency"
    WINDOW_UPCOMING = "window_upcoming"
    #: The store lost the state (flushed, evicted, restored from an older
    #: backup); the last known state was written back.
    STORE_LOST = "store_lost"

    def __str__(self) -> str:
        return self.value


@attrs.frozen
class MaintenanceEvent:
    """Something happened to maintenance. ``simulated`` marks test mode."""

    kind: EventKind
    state: MaintenanceState
    actor: str
    at: datetime
    #: The operator asked (``notify: true``) that users be told: notifiers
    #: that reach users send ``notice``.
    notify_users: bool = False

    @property
    def simulated(self) -> bool:
        return self.state.mode is Mode.TEST

    @property
    def notice(self) -> str:
        """What users are told: "maintenance scheduled", "services resumed"."""
        state = self.state
        if self.kind is EventKind.DEACTIVATED:
            return "Services have resumed. Thank you for your patience."
        if self.kind is EventKind.WINDOW_UPCOMING and state.window is not None:
            window = state.window
            text = window.message if window.message is not None else window.reason
            until = f" until {format_time(window.ends_at)}" if window.ends_at else ""
            return f"Maintenance scheduled from {format_time(window.starts_at)}{until}: {text}"
        text = state.message if state.message is not None else state.reason
        if self.kind is EventKind.UPDATED:
            return f"Maintenance update: {text}"
        back = state.estimated_completion
        eta = f" Expected back by {format_time(back)}." if back is not None else ""
        return f"Maintenance in progress: {text}.{eta}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON body webhooks receive."""
        state = self.state
        return {
            "event": self.kind.value,
            "simulated": self.simulated,
            "at": format_time(self.at),
            "actor": self.actor,
            "mode": state.mode.value,
            "reason": state.reason,
            "message": state.message if state.message is not None else state.reason,
            "started_at": format_time(state.started_at),
            "estimated_completion": format_time(state.estimated_completion),
            "ends_at": format_time(state.ends_at),
            "window": state.window.to_dict() if state.window is not None else None,
            "version": state.version,
            "notify_users": self.notify_users,
            "notice": self.notice if self.notify_users else None,
        }


def store_lost(restored: MaintenanceState) -> MaintenanceEvent:
    """The event of a store that lost its state, which was written back."""
    now = datetime.now(timezone.utc)
    return MaintenanceEvent(EventKind.STORE_LOST, restored, "maintguard", now)


class Listener(Protocol):
    """Anything with ``notify(event)``; it may block (it runs off-path)."""

    def notify(self, event: MaintenanceEvent) -> None: ...


def as_listener(value: Listener | Callable[[MaintenanceEvent], object]) -> Listener:
    if hasattr(value, "notify"):
        return value  # type: ignore[return-value,unused-ignore]
    if callable(value):
        return _CallableListener(value)
    raise TypeError(f"{value!r} is neither a notifier nor a callable")


@attrs.frozen
class _CallableListener:
    function: Callable[[MaintenanceEvent], object]

    def notify(self, event: MaintenanceEvent) -> None:
        self.function(event)


class EventDispatcher:
    """Delivers events on one lazily started daemon thread per process."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        # Events, and drain markers (set once everything before them is delivered).
        self._queue: queue.SimpleQueue[MaintenanceEvent | threading.Event] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, listener: Listener | Callable[[MaintenanceEvent], object]) -> None:
        self._listeners.append(as_listener(listener))

    @property
    def listeners(self) -> tuple[Listener, ...]:
        return tuple(self._listeners)

    def emit(self, event: MaintenanceEvent) -> None:
        if not self._listeners:
            return
        self._ensure_thread()
        self._queue.put(event)

    def after_fork(self) -> None:
        """In a forked child: the parent's thread does not exist here."""
        self._thread = None
        self._queue = queue.SimpleQueue()
        self._lock = threading.Lock()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every event queued so far was delivered (tests, shutdown)."""
        if not self._listeners:
            return True
        done = threading.Event()
        self._ensure_thread()
        self._queue.put(done)
        return done.wait(timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="maintguard-events", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if isinstance(event, threading.Event):
                event.set()
                continue
            for listener in list(self._listeners):
                try:
                    listener.notify(event)
                except Exception as exc:  # a notifier must never break a change
                    logger.error(
                        "[MAINTENANCE] Notification failed: notifier=%s event=%s error=%s",
                        type(listener).__name__,
                        event.kind.value,
                        type(exc).__name__,
                    )
