"""Building the redis-py client a Redis store URL names.

Every connection gets the store's timeout on connect and on each command,
and no client-side retry: a retried compare-and-set could report a lost race
for a change that in fact went through. Sentinel URLs get a master client
whose sentinel connections follow the same rules, with the timeout shared
among the sentinels: a new connection asks them one by one for the master,
and that search must not take one timeout per sentinel.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from maintguard.exceptions import ConfigurationError


def _connection_options(timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }


def _sentinel_client(
    url: str, timeout: float, service: str | None
) -> tuple[redis.Redis, tuple[redis.ConnectionPool, ...]]:
    """``redis+sentinel://[user:password@]host:port[,host:port…]/service/db``.

    The credentials are the master's; sentinels are asked without them.
    """
    parts = urlsplit(url)
    hosts_part = parts.netloc.rpartition("@")[2]
    sentinels = []
    for item in filter(None, hosts_part.split(",")):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
        try:
            sentinels.append((host.strip("[]"), int(port)))
        except ValueError:
            raise ConfigurationError(f"invalid sentinel address {item!r} in store URL") from None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    service = service or (segments[0] if segments else None)
    if not sentinels or not service:
        raise ConfigurationError(
            "a sentinel URL needs hosts and a service name: "
            "redis+sentinel://host:26379,host2:26379/service_name/0"
        )
    try:
        db = int(segments[1]) if len(segments) > 1 else 0
    except ValueError:
        raise ConfigurationError("the sentinel URL's database must be a number") from None
    options = _connection_options(timeout)
    # Asking every sentinel in turn (all of them frozen, say) fits in one timeout.
    asking = _connection_options(timeout / len(sentinels))
    # redis-py leaves these two unannotated.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels, sentinel_kwargs=asking, **options
    )
    master: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        service,
        db=db,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=parts.scheme.lower().startswith("rediss"),
        **options,
    )
    return master, tuple(s.connection_pool for s in sentinel.sentinels)
