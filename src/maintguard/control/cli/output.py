"""How the ``maintguard`` command prints a status and the audit trail.

Each takes ``as_json``: JSON for scripts (the API's own documents), or
aligned text for people.
"""

from __future__ import annotations

import json
from typing import TextIO

from maintguard.control.status import MaintenanceStatus
from maintguard.core.state import AuditRecord, format_time
from maintguard.logs import escape


def _show_status(status: MaintenanceStatus, as_json: bool, out: TextIO) -> None:
    data = status.to_dict()
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False), file=out)
        return
    rows: list[tuple[str, object]] = [
        ("maintenance", f"ON ({data['mode']})" if data["is_active"] else "off"),
    ]
    if data["is_active"]:
        # Reason, message and names are anyone's text: escaped for the terminal.
        rows += [
            ("reason", _printable(data["reason"])),
            ("message", _printable(data["message"])),
            ("started at", data["started_at"]),
            ("estimated completion", data["estimated_completion"]),
            ("ends at", data["ends_at"]),
            ("enabled by", _printable(data["enabled_by"])),
            ("blocks", ", ".join(data["blocked_operations"]) or "nothing"),
        ]
        if data["progress"]:
            rows.append(("side effects", json.dumps(data["progress"], sort_keys=True)))
    upcoming = data["upcoming"]
    if upcoming is not None:
        until = f" until {upcoming['ends_at']}" if upcoming["ends_at"] else ""
        rows.append(
            (
                "scheduled",
                f"{upcoming['mode']} from {upcoming['starts_at']}{until}: "
                f"{_printable(upcoming['reason'])}",
            )
        )
    if data["override"]:
        rows.append(("override", data["override"]))
    rows.append(("store", f"{data['store']} (version {data['version']})"))
    for label, value in rows:
        if value is not None:
            print(f"{label + ':':<22}{value}", file=out)


def _show_audit(records: list[AuditRecord], as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps({"records": [r.to_dict() for r in records]}, indent=2), file=out)
        return
    if not records:
        print("no audit records", file=out)
    for record in records:
        mode = record.mode.value if record.mode is not None else "-"
        reason = f'"{escape(record.reason)}"' if record.reason else ""
        print(
            f"{format_time(record.at)}  v{record.version:<5} {record.action:<16} {mode:<9} "
            f"{_printable(record.actor)}  {reason}".rstrip(),
            file=out,
        )


def _printable(text: str | None) -> str | None:
    """``text``, quoted and escaped when it holds anything but printable
    characters: line breaks, terminal escapes (C0 and C1 controls), bidi
    overrides, zero-width characters."""
    if text is None or text.isprintable():
        return text
    return f'"{escape(text)}"'
