"""The maintenance state: one versioned value shared by every worker.

Stores keep exactly this value (plus an audit trail). Everything the request
path needs is derived from it locally, without I/O. Serialisation is strict:
a stored value that does not parse is a ``CorruptStateError`` so that the
store-failure policy applies instead of a half-understood state.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from maintguard.core.operations import OperationType
from maintguard.exceptions import CorruptStateError, ValidationError

#: Bumped when the stored layout changes; older values are read, newer refused.
STATE_FORMAT = 1


class Mode(str, enum.Enum):
    """The kind of maintenance in force."""

    NORMAL = "normal"
    EMERGENCY = "emergency"
    TEST = "test"

    def __str__(self) -> str:
        return self.value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def format_time(value: datetime | None) -> str | None:
    """ISO-8601 with an explicit ``Z`` offset, whole seconds or better."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def format_timestamp(seconds: float | None) -> str | None:
    """``format_time`` of a POSIX timestamp."""
    if seconds is None:
        return None
    return format_time(datetime.fromtimestamp(seconds, timezone.utc))


def parse_time(value: object, field: str) -> datetime:
    """Parse an ISO-8601 time that carries an explicit UTC offset."""
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValidationError(f"{field} must be an ISO-8601 time string", field)
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{field} is not a valid ISO-8601 time", field) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError(f"{field} must carry a UTC offset such as Z or +00:00", field)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # year 1 or 9999 shifted out of range by the offset
        raise ValidationError(f"{field} is out of range", field) from None


def _mode(value: object) -> Mode:
    if isinstance(value, Mode):
        return value
    try:
        return Mode(value)
    except ValueError:
        raise ValidationError(
            f"mode must be one of {', '.join(m.value for m in Mode)}", "mode"
        ) from None


def _operations(value: object) -> frozenset[OperationType] | None:
    if value is None:
        return None
    # Stored names this process never registered stay as opaque custom types.
    return frozenset(OperationType.stored(v) for v in value)  # type: ignore[attr-defined]


def _mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


