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
from collections.abc import Callable, Iterable

from maintguard.hits import LOCK_FREE, Hits

logger = logging.getLogger("maintguard")

_MAX_VALUE = 200


#: ``scheme://userinfo@`` in any text, up to the last ``@`` of the URL: a
#: password may hold an unencoded ``/`` or ``@`` (``redis://:pa/ss@host``).
_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s'\"<>]*)@")
#: A secret in a URL's query (``?password=…``, libpq's and PyMySQL's spelling).
_QUERY_SECRET = re.compile(
    r"([?&;](?:password|passwd|pass|pwd|secret|token|auth|api_?key|access_?key)=)"
    r"[^&;\s'\"#<>]*",
    re.IGNORECASE,
)


def _userinfo(match: re.Match[str]) -> str:
    user, colon, _password = match.group(2).partition(":")
    if not colon:
        return match.group(0)  # a user name alone is no secret
    return f"{match.group(1)}{user}:***@"


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL password (``user:password@``, however it is
    spelled, and ``?password=``), and each of ``secrets``, as ``***``: for
    any message that might carry a store URL or a token."""
    result = str(text)
    for secret in secrets:
        if secret:
            result = result.replace(secret, "***")
    result = _CREDENTIALS.sub(_userinfo, result)
    return _QUERY_SECRET.sub(r"\1***", result)


def escape(text: str) -> str:
    """``text`` with backslash, quote and every non-printable character
    escaped: Unicode categories C and Z but the space, so control codes, C1
    codes (``\\x9b`` starts a terminal escape), bidi overrides (U+202E,
    U+2066 to U+2069), zero-width characters (U+200B, U+FEFF), line separators
    and lone surrogates can neither forge a line nor reorder what a
    terminal shows."""
    if text.isprintable() and "\\" not in text and '"' not in text:
        return text
    out: list[str] = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            if code < 0x100:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    return "".join(out)


def quote(value: object) -> str:
    """``"value"`` with backslash, quote and non-printable characters escaped."""
    text = "" if value is None else str(value)
    if len(text) > _MAX_VALUE:
        text = text[:_MAX_VALUE] + "…"
    return '"' + escape(text) + '"'


def fields(**values: object) -> str:
    return " ".join(f"{key}={quote(value)}" for key, value in values.items())


def maintenance(
    event: str, level: int = logging.INFO, tag: str = "MAINTENANCE", **values: object
) -> None:
    """Log ``[TAG] event: key="value" …``."""
    if logger.isEnabledFor(level):
        logger.log(level, "[%s] %s: %s", tag, event, fields(**values))


def folded(count: int, window: float) -> str:
    """``(+16 more in 60 s)``: how many lines a rate-limited one stands for,
    so that counts read from the log add up to the counters."""
    return f"(+{count} more in {window:g} s)"


class _Window:
    """One key's current window: its start, the lines logged in it, and the
    folded ones, counted without a lock once the burst is spent (a flood)."""

    __slots__ = ("folded", "full", "logged", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.logged = 1
        self.full = False
        self.folded = Hits()


class LineLimiter:
    """Rate-limits a kind of line per key, and says how many it folded.

    Up to ``burst`` lines per key per ``window`` seconds are logged; the
    rest are counted and reported by ``summary(key, dropped)`` when the
    window closes (by the next line of that key or by ``flush``, which the
    housekeeper calls), so the report comes at most ``window`` after the
    first dropped line. At most ``max_keys`` keys are tracked (hostile
    clients choose keys): the oldest is reported and forgotten first.

    Once a window's burst is spent, a line of its key is folded without
    taking the lock (``maintguard.hits``). One folded by a thread that
    looked just before its window closed is reported by the next ``flush``,
    which looks at the windows closed since the last one again.
    """

    def __init__(
        self,
        summary: Callable[[tuple[str, ...], int], None],
        *,
        burst: int = 5,
        window: float = 60.0,
        max_keys: int = 4096,
    ) -> None:
        self.summary = summary
        self.burst = burst
        self.window = window
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, ...], _Window] = {}
        self._closed: list[tuple[tuple[str, ...], _Window]] = []

    def allow(self, *key: str, now: float | None = None) -> bool:
        return self.allow_key(key, now)

    def allow_key(self, key: tuple[str, ...], now: float | None = None) -> bool:
        """``allow(*key)`` for a key tuple built once (a remembered verdict's)."""
        now = time.monotonic() if now is None else now
        entry = self._keys.get(key)
        if entry is not None and entry.full and now - entry.start < self.window and LOCK_FREE:
            entry.folded.hit()
            return False
        with self._lock:
            entry = self._keys.get(key)
            if entry is None or now - entry.start >= self.window:
                if entry is not None:
                    self._close(key, self._keys.pop(key))
                while len(self._keys) >= self.max_keys:
                    oldest = next(iter(self._keys))
                    self._close(oldest, self._keys.pop(oldest))
                self._keys[key] = _Window(now)
                return True
            if entry.logged < self.burst:
                entry.logged += 1
                return True
            entry.full = True
            entry.folded.hit()
            return False

    def _close(self, key: tuple[str, ...], entry: _Window) -> None:
        """Report a window's folded lines (lock held); kept until the next
        flush for a thread that was folding into it as it closed."""
        folded = entry.folded.take()
        if folded:
            self.summary(key, folded)
        if entry.full:
            self._closed.append((key, entry))
            if len(self._closed) > self.max_keys:  # no flush for long: bounded
                old_key, old = self._closed.pop(0)
                folded = old.folded.take()
                if folded:
                    self.summary(old_key, folded)

    def flush(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            late, self._closed = self._closed, []
            for key, entry in late:
                folded = entry.folded.take()
                if folded:
                    self.summary(key, folded)
            for key, entry in list(self._keys.items()):
                if now - entry.start >= self.window:
                    self._close(key, self._keys.pop(key))


class BlockedLineLimiter(LineLimiter):
    """ "Operation blocked" lines, per (operation, mode): the folded ones are
    reported as ``Operation blocked: operation=… mode=… (+16 more in 60 s)``.
    The counters are the exact count; the log adds up to them."""

    def __init__(self, *, burst: int = 5, window: float = 60.0) -> None:
        super().__init__(self._summary, burst=burst, window=window)

    def _summary(self, key: tuple[str, ...], dropped: int) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "[MAINTENANCE] Operation blocked: %s %s",
                fields(operation=key[0], mode=key[1]),
                folded(dropped, self.window),
            )


class UnauthorizedLineLimiter(LineLimiter):
    """The manuals' UNAUTHORIZED line for rejected control requests: one per
    client per window, the rest folded into the next one."""

    def __init__(self, *, window: float = 60.0, max_keys: int = 4096) -> None:
        super().__init__(self._summary, burst=1, window=window, max_keys=max_keys)

    def _summary(self, key: tuple[str, ...], dropped: int) -> None:
        unauthorized(key[1], key[0], more=folded(dropped, self.window))

    def rejected(self, path: str, client: str | None) -> None:
        """A control request without a valid token: logged unless folded."""
        shown = client or "unknown"
        if self.allow(shown, path):
            unauthorized(path, shown)


def unauthorized(path: str, client: str, more: str | None = None) -> None:
    """``[MAINTENANCE] UNAUTHORIZED control request: path="…" client="…"``:
    never the token, which was wrong (or absent) and may be a real one's typo."""
    text = fields(path=path, client=client)
    logger.warning(
        "[MAINTENANCE] UNAUTHORIZED control request: %s%s", text, f" {more}" if more else ""
    )


#: The seeds' log format: the date first, so that their ``grep "$(date +%Y-%m-%d)"`` works.
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_attached: dict[str, logging.Handler] = {}
_attach_lock = threading.Lock()


def attach_file(path: str) -> logging.Handler:
    """Send maintguard's lines (INFO and up) to ``path`` in ``FILE_FORMAT``,
    once per file however many services name it. The file is opened on the
    first line, not here."""
    import os.path

    key = os.path.abspath(path)
    with _attach_lock:
        handler = _attached.get(key)
        if handler is None:
            handler = logging.FileHandler(key, encoding="utf-8", delay=True)
            handler.setFormatter(logging.Formatter(FILE_FORMAT))
            handler.setLevel(logging.INFO)
            logger.addHandler(handler)
            _attached[key] = handler
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    return handler


class ResolverFailures:
    """ "Admin resolver failed" lines: once a minute per kind of failure (a
    hung or broken resolver fails every blocked request), the count folded
    into the next line."""

    def __init__(self, window: float = 60.0) -> None:
        self.limiter = LineLimiter(self._summary, burst=1, window=window, max_keys=1)
        self._last = ""

    def report(self, error: str) -> None:
        """The resolver raised ``error`` (a type name), timed out or had no thread."""
        self._last = error[:64]
        if self.limiter.allow("resolver"):
            logger.warning(
                "[MAINTENANCE] Admin resolver failed: error=%s (treated as not admin)", error[:64]
            )

    def flush(self) -> None:
        self.limiter.flush()

    def _summary(self, key: tuple[str, ...], dropped: int) -> None:
        logger.warning(
            "[MAINTENANCE] Admin resolver failed: error=%s (treated as not admin) %s",
            self._last,
            folded(dropped, self.limiter.window),
        )
