"""The Redis store's change listener: one daemon thread per ``subscribe``.

It lives on whatever happens to the connection: it reconnects with backoff,
pings a quiet connection so that a vanished peer is noticed, and reports a
possible change on every (re)subscription, since what was published while it
was away was not heard. It reaches the store only through ``ChangeSource``,
so it does not depend on the store class.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis

logger = logging.getLogger("maintguard")


class ChangeSource(Protocol):
    """What a subscription needs of its store."""

    @property
    def client(self) -> redis.Redis: ...

    @property
    def channel(self) -> str: ...

    @property
    def timeout(self) -> float: ...

    def describe_error(self, action: str, exc: BaseException) -> str: ...


class _Subscription:
    """A daemon thread listening on the changes channel until stopped."""

    #: Reconnect delays grow from the first to the last, doubling, with jitter.
    BACKOFF = (0.1, 5.0)
    #: A quiet connection is checked with a PING this often, so a half-open
    #: socket (a peer that vanished) is noticed instead of waited on forever.
    KEEPALIVE = 5.0
    #: How long one wait for a message lasts; also bounds how long stop() takes.
    POLL = 0.2

    def __init__(self, store: ChangeSource, on_change: Callable[[], None]) -> None:
        self._store = store
        self._on_change = on_change
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="maintguard-redis-subscriber", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self.POLL + self._store.timeout + 1.0)

    def _run(self) -> None:
        delay = self.BACKOFF[0]
        failing = False
        while not self._stopped.is_set():
            pubsub = self._store.client.pubsub()  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(self._store.channel)
                if failing:
                    logger.info("maintguard: Redis change notifications restored")
                failing = False
                self._listen(pubsub)
                delay = self.BACKOFF[0]
            except Exception as exc:
                # Whatever went wrong, the listener must live on: log, back off, retry.
                if not failing:
                    logger.warning(
                        "maintguard: Redis change notifications lost, reconnecting: %s",
                        self._store.describe_error("subscribe", exc),
                    )
                failing = True
            finally:
                _close_quietly(pubsub)
            jitter = 0.5 + random.random()  # noqa: S311 - spreads reconnects, not a secret
            self._stopped.wait(delay * jitter)
            delay = min(delay * 2, self.BACKOFF[1])

    def _listen(self, pubsub: Any) -> None:
        last_heard = time.monotonic()
        ping_sent: float | None = None
        while not self._stopped.is_set():
            message = pubsub.get_message(timeout=self.POLL)
            now = time.monotonic()
            if message is not None:
                last_heard, ping_sent = now, None
                # "subscribe" confirms the (re)subscription: anything published
                # while we were away was missed, so report a possible change.
                if message["type"] in ("message", "subscribe"):
                    self._notify()
            elif ping_sent is not None and now - ping_sent > self._store.timeout + self.POLL:
                raise redis.ConnectionError("no answer to a keepalive PING")
            elif ping_sent is None and now - last_heard > self.KEEPALIVE:
                pubsub.ping()
                ping_sent = now

    def _notify(self) -> None:
        try:
            self._on_change()
        except Exception:
            logger.exception("maintguard: a change listener failed")


def _close_quietly(pubsub: Any) -> None:
    try:
        pubsub.close()
    except (redis.RedisError, OSError):
        logger.debug("maintguard: closing a Redis subscription failed", exc_info=True)
