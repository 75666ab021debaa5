"""Changes to the maintenance state, made by the process that asks for them.

``Changes`` validates what the caller asks, builds the new state and hands it
to the ``StateWriter`` (compare-and-set, snapshot, log, events); when a
maintenance starts, it runs the side effects in this process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

import attrs

from maintguard import logs
from maintguard.config import Settings
from maintguard.control.status import MaintenanceStatus
from maintguard.control.validation import (
    validate_actor,
    validate_duration,
    validate_future,
    validate_message,
    validate_mode,
    validate_operations,
    validate_reason,
)
from maintguard.control.writer import StateWriter
from maintguard.core.state import AuditRecord, MaintenanceState, Mode, ScheduledWindow, utcnow
from maintguard.effects.events import EventKind, MaintenanceEvent
from maintguard.effects.runner import SideEffects
from maintguard.exceptions import ConflictError, CorruptStateError, StoreError, ValidationError
from maintguard.stores.snapshot import View


class Changes:
    """enable / emergency / disable / schedule, and the window transitions.

    ``status`` gives the status to answer with after a change; the side
    effects of a start run through ``effects`` in this process.
    """

    def __init__(
        self,
        writer: StateWriter,
        effects: SideEffects,
        settings: Settings,
        status: Callable[[], MaintenanceStatus],
    ) -> None:
        self.writer = writer
        self.effects = effects
        self.settings = settings
        self.status = status

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
        """Switch maintenance on (or update the one in force); ``notify``:
        the notifiers tell users too."""
        mode = validate_mode(mode)
        notify = _flag(notify, "notify")
        if mode is Mode.EMERGENCY:
            for name, value in (("ends_at", ends_at), ("operations", operations)):
                if value is not None:
                    # An emergency blocks everything and never ends by itself.
                    raise ValidationError(f"{name} does not apply to an emergency", name)
            return self.enable_emergency(
                reason,
                enabled_by=enabled_by,
                message=message,
                duration=duration,
                expected_version=expected_version,
                notify=notify,
            )
        reason = validate_reason(reason)
        message = validate_message(message)
        duration = validate_duration(duration)
        ops = validate_operations(operations)
        now = utcnow()
        ends = validate_future(ends_at, "ends_at", now)
        actor = validate_actor(enabled_by)

        def build(current: MaintenanceState) -> MaintenanceState:
            if current.active and current.mode is Mode.EMERGENCY and not force:
                raise ConflictError(
                    "an emergency is active; a normal enable needs force=true to downgrade it",
                    current.version,
                )
            same = current.active and current.mode is mode
            return attrs.evolve(
                current,
                active=True,
                mode=mode,
                reason=reason,
                message=message,
                started_at=current.started_at if same else now,
                estimated_duration=duration
                if duration is not None
                else self.settings.default_timeout,
                # A repeat updates what it names; an end or a scope it does
                # not name stays (a window's end must not silently vanish).
                ends_at=ends if ends is not None or not same else current.ends_at,
                operations=ops if ops is not None or not same else current.operations,
                progress=current.progress if same else {},
            )

        before, after = self.writer.change("enable", actor, build, expected_version, reason)
        self._announce(before, after, actor, notify=notify)
        return self.status()

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
        notify = _flag(notify, "notify")
        reason = validate_reason(reason)
        message = validate_message(message)
        duration = validate_duration(duration)
        if grace_period is None:
            grace_period = self.settings.job_grace_period
        if isinstance(grace_period, bool):
            raise ValidationError("grace_period must be a number of seconds", "grace_period")
        grace = validate_duration(grace_period, "grace_period") if grace_period else 0.0
        if not isinstance(terminate_jobs, bool):
            raise ValidationError("terminate_jobs must be true or false", "terminate_jobs")
        now = utcnow()
        actor = validate_actor(enabled_by)

        def build(current: MaintenanceState) -> MaintenanceState:
            same = current.active and current.mode is Mode.EMERGENCY
            return attrs.evolve(
                current,
                active=True,
                mode=Mode.EMERGENCY,
                reason=reason,
                message=message,
                started_at=current.started_at if same else now,
                estimated_duration=duration,
                ends_at=None,  # an emergency never ends by itself
                operations=None,
                progress=current.progress if same else {},
            )

        before, after = self.writer.change("emergency", actor, build, expected_version, reason)
        self._announce(
            before,
            after,
            actor,
            terminate_jobs=terminate_jobs,
            grace=grace or 0.0,
            background=background,
            notify=notify,
        )
        return self.status()

    def disable_maintenance(
        self,
        disabled_by: str | None = None,
        *,
        expected_version: int | None = None,
        force: bool = False,
        notify: bool = False,
    ) -> MaintenanceStatus:
        """Switch maintenance off; a no-op when it is off. ``force`` also
        drops a pending scheduled window; ``notify`` tells users services resumed."""
        actor = validate_actor(disabled_by)
        notify = _flag(notify, "notify")

        def build(current: MaintenanceState) -> MaintenanceState | None:
            if not current.active and not (force and current.window is not None):
                return None
            return attrs.evolve(
                current,
                active=False,
                mode=Mode.NORMAL,  # off is "normal", not "emergency, inactive"
                ends_at=None,
                operations=None,
                progress={},
                window=None if force else current.window,
            )

        try:
            before, after = self.writer.change("disable", actor, build, expected_version, "")
        except CorruptStateError:
            if not force:
                raise
            before, after = self._repair(actor)
        self._announce(before, after, actor, notify=notify)
        return self.status()

    def _repair(self, actor: str) -> tuple[MaintenanceState, MaintenanceState]:
        """``disable --force`` over a stored value nobody can read: overwrite
        it with "off", at a version above any the audit trail has seen."""
        overwrite = getattr(self.writer.store, "overwrite", None)
        if overwrite is None:
            raise StoreError(
                f"the {self.writer.store.name} store cannot overwrite a corrupt state; "
                "repair it by hand"
            )
        try:
            latest = self.writer.store.read_audit(1)
        except CorruptStateError:
            latest = []
        version = (latest[0].version if latest else 0) + 1
        now = utcnow()
        repaired = MaintenanceState(version=version, updated_at=now, updated_by=actor)
        record = AuditRecord(
            at=now,
            actor=actor,
            action="repair",
            mode=None,
            reason="disable --force over an unreadable stored state",
            version=version,
        )
        overwrite(repaired, record)
        self.writer.snapshot.apply(repaired)
        logs.maintenance("Corrupt maintenance state replaced", level=logging.WARNING, admin=actor)
        return MaintenanceState(active=True), repaired

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
        notify = _flag(notify, "notify")
        reason = validate_reason(reason)
        message = validate_message(message)
        mode = validate_mode(mode)
        ops = validate_operations(operations)
        now = utcnow()
        start = validate_future(starts_at, "starts_at", now)
        end = validate_future(ends_at, "ends_at", now)
        if start is None:
            raise ValidationError("starts_at is required", "starts_at")
        if end is not None and end <= start:
            raise ValidationError("ends_at must be after starts_at", "ends_at")
        if mode is Mode.EMERGENCY:
            # As for enable: an emergency blocks everything and never ends by itself.
            for name, value in (("ends_at", end), ("operations", ops)):
                if value is not None:
                    raise ValidationError(f"{name} does not apply to an emergency", name)
        actor = validate_actor(scheduled_by)
        window = ScheduledWindow(reason, start, end, mode, message, actor, ops)

        def build(current: MaintenanceState) -> MaintenanceState:
            return attrs.evolve(current, window=window)

        _, after = self.writer.change("schedule", actor, build, expected_version, reason)
        self.writer.events.emit(
            MaintenanceEvent(EventKind.WINDOW_UPCOMING, after, actor, now, notify_users=notify)
        )
        logs.maintenance(
            "Maintenance scheduled",
            reason=reason,
            admin=actor,
            starts_at=window.to_dict()["starts_at"],
            ends_at=window.to_dict()["ends_at"],
        )
        return self.status()

    def cancel_schedule(
        self, cancelled_by: str | None = None, *, expected_version: int | None = None
    ) -> MaintenanceStatus:
        actor = validate_actor(cancelled_by)

        def build(current: MaintenanceState) -> MaintenanceState | None:
            if current.window is None:
                return None
            return attrs.evolve(current, window=None)

        before, after = self.writer.change("cancel_schedule", actor, build, expected_version, "")
        if before.version != after.version:
            logs.maintenance("Scheduled maintenance cancelled", admin=actor)
        return self.status()

    def _announce(
        self,
        before: MaintenanceState,
        after: MaintenanceState,
        actor: str,
        *,
        terminate_jobs: bool = False,
        grace: float = 0.0,
        background: bool = True,
        notify: bool = False,
    ) -> None:
        """Announce a change this process made and run a start's side effects."""
        if self.writer.announce(before, after, actor, notify):
            self.effects.start(
                after, terminate_jobs=terminate_jobs, grace=grace, background=background
            )

    def claim_transition(self, view: View) -> None:
        """Write a window's start or end (or an ``ends_at``) into the store, once.

        Every worker already acts on the effective state; this makes the
        store and the audit trail agree and elects, by compare-and-set, the
        one process that runs the transition's side effects. A window that
        passed entirely unseen is recorded as expired.
        """
        stored = view.stored
        if view.override is not None or view.state is stored:
            return
        if stored.active != view.state.active:
            action = "window_start" if view.state.active else "window_end"
        else:
            action = "window_expired"
        new = attrs.evolve(
            view.state,
            version=stored.version + 1,
            updated_at=utcnow(),
            updated_by=view.state.updated_by or "schedule",
        )
        record = AuditRecord(
            at=utcnow(),
            actor="schedule",
            action=action,
            mode=new.mode if new.active else None,
            reason=new.reason,
            version=new.version,
        )
        try:
            won = self.writer.store.compare_and_set(stored.version, new, record)
        except StoreError:
            return
        if won:
            self.writer.snapshot.apply(new)
            self._announce(stored, new, "schedule")


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false", field)
    return value
