"""``MaintenanceStatus``: what ``GET {prefix}/status`` and the code API show."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from maintguard.core.operations import OperationType
from maintguard.core.state import MaintenanceState, Mode, ScheduledWindow, format_time

#: What ``public_status="minimal"`` shows anonymous callers: what users are
#: told anyway (the 503 page, the banner), never the internal reason, the
#: operators' names, the store or the version.
PUBLIC_FIELDS = (
    "is_active",
    "mode",
    "message",
    "started_at",
    "estimated_completion",
    "ends_at",
    "blocked_operations",
    "upcoming",
)


@attrs.frozen
class MaintenanceStatus:
    """The effective maintenance state of this instance, for people."""

    is_active: bool
    mode: Mode
    reason: str | None
    message: str | None
    estimated_duration: float | None
    started_at: datetime | None
    estimated_completion: datetime | None
    ends_at: datetime | None
    blocked_operations: tuple[OperationType, ...]
    active_jobs_count: int
    upcoming: ScheduledWindow | None
    store: str
    version: int
    enabled_by: str | None = None
    operations: tuple[OperationType, ...] | None = None
    progress: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    #: Why this instance differs from the store (``force_mode``, store outage).
    override: str | None = None

    def to_dict(self) -> dict[str, Any]:
        upcoming = self.upcoming
        return {
            "is_active": self.is_active,
            "mode": self.mode.value,
            "reason": self.reason,
            "message": self.message,
            "estimated_duration": self.estimated_duration,
            "started_at": format_time(self.started_at),
            "estimated_completion": format_time(self.estimated_completion),
            "ends_at": format_time(self.ends_at),
            "blocked_operations": [op.name for op in self.blocked_operations],
            "active_jobs_count": self.active_jobs_count,
            "upcoming": (
                {
                    "reason": upcoming.reason,
                    "message": upcoming.message
                    if upcoming.message is not None
                    else upcoming.reason,
                    "mode": upcoming.mode.value,
                    "starts_at": format_time(upcoming.starts_at),
                    "ends_at": format_time(upcoming.ends_at),
                }
                if upcoming is not None
                else None
            ),
            "store": self.store,
            "version": self.version,
            "enabled_by": self.enabled_by,
            "operations": [op.name for op in self.operations]
            if self.operations is not None
            else None,
            "progress": dict(self.progress),
            "override": self.override,
        }


def public_status(full: dict[str, Any]) -> dict[str, Any]:
    """The minimal form of ``MaintenanceStatus.to_dict()`` for anonymous
    callers: ``PUBLIC_FIELDS`` only, and an upcoming window without its reason."""
    public = {name: full[name] for name in PUBLIC_FIELDS}
    upcoming = public["upcoming"]
    if upcoming is not None:
        public["upcoming"] = {k: v for k, v in upcoming.items() if k != "reason"}
    return public


def build_status(
    state: MaintenanceState,
    *,
    blocked: tuple[OperationType, ...],
    active_jobs_count: int,
    store: str,
    override: str | None,
) -> MaintenanceStatus:
    active = state.active
    return MaintenanceStatus(
        is_active=active,
        # Off is "normal", whatever mode the last maintenance had (an
        # ``ends_at`` or a window end leaves the stored mode behind).
        mode=state.mode if active else Mode.NORMAL,
        reason=state.reason if active else None,
        message=(state.message if state.message is not None else state.reason) if active else None,
        estimated_duration=state.estimated_duration if active else None,
        started_at=state.started_at if active else None,
        estimated_completion=state.estimated_completion if active else None,
        ends_at=state.ends_at if active else None,
        blocked_operations=blocked,
        active_jobs_count=active_jobs_count,
        upcoming=state.window,
        store=store,
        version=state.version,
        enabled_by=state.updated_by if active else None,
        operations=tuple(sorted(state.operations))
        if active and state.operations is not None
        else None,
        progress=state.progress if active else {},
        override=override,
    )
