"""How states and audit records map onto the SQL store's rows, both ways.

The state row is typed column by column so that an operator can read and
repair it with plain SQL; only the structured rest (operations, window,
progress) is a JSON column. Reading goes back through the strict parsers of
the stored JSON forms, so a hand-edited row that makes no sense is reported
as corrupt rather than half-loaded.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from maintguard.core.state import AuditRecord, MaintenanceState, Mode, format_time
from maintguard.exceptions import CorruptStateError

if TYPE_CHECKING:
    from sqlalchemy.engine import Row


def _columns(state: MaintenanceState) -> dict[str, Any]:
    data = state.to_dict()
    return {
        "active": state.active,
        "mode": state.mode.value,
        "reason": state.reason,
        "message": state.message,
        "started_at": state.started_at,
        "ends_at": state.ends_at,
        "updated_at": state.updated_at,
        "estimated_duration": state.estimated_duration,
        "version": state.version,
        "updated_by": state.updated_by,
        "extra": json.dumps(
            {key: data[key] for key in ("operations", "window", "progress")}, sort_keys=True
        ),
    }


def _state_from_row(row: Row[Any]) -> MaintenanceState:
    """Read the typed row through the strict parser of the stored JSON form."""
    try:
        extra = json.loads(row.extra) if row.extra is not None else {}
    except (TypeError, ValueError) as exc:
        raise CorruptStateError(f"stored 'extra' column is not valid JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise CorruptStateError("stored 'extra' column is not a JSON object")
    return MaintenanceState.from_dict(
        {
            "version": row.version,
            "active": row.active,
            "mode": row.mode,
            "reason": row.reason,
            "message": row.message,
            "started_at": format_time(row.started_at),
            "estimated_duration": row.estimated_duration,
            "ends_at": format_time(row.ends_at),
            "updated_at": format_time(row.updated_at),
            "updated_by": row.updated_by,
            "operations": extra.get("operations"),
            "window": extra.get("window"),
            "progress": extra.get("progress") or {},
        }
    )


def _audit_columns(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "mode": record.mode.value if record.mode is not None else None,
        "reason": record.reason,
        "version": record.version,
        "details": json.dumps(dict(record.details), sort_keys=True),
    }


def _audit_from_row(row: Row[Any]) -> AuditRecord:
    try:
        details = json.loads(row.details)
        if not isinstance(details, dict) or row.at is None:
            raise ValueError("details is not a JSON object")
        return AuditRecord(
            at=row.at,
            actor=row.actor,
            action=row.action,
            mode=Mode(row.mode) if row.mode is not None else None,
            reason=row.reason or "",
            version=int(row.version),
            details=details,
        )
    except (TypeError, ValueError) as exc:
        raise CorruptStateError(f"stored audit record is malformed: {exc}") from None


def _hash(path: str) -> str:
    """The key a sample path is unique by: paths are too long to index."""
    return hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()
