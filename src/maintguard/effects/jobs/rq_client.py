"""Reaching RQ's Redis: the extra's imports, URL and client checks, clients per process.

Shared by the RQ terminator and the worker-suspension helpers. RQ and redis
are imported inside these functions, never at module import, so that
``import maintguard.jobs`` works without the ``rq`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from maintguard.effects.jobs.base import JobBackendError
from maintguard.exceptions import ConfigurationError, import_extra

if TYPE_CHECKING:
    import redis


def _import_rq() -> Any:
    import_extra("redis", "rq")  # rq needs it; name the extra that brings both
    return import_extra("rq", "rq")


def _redis_error() -> type[Exception]:
    """redis.RedisError, once the extra is known to be installed."""
    _import_rq()
    import redis

    return redis.RedisError


def _check_url(url: str) -> str:
    if urlsplit(url).scheme.lower() not in ("redis", "rediss", "unix"):
        raise ConfigurationError("the RQ Redis URL must start with redis://, rediss:// or unix://")
    return url


def _check_client(client: object) -> object:
    pool = getattr(client, "connection_pool", None)
    if getattr(pool, "connection_kwargs", {}).get("decode_responses"):
        raise ConfigurationError("RQ needs a Redis client with decode_responses=False")
    return client


class _Connection:
    """A Redis client given or built from a URL (then per process, closed on close())."""

    def __init__(self, connection_or_url: str | redis.Redis, timeout: float) -> None:
        self.timeout = timeout
        self._url = ""
        self._given: Any = None
        self._own: Any = None
        self._pid = 0
        if isinstance(connection_or_url, str):
            self._url = _check_url(connection_or_url)
        else:
            self._given = _check_client(connection_or_url)

    def get(self) -> Any:
        if self._given is not None:
            return self._given
        if self._own is None or self._pid != os.getpid():
            import redis

            # After fork the parent's sockets are not ours: build a new client.
            self._own = redis.Redis.from_url(
                self._url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout
            )
            self._pid = os.getpid()
        return self._own

    def close(self) -> None:
        if self._own is not None and self._pid == os.getpid():
            self._own.close()
        self._own = None


def _with_client(connection_or_url: str | redis.Redis, action: Callable[[Any], Any]) -> Any:
    """Run one ``action(client)``; a client built from a URL lives only for it."""
    _import_rq()
    import redis as redis_module

    if isinstance(connection_or_url, str):
        client = redis_module.Redis.from_url(
            _check_url(connection_or_url), socket_timeout=5.0, socket_connect_timeout=5.0
        )
        try:
            return action(client)
        except redis_module.RedisError as exc:
            raise JobBackendError(f"RQ is unreachable ({type(exc).__name__})") from None
        finally:
            client.close()
    try:
        return action(_check_client(connection_or_url))
    except redis_module.RedisError as exc:
        raise JobBackendError(f"RQ is unreachable ({type(exc).__name__})") from None