@attrs.frozen
class ScheduledWindow:
    """A maintenance planned in advance; ``ends_at`` None means until disabled."""

    reason: str
    starts_at: datetime
    ends_at: datetime | None = None
    mode: Mode = attrs.field(default=Mode.NORMAL, converter=_mode)
    message: str | None = None
    created_by: str | None = None
    operations: frozenset[OperationType] | None = attrs.field(default=None, converter=_operations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "starts_at": format_time(self.starts_at),
            "ends_at": format_time(self.ends_at),
            "mode": self.mode.value,
            "message": self.message,
            "created_by": self.created_by,
            "operations": sorted(self.operations) if self.operations is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduledWindow:
        ends = data.get("ends_at")
        return cls(
            reason=str(data["reason"]),
            starts_at=parse_time(data["starts_at"], "starts_at"),
            ends_at=parse_time(ends, "ends_at") if ends is not None else None,
            mode=data.get("mode", "normal"),
            message=data.get("message"),
            created_by=data.get("created_by"),
            operations=data.get("operations"),
        )


@attrs.frozen
class MaintenanceState:
    """The stored maintenance state. ``version`` grows by one on every change.

    ``estimated_duration`` is an estimate for users and ``Retry-After``; it
    never ends maintenance. Only ``ends_at`` does. ``operations`` limits a
    partial maintenance to those types (``None``: the mode's full policy).
    """

    version: int = 0
    active: bool = False
    mode: Mode = attrs.field(default=Mode.NORMAL, converter=_mode)
    reason: str = ""
    message: str | None = None
    started_at: datetime | None = None
    estimated_duration: float | None = None
    ends_at: datetime | None = None
    operations: frozenset[OperationType] | None = attrs.field(default=None, converter=_operations)
    updated_at: datetime | None = None
    updated_by: str | None = None
    window: ScheduledWindow | None = None
    #: Progress of the background side effects of the current maintenance
    #: (sessions, jobs, notifications), for the status.
    progress: Mapping[str, Any] = attrs.field(factory=dict, converter=_mapping, hash=False)

    @property
    def estimated_completion(self) -> datetime | None:
        if self.started_at is None or self.estimated_duration is None:
            return None
        return self.started_at + timedelta(seconds=self.estimated_duration)

    def effective(self, now: datetime) -> MaintenanceState:
        """The state as it holds at ``now``: windows open and close on time.

        A reached ``ends_at`` ends maintenance; a window whose start has come
        (and whose end has not) is active. Pure, so every worker agrees.
        """
        if self.active:
            if self.ends_at is not None and now >= self.ends_at:
                ended = attrs.evolve(self, active=False, window=self._pending_window(now))
                # A window that started meanwhile holds from its own start.
                return ended.effective(now) if ended.window is not None else ended
            return self
        window = self.window
        if window is None or now < window.starts_at:
            return self
        if window.ends_at is not None and now >= window.ends_at:
            return attrs.evolve(self, window=None)
        return attrs.evolve(
            self,
            active=True,
            mode=window.mode,
            reason=window.reason,
            message=window.message,
            started_at=window.starts_at,
            estimated_duration=(
                (window.ends_at - window.starts_at).total_seconds()
                if window.ends_at is not None
                else None
            ),
            ends_at=window.ends_at,
            operations=window.operations,
            updated_by=window.created_by,
            window=None,
        )

    def _pending_window(self, now: datetime) -> ScheduledWindow | None:
        window = self.window
        if window is not None and window.ends_at is not None and now >= window.ends_at:
            return None
        return window

    def next_transition(self) -> datetime | None:
        """When ``effective`` may next give a different answer, if ever."""
        times: list[datetime] = []
        if self.active and self.ends_at is not None:
            times.append(self.ends_at)
        if self.window is not None:
            times.append(self.window.starts_at)
            if self.window.ends_at is not None:
                times.append(self.window.ends_at)
        return min(times) if times else None

    def same_content(self, other: MaintenanceState) -> bool:
        """Equal in every field; a manual repair may change fields, not version."""
        return self == other

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON form (also the form of the Redis value)."""
        return {
            "format": STATE_FORMAT,
            "version": self.version,
            "active": self.active,
            "mode": self.mode.value,
            "reason": self.reason,
            "message": self.message,
            "started_at": format_time(self.started_at),
            "estimated_duration": self.estimated_duration,
            "ends_at": format_time(self.ends_at),
            "operations": sorted(self.operations) if self.operations is not None else None,
            "updated_at": format_time(self.updated_at),
            "updated_by": self.updated_by,
            "window": self.window.to_dict() if self.window is not None else None,
            "progress": dict(self.progress),
        }

    @classmethod
    def from_dict(cls, data: object) -> MaintenanceState:
        """Parse the stored form; anything unexpected is ``CorruptStateError``."""
        if not isinstance(data, Mapping):
            raise CorruptStateError("stored maintenance state is not an object")
        try:
            fmt = data.get("format", STATE_FORMAT)
            if not isinstance(fmt, int) or fmt > STATE_FORMAT:
                raise CorruptStateError(f"stored state has unsupported format {fmt!r}")
            version = data["version"]
            active = data["active"]
            if not isinstance(version, int) or isinstance(version, bool) or version < 0:
                raise CorruptStateError("stored version is not a non-negative integer")
            if not isinstance(active, bool):
                raise CorruptStateError("stored 'active' is not a boolean")
            duration = data.get("estimated_duration")
            if duration is not None and (
                isinstance(duration, bool)
                or not isinstance(duration, (int, float))
                or not math.isfinite(duration)
            ):
                raise CorruptStateError("stored estimated_duration is not a number")
            window = data.get("window")
            progress = data.get("progress") or {}
            if not isinstance(progress, Mapping):
                raise CorruptStateError("stored progress is not an object")
            return cls(
                version=version,
                active=active,
                mode=data.get("mode", "normal"),
                reason=_optional_str(data.get("reason")) or "",
                message=_optional_str(data.get("message")),
                started_at=_optional_time(data.get("started_at"), "started_at"),
                estimated_duration=float(duration) if duration is not None else None,
                ends_at=_optional_time(data.get("ends_at"), "ends_at"),
                operations=data.get("operations"),
                updated_at=_optional_time(data.get("updated_at"), "updated_at"),
                updated_by=_optional_str(data.get("updated_by")),
                window=ScheduledWindow.from_dict(window) if window is not None else None,
                progress=progress,
            )
        except CorruptStateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptStateError(f"stored maintenance state is malformed: {exc}") from None


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CorruptStateError("stored text field is not a string")
    return value


def _optional_time(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    return parse_time(value, field)


@attrs.frozen
class AuditRecord:
    """One change: who did what, when, and the state version it produced."""

    at: datetime
    actor: str
    action: str
    mode: Mode | None
    reason: str
    version: int
    details: Mapping[str, Any] = attrs.field(factory=dict, converter=_mapping, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": format_time(self.at),
            "actor": self.actor,
            "action": self.action,
            "mode": self.mode.value if self.mode is not None else None,
            "reason": self.reason,
            "version": self.version,
            "details": dict(self.details),
        }

    @classmethod
    def from_dict(cls, data: object) -> AuditRecord:
        """Parse a stored record; anything unexpected is ``CorruptStateError``."""
        if not isinstance(data, Mapping):
            raise CorruptStateError("stored audit record is not an object")
        try:
            mode = data.get("mode")
            actor, action, version = data["actor"], data["action"], data["version"]
            details = data.get("details") or {}
            if not isinstance(actor, str) or not isinstance(action, str):
                raise CorruptStateError("stored audit actor/action is not a string")
            if not isinstance(version, int) or isinstance(version, bool):
                raise CorruptStateError("stored audit version is not an integer")
            if not isinstance(details, Mapping):
                raise CorruptStateError("stored audit details are not an object")
            return cls(
                at=parse_time(data["at"], "at"),
                actor=actor,
                action=action,
                mode=Mode(mode) if mode is not None else None,
                reason=_optional_str(data.get("reason")) or "",
                version=version,
                details=details,
            )
        except CorruptStateError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptStateError(f"stored audit record is malformed: {exc}") from None
