"""State stores, chosen by URL.

``store_from_url("memory://")``, ``"redis://host:6379/0"``, ``"rediss://…"``,
``"unix:///run/redis.sock"``, ``"redis+sentinel://…"``, ``"sqlite:///maint.db"``,
``"postgresql+psycopg://…"``, ``"mysql+pymysql://…"``. Client libraries are
imported only when a backend of theirs is built, so ``import maintguard``
needs neither redis nor SQLAlchemy. Third-party stores plug in with
``register_store``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from maintguard.exceptions import ConfigurationError
from maintguard.logs import redact
from maintguard.stores.base import (
    AttemptBatch,
    AttemptCounts,
    StateStore,
    attempt_epoch,
)
from maintguard.stores.memory import MemoryStore

StoreFactory = Callable[..., StateStore]

_registry: dict[str, StoreFactory] = {}
_lock = threading.Lock()


def register_store(scheme: str, factory: StoreFactory, *, replace: bool = False) -> None:
    """Make ``store_from_url`` build ``factory(url, **options)`` for ``scheme``.

    ``scheme`` is matched on the URL's scheme, or its part before ``+`` (so
    ``postgresql`` also serves ``postgresql+psycopg``).
    """
    key = scheme.lower()
    with _lock:
        if key in _registry and not replace:
            raise ConfigurationError(f"a store is already registered for scheme {scheme!r}")
        _registry[key] = factory


def registered_schemes() -> tuple[str, ...]:
    return tuple(sorted(_registry))


def store_from_url(url: str, **options: Any) -> StateStore:
    """Build the store a URL names; an unknown scheme names the known ones."""
    if not isinstance(url, str) or ("://" not in url and not url.startswith("unix:")):
        raise ConfigurationError(
            f"store URL {redact(url)!r} is not a URL; try memory://, redis://… or sqlite:///…"
        )
    scheme = urlsplit(url).scheme.lower()
    factory = _registry.get(scheme) or _registry.get(scheme.split("+", 1)[0])
    if factory is None:
        raise ConfigurationError(
            f"no store for scheme {scheme!r} (known: {', '.join(registered_schemes())})"
        )
    return factory(url, **options)


def _memory(url: str, **options: Any) -> StateStore:
    return MemoryStore(**options)


def _redis(url: str, **options: Any) -> StateStore:
    from maintguard.stores.redis import RedisStore

    return RedisStore.from_url(url, **options)


def _sql(url: str, **options: Any) -> StateStore:
    from maintguard.stores.sql import SQLStore

    return SQLStore.from_url(url, **options)


for _scheme in ("memory",):
    register_store(_scheme, _memory)
for _scheme in ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel"):
    register_store(_scheme, _redis)
for _scheme in ("sqlite", "postgresql", "postgres", "mysql", "mariadb"):
    register_store(_scheme, _sql)

__all__ = [
    "AttemptBatch",
    "AttemptCounts",
    "MemoryStore",
    "StateStore",
    "StoreFactory",
    "attempt_epoch",
    "register_store",
    "registered_schemes",
    "store_from_url",
]
