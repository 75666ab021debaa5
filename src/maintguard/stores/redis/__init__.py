"""The Redis store: state as JSON, audit as a capped stream, changes by pub/sub.

``RedisStore`` is built by ``store_from_url`` for the Redis schemes, or
directly. The package is only imported when such a store is asked for, so
redis stays an optional extra. Its parts depend downward only:

- ``store`` — ``RedisStore``, the ``StateStore`` itself;
- ``subscription`` — the pub/sub listener thread behind ``subscribe``;
- ``client`` — building the client a URL names (timeouts, Sentinel);
- ``layout`` — the keys, the Lua scripts, and decoding what they store.
"""

from __future__ import annotations

from maintguard.exceptions import MissingExtraError

# Checked here, before any part loads, so that every way into the package
# without the extra fails with the same hint rather than a bare ImportError.
try:
    import redis  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("redis", "redis") from exc

# The class object itself, not a copy: tests patch its attributes here
# (``_Subscription.KEEPALIVE``) and the store must see the change. The private
# names are kept at the path they had when this package was one module.
from maintguard.stores.redis.client import _connection_options as _connection_options
from maintguard.stores.redis.client import _sentinel_client as _sentinel_client
from maintguard.stores.redis.layout import _CAS_SCRIPT as _CAS_SCRIPT
from maintguard.stores.redis.layout import _CORRUPT as _CORRUPT
from maintguard.stores.redis.layout import _RECORD_SCRIPT as _RECORD_SCRIPT
from maintguard.stores.redis.layout import ATTEMPTS_TTL as ATTEMPTS_TTL
from maintguard.stores.redis.layout import _json as _json
from maintguard.stores.redis.layout import _text as _text
from maintguard.stores.redis.store import RedisStore
from maintguard.stores.redis.store import _after_fork_in_child as _after_fork_in_child
from maintguard.stores.redis.subscription import _close_quietly as _close_quietly
from maintguard.stores.redis.subscription import _Subscription as _Subscription
from maintguard.stores.redis.subscription import logger as logger

__all__ = ["RedisStore"]
