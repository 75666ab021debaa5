"""The per-minute counts of the last hour, as the console and the report show them."""

from __future__ import annotations

import time
from typing import Any

from maintguard.core.state import format_timestamp
from maintguard.stores.base import AttemptCounts

#: Minutes of history shown (the dashboard's sparkline).
HISTORY_MINUTES = 60


def minute_history(counts: AttemptCounts, now: float | None = None) -> dict[str, Any]:
    """``start`` (the first minute) and 60 counts each, oldest first."""
    last = int((time.time() if now is None else now) // 60)
    minutes = range(last - HISTORY_MINUTES + 1, last + 1)
    return {
        "start": format_timestamp(minutes[0] * 60),
        "blocked": [int(counts.blocked_minutes.get(m, 0)) for m in minutes],
        "simulated": [int(counts.simulated_minutes.get(m, 0)) for m in minutes],
    }
