"""Wakes open event streams when this process's view of the state changes.

The snapshot calls ``ChangeFeed.changed`` from whichever thread changed
it (a local change, the Redis subscriber, the refresher). Streams wait on
a generation number: a WSGI stream on a condition, an ASGI stream on an
``asyncio.Event`` set through its own loop. Nothing is queued per client,
so a slow client costs nothing but its own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from typing import Any


class ChangeFeed:
    """A generation number that moves on every change, and ways to wait for it."""

    def __init__(self) -> None:
        self.generation = 0
        self._condition = threading.Condition()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        _feeds.add(self)

    def changed(self, view: Any = None) -> None:
        with self._condition:
            self.generation += 1
            self._condition.notify_all()
            waiters = list(self._waiters)
        for loop, event in waiters:
            # A loop that has closed meanwhile has no stream left to wake.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the generation differs from ``seen`` or ``timeout`` passes."""
        with self._condition:
            self._condition.wait_for(lambda: self.generation != seen, timeout)
            return self.generation

    async def wait_async(self, seen: int, timeout: float) -> int:
        """``wait`` for a coroutine: the event loop keeps serving meanwhile."""
        if self.generation != seen:
            return self.generation
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._condition:
            self._waiters.add(entry)
        try:
            if self.generation == seen:  # a change between the check and the add
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(entry[1].wait(), timeout)
        finally:
            with self._condition:
                self._waiters.discard(entry)
        return self.generation

    def after_fork(self) -> None:
        """In a forked child: the parent's lock may have been held at the fork."""
        self._condition = threading.Condition()
        self._waiters = set()


_feeds: weakref.WeakSet[ChangeFeed] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for feed in list(_feeds):
        feed.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
