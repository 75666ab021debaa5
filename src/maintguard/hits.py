"""Counting on the request path without a lock.

``next()`` on an ``itertools.count`` is one C call, which the GIL makes
atomic: threads that count at once never lose a hit, and none of them waits
for a lock. A reader (holding whatever lock guards its own totals) asks how
many hits came since it last looked. A free-threaded interpreter has no GIL
to rely on, and ``LOCK_FREE`` tells the callers to count under their lock.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable

__all__ = ["LOCK_FREE", "Hits"]

LOCK_FREE: bool = getattr(sys, "_is_gil_enabled", lambda: True)()


class Hits:
    """``hit()`` adds one; ``take()`` says how many since the last take.

    ``take`` is for one reader at a time (the caller's lock held)."""

    __slots__ = ("_count", "_seen", "hit")

    def __init__(self) -> None:
        self._count = itertools.count()
        self.hit: Callable[[], int] = self._count.__next__
        self._seen = 0

    def take(self) -> int:
        reading = next(self._count)  # the hits so far, plus one for each take
        new = reading - self._seen
        self._seen = reading + 1
        return new
