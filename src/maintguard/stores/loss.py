"""Store loss: a state record that vanished, or came back older, after a
process had seen it.

Versions only grow, so a missing record (Redis ``FLUSHDB``, an evicted key,
a deleted SQL row or table) or a lower version (an older ``dump.rdb`` or
database restored) is not a decision anybody made: the process that notices
keeps its last known state and writes it back here, by compare-and-set on
what it found, so that of several workers one restores it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.stores.base import StateStore

logger = logging.getLogger("maintguard")


def write_back(store: StateStore, known: MaintenanceState, found: int | None) -> bool:
    """Restore ``known`` over what was found (``None``: nothing at all);
    ``True`` when this call won, after logging the ERROR line. A store that
    cannot recreate a missing record (no ``restore_missing``) is left alone:
    the snapshot keeps the last known state meanwhile."""
    record = AuditRecord(
        at=datetime.now(timezone.utc),
        actor="maintguard",
        action="restore",
        mode=known.mode if known.active else None,
        reason="the state store lost its state; the last known state was written back",
        version=known.version,
        details={"found_version": found},
    )
    if found is None:
        restore_missing = getattr(store, "restore_missing", None)
        if restore_missing is None:
            return False
        won = bool(restore_missing(known, record))
    else:
        won = store.compare_and_set(found, known, record)
    if won:
        logger.error(
            "[MAINTENANCE] State store lost its state: restored version=%s mode=%s "
            "active=%s store=%s found=%s",
            known.version,
            known.mode.value,
            str(known.active).lower(),
            store.name,
            "nothing" if found is None else f"version {found}",
        )
    return won


def check_configuration(store: StateStore) -> None:
    """Once per process, at start-up: let the store warn about its server's
    settings (Redis: a ``maxmemory-policy`` that may evict the state key)."""
    check = getattr(store, "check_configuration", None)
    if check is None:
        return
    try:
        check()
    except Exception:  # a diagnostic must never stop the start
        logger.debug("maintguard: store configuration check failed", exc_info=True)
