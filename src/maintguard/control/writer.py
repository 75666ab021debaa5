"""Writing the maintenance state: the compare-and-set loop and its announcement.

Every change is a compare-and-set on the state's version, retried when the
caller did not pin a version. The process that wins applies the new state to
its own snapshot at once, then logs the change and tells the listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs

from maintguard import logs
from maintguard.core.state import AuditRecord, MaintenanceState, Mode, utcnow
from maintguard.effects.events import EventDispatcher, EventKind, MaintenanceEvent
from maintguard.exceptions import ConflictError, StateMissingError, StoreError, ValidationError
from maintguard.stores import StateStore
from maintguard.stores.snapshot import Snapshot

#: How often a last-writer-wins change retries its compare-and-set.
_RETRIES = 50

#: Changes that record progress rather than a decision: they keep ``updated_by``.
_BOOKKEEPING = frozenset({"progress"})

#: Builds the new state from the current one; ``None``: nothing to change.
Build = Callable[[MaintenanceState], "MaintenanceState | None"]


class StateWriter:
    """Compare-and-set changes to one store, announced once by their maker."""

    def __init__(self, store: StateStore, snapshot: Snapshot, events: EventDispatcher) -> None:
        self.store = store
        self.snapshot = snapshot
        self.events = events

    def change(
        self,
        action: str,
        actor: str,
        build: Build,
        expected_version: int | None,
        reason: str,
        details: dict[str, Any] | None = None,
    ) -> tuple[MaintenanceState, MaintenanceState]:
        """Compare-and-set loop. Returns (stored before, stored after); both
        the effective state when there was nothing to change."""
        if expected_version is not None and (
            isinstance(expected_version, bool) or not isinstance(expected_version, int)
        ):
            raise ValidationError("expected_version must be an integer", "expected_version")
        for _ in range(_RETRIES):
            stored = self._load()
            if stored is None:
                continue  # the store had lost its state; it was written back
            now = utcnow()
            current = stored.effective(now)
            if expected_version is not None and stored.version != expected_version:
                raise ConflictError(
                    f"the state is at version {stored.version}, not {expected_version}",
                    stored.version,
                )
            built = build(current)
            if built is None:  # nothing to change: nothing to announce
                self.snapshot.apply(stored)
                return current, current
            # Bookkeeping (side-effect progress) is no one's decision: the
            # status keeps naming the person who enabled the maintenance.
            author = current.updated_by if action in _BOOKKEEPING else actor
            new = attrs.evolve(built, version=stored.version + 1, updated_at=now, updated_by=author)
            record = AuditRecord(
                at=now,
                actor=actor,
                action=action,
                mode=new.mode if new.active else None,
                reason=reason,
                version=new.version,
                details=details or {},
            )
            if self.store.compare_and_set(stored.version, new, record):
                self.snapshot.apply(new)
                # Announce against what was *stored*: a window this change
                # materialises is a start, with its side effects.
                return stored, new
            if expected_version is not None:
                raise ConflictError("the state changed meanwhile", self.store.load().version)
        raise StoreError(f"could not apply {action!r}: the state kept changing")

    def _load(self) -> MaintenanceState | None:
        """The stored state, or ``None`` after this call found the store had
        lost it and wrote the last known state back (a change built on the
        emptied store would silently undo, or never announce, what holds)."""
        known = self.snapshot.known
        try:
            stored = self.store.load()
        except StateMissingError:
            if known is None or known.version == 0:
                raise
            self.snapshot.restore(known, None)
            return None
        if known is not None and stored.version < known.version:
            self.snapshot.restore(known, stored.version)
            return None
        return stored

    def announce(
        self,
        before: MaintenanceState,
        after: MaintenanceState,
        actor: str,
        notify: bool = False,
    ) -> bool:
        """Log and notify a change this process made; ``True`` when it started
        a maintenance (whose side effects the caller then runs). ``notify``:
        the notifiers also tell users (the event's ``notice``)."""
        now = utcnow()

        def event(kind: EventKind) -> MaintenanceEvent:
            return MaintenanceEvent(kind, after, actor, now, notify_users=notify)

        if before.version == after.version:
            return False
        if after.active and (
            not before.active
            or after.mode is not before.mode
            or after.started_at != before.started_at  # a new maintenance (a window)
        ):
            if after.mode is Mode.EMERGENCY:
                # The manuals grep both wordings: the monitoring guide's
                # "Emergency mode activated", the troubleshooting guide's
                # "[EMERGENCY] Emergency maintenance activated".
                logs.maintenance(
                    "Emergency mode activated",
                    level=logging.WARNING,
                    reason=after.reason,
                    admin=actor,
                )
                logs.maintenance(
                    "Emergency maintenance activated",
                    level=logging.WARNING,
                    tag="EMERGENCY",
                    reason=after.reason,
                    admin=actor,
                )
                self.events.emit(event(EventKind.EMERGENCY))
            else:
                logs.maintenance(
                    "Maintenance mode activated",
                    level=logging.WARNING,
                    reason=after.reason,
                    admin=actor,
                    mode=after.mode.value,
                )
                self.events.emit(event(EventKind.ACTIVATED))
            return True
        if before.active and not after.active:
            started = before.started_at or now
            logs.maintenance(
                "Maintenance mode deactivated",
                level=logging.WARNING,
                duration=_human(now - started),
                admin=actor,
            )
            self.events.emit(event(EventKind.DEACTIVATED))
        elif after.active:
            logs.maintenance("Maintenance updated", reason=after.reason, admin=actor)
            self.events.emit(event(EventKind.UPDATED))
        return False


def _human(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours {seconds % 3600 // 60} minutes"
