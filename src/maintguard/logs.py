"""Log lines in the seeds' form, safe against forging, rate-limited.

Every value is quoted and escaped: no CR, LF or other control character
and no bare quote can reach the line, so a client-chosen path can never
start a line of its own. Secrets are never passed in here at all.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable

logger = logging.getLogger("maintguard")

_MAX_VALUE = 200


#: ``scheme://user:password@`` in any text.
_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*):[^/@\s]*@")


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL password, and each of ``secrets``, as ``***``:
    for any message that might carry a store URL or a token."""
    result = str(text)
    for secret in secrets:
        if secret:
            result = result.replace(secret, "***")
    return _CREDENTIALS.sub(r"\1:***@", result)


def quote(value: object) -> str:
    """``"value"`` with backslash, quote and control characters escaped."""
    text = "" if value is None else str(value)
    if len(text) > _MAX_VALUE:
        text = text[:_MAX_VALUE] + "…"
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif (
            code < 0x20
            or code == 0x7F
            or 0x80 <= code < 0xA0
            or char in "\u2028\u2029"
            or 0xD800 <= code < 0xE000  # lone surrogates: no handler could encode them
        ):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def fields(**values: object) -> str:
    return " ".join(f"{key}={quote(value)}" for key, value in values.items())


def maintenance(
    event: str, level: int = logging.INFO, tag: str = "MAINTENANCE", **values: object
) -> None:
    """Log ``[TAG] event: key="value" …``."""
    if logger.isEnabledFor(level):
        logger.log(level, "[%s] %s: %s", tag, event, fields(**values))


class BlockedLineLimiter:
    """Rate-limits "Operation blocked" lines per (operation, mode).

    Up to ``burst`` lines per key per ``window`` seconds are logged; the
    rest are counted and summarised as ``suppressed N similar lines`` when
    the window closes (by the next line or by ``flush``, which the
    housekeeper calls) — so the summary comes at most ``window`` after the
    first dropped line. The counters, not the log, are the exact count.
    """

    def __init__(self, *, burst: int = 5, window: float = 60.0) -> None:
        self.burst = burst
        self.window = window
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], list[float]] = {}  # [window_start, logged, dropped]

    def allow(self, operation: str, mode: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        key = (operation, mode)
        # Once per blocked request: acquire/release costs about half of a
        # ``with`` block on CPython. The summary is logged after the release.
        summary = 0
        lock = self._lock
        lock.acquire()
        try:
            entry = self._keys.get(key)
            if entry is not None and now - entry[0] < self.window:
                if entry[1] < self.burst:
                    entry[1] += 1
                    return True
                entry[2] += 1
                return False
            if entry is not None:
                summary = int(entry[2])
            self._keys[key] = [now, 1, 0]
        finally:
            lock.release()
        if summary:
            self._summary(key, summary)
        return True

    def flush(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key, entry in list(self._keys.items()):
                if now - entry[0] >= self.window:
                    if entry[2]:
                        self._summary(key, int(entry[2]))
                    del self._keys[key]

    @staticmethod
    def _summary(key: tuple[str, str], dropped: int) -> None:
        maintenance(
            "Operation blocked",
            operation=key[0],
            mode=key[1],
            suppressed=f"{dropped} similar lines",
        )
