"""The application's ``is_admin`` resolver, called on a bounded pool of its own.

A sync resolver may hang (a database that stopped answering). Called on a
shared executor, hung calls would pile up until nothing else could run —
the control API's writes included, under ASGI. So resolvers get their own
few threads, started lazily in the current process: each call waits at most
``timeout`` seconds, and while every thread is taken by hung calls, further
requests count as "not admin" at once instead of queueing. A timed-out or
failing resolver means "not admin"; the log says so once a minute per kind
of failure, with the count folded in.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable

from maintguard import logs
from maintguard.config import Settings
from maintguard.core.decision import RequestInfo

#: Threads a process gives the resolver: more hung calls than this and the
#: rest are answered "not admin" without waiting.
RESOLVER_THREADS = 8


class ResolverPool:
    """Runs ``resolve(info)`` (the judge's ``resolve_admin``) with a time limit."""

    def __init__(
        self,
        resolve: Callable[[RequestInfo], str | None],
        failures: logs.ResolverFailures,
        settings: Settings,
        *,
        threads: int = RESOLVER_THREADS,
    ) -> None:
        self._resolve = resolve
        self.failures = failures
        self.timeout = settings.resolver_timeout
        self.threads = threads
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._pid = 0
        self._busy = 0
        self._lock = threading.Lock()

    def _submit(self, info: RequestInfo) -> concurrent.futures.Future[str | None] | None:
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                # Lazily, and again in a forked child (the parent's threads are gone).
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.threads, thread_name_prefix="maintguard-resolver"
                )
                self._pid = os.getpid()
                self._busy = 0
            if self._busy >= self.threads:
                return None
            self._busy += 1
            executor = self._executor
        future = executor.submit(self._resolve, info)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: concurrent.futures.Future[str | None]) -> None:
        with self._lock:
            self._busy = max(self._busy - 1, 0)

    def call(self, info: RequestInfo) -> str | None:
        """From a WSGI worker: wait at most ``timeout``."""
        future = self._submit(info)
        if future is None:
            self.failures.report("NoThreadFree")
            return None
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            self.failures.report("TimeoutError")
            return None

    async def call_async(self, info: RequestInfo) -> str | None:
        """From an event loop: the loop's own executor is never used."""
        future = self._submit(info)
        if future is None:
            self.failures.report("NoThreadFree")
            return None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError:
            self.failures.report("TimeoutError")
            return None
