"""The Redis store: state as JSON, audit as a capped stream, changes by pub/sub.

Keys (``{prefix}`` is ``key_prefix``, default ``maintguard``):

- ``{prefix}:state`` — the state, ``MaintenanceState.to_dict()`` as JSON;
- ``{prefix}:audit`` — a stream of audit records, trimmed to about
  ``audit_limit`` entries (``MAXLEN ~`` keeps at least that many);
- ``{prefix}:changes`` — the pub/sub channel a change publishes its version on;
- ``{prefix}:attempts:{epoch}`` — one hash per epoch holding its counters;
  each expires on its own ``ATTEMPTS_TTL`` after its last write.

A compare-and-set is one Lua script (check, write, audit, publish), so it is
atomic and costs one round trip. Every command runs with the store's timeout
and no client-side retry: a retried compare-and-set could report a lost race
for a change that in fact went through.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.exceptions import (
    ConfigurationError,
    CorruptStateError,
    MissingExtraError,
    StoreError,
)
from maintguard.logs import redact
from maintguard.stores.base import AUDIT_LIMIT, SAMPLE_LIMIT, AttemptBatch, AttemptCounts

try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    from redis.sentinel import Sentinel
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("redis", "redis") from exc

logger = logging.getLogger("maintguard")

#: Counters of a maintenance outlive their last write by this long, so the
#: hash of a maintenance nobody reports on any more goes away on its own.
ATTEMPTS_TTL = 30 * 24 * 3600
#: Marker the scripts put in an error reply about a stored value they cannot read.
_CORRUPT = "MAINTGUARD_CORRUPT"

_CAS_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
local current = 0
if raw then
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok or type(decoded) ~= 'table' or type(decoded['version']) ~= 'number' then
    return redis.error_reply('MAINTGUARD_CORRUPT stored state is not valid JSON with a version')
  end
  current = decoded['version']
end
if current ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'record', ARGV[3])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
"""

# ARGV: epoch, ttl, sample limit, then "n, (field, increment) * n" for the
# counters, then "m, (field, JSON list of paths) * m" for the samples. KEYS[1]
# is the epoch's own hash, so batches of different epochs never meet.
_RECORD_SCRIPT = """
local key = KEYS[1]
local limit = tonumber(ARGV[3])
local i = 4
local n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1])
  i = i + 2
end
n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  local field = ARGV[i]
  local incoming = cjson.decode(ARGV[i + 1])
  i = i + 2
  local kept = {}
  local raw = redis.call('HGET', key, field)
  if raw then
    kept = cjson.decode(raw)
  end
  local seen = {}
  for _, path in ipairs(kept) do
    seen[path] = true
  end
  for _, path in ipairs(incoming) do
    if #kept >= limit then
      break
    end
    if not seen[path] then
      table.insert(kept, path)
      seen[path] = true
    end
  end
  if #kept > 0 then
    redis.call('HSET', key, field, cjson.encode(kept))
  end
end
redis.call('EXPIRE', key, ARGV[2])
return 1
"""


def _text(value: object) -> str:
    """A reply as text, whether or not the client decodes responses."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)


class RedisStore:
    """``StateStore`` on Redis (standalone, or a Sentinel-managed master).

    Build it with ``RedisStore.from_url(url)`` or around a ``redis.Redis``
    client of your own. An injected client keeps its own timeouts and retry
    policy: give it ``socket_timeout`` and no retries for the store's timeout
    guarantee to hold. Nothing connects before the first command.
    """

    name = "redis"

    def __init__(
        self,
        client: redis.Redis,
        *,
        key_prefix: str = "maintguard",
        timeout: float = 0.5,
        audit_limit: int = AUDIT_LIMIT,
        display: str | None = None,
        secrets: tuple[str, ...] = (),
        extra_pools: tuple[redis.ConnectionPool, ...] = (),
    ) -> None:
        if not key_prefix:
            raise ConfigurationError("key_prefix must not be empty")
        if audit_limit < 1:
            raise ConfigurationError("audit_limit must be at least 1")
        self._client = client
        self._timeout = timeout
        self._audit_limit = audit_limit
        self._state_key = f"{key_prefix}:state"
        self._audit_key = f"{key_prefix}:audit"
        self._channel = f"{key_prefix}:changes"
        self._attempts_key = f"{key_prefix}:attempts"
        kwargs = client.connection_pool.connection_kwargs
        password = kwargs.get("password")
        self._secrets = tuple(s for s in (*secrets, password) if s)
        self._display = display or self._describe(kwargs)
        # Sentinel connections live in pools of their own; a fork resets them too.
        self._extra_pools = extra_pools
        self._cas = client.register_script(_CAS_SCRIPT)
        self._record = client.register_script(_RECORD_SCRIPT)
        self._lock = threading.Lock()
        self._subscriptions: list[_Subscription] = []
        # A weak reference: the hook must not keep a discarded store alive.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork_in_child(ref))

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        key_prefix: str = "maintguard",
        timeout: float = 0.5,
        client: redis.Redis | None = None,
        audit_limit: int = AUDIT_LIMIT,
        sentinel_service: str | None = None,
    ) -> RedisStore:
        """``redis://``, ``rediss://``, ``unix://`` or
        ``redis+sentinel://host:port,host2:port/service_name/db``.

        With ``client`` given, the URL only names the store in messages.
        """
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        parts = urlsplit(url)
        secrets = (unquote(parts.password),) if parts.password else ()
        display = redact(url, secrets)
        pools: tuple[redis.ConnectionPool, ...] = ()
        if client is None and parts.scheme.lower().endswith("+sentinel"):
            client, pools = _sentinel_client(url, timeout, sentinel_service)
        elif client is None:
            try:
                client = redis.Redis.from_url(url, **_connection_options(timeout))
            except ValueError as exc:
                raise ConfigurationError(f"invalid Redis URL {display!r}: {exc}") from None
        return cls(
            client,
            key_prefix=key_prefix,
            timeout=timeout,
            audit_limit=audit_limit,
            display=display,
            secrets=secrets,
            extra_pools=pools,
        )

    # -- StateStore ---------------------------------------------------------

    def load(self) -> MaintenanceState:
        with self._errors("load"):
            raw = self._client.get(self._state_key)
        if raw is None:
            return MaintenanceState()
        return MaintenanceState.from_dict(_json(raw, "stored maintenance state"))

    def compare_and_set(
        self, expected_version: int, state: MaintenanceState, record: AuditRecord
    ) -> bool:
        args: list[str | int] = [
            expected_version,
            json.dumps(state.to_dict()),
            json.dumps(record.to_dict()),
            self._audit_limit,
            self._channel,
            state.version,
        ]
        with self._errors("compare_and_set"):
            result = self._cas(keys=[self._state_key, self._audit_key], args=args)
        return bool(int(result))

    def overwrite(self, state: MaintenanceState, record: AuditRecord) -> None:
        """Replace the stored state whatever it holds (repairs a corrupt value)."""
        with self._errors("overwrite"):
            pipe = self._client.pipeline(transaction=True)
            pipe.set(self._state_key, json.dumps(state.to_dict()))
            pipe.xadd(
                self._audit_key,
                {"record": json.dumps(record.to_dict())},
                maxlen=self._audit_limit,
                approximate=True,
            )
            pipe.publish(self._channel, state.version)
            pipe.execute()

    def read_audit(self, limit: int = 100) -> list[AuditRecord]:
        if limit <= 0:
            return []
        with self._errors("read_audit"):
            entries: Any = self._client.xrevrange(self._audit_key, count=limit)
        records = []
        try:
            for _entry_id, fields in entries or ():
                raw = {_text(k): v for k, v in (fields or {}).items()}.get("record")
                records.append(AuditRecord.from_dict(_json(raw, "audit record")))
        except CorruptStateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptStateError(f"stored audit record is malformed: {exc}") from None
        return records

    def record_attempts(self, batch: AttemptBatch) -> None:
        counts = [
            (f"{kind}:{operation}", count)
            for kind, table in (("blocked", batch.blocked), ("simulated", batch.simulated))
            for operation, count in table.items()
        ]
        samples = [
            (f"samples:{operation}", json.dumps(list(paths)))
            for operation, paths in batch.samples.items()
        ]
        args: list[str | int] = [batch.epoch, ATTEMPTS_TTL, SAMPLE_LIMIT, len(counts)]
        for field, count in counts:
            args += [field, count]
        args.append(len(samples))
        for field, paths in samples:
            args += [field, paths]
        with self._errors("record_attempts"):
            self._record(keys=[f"{self._attempts_key}:{batch.epoch}"], args=args)

    def read_attempts(self, epoch: str) -> AttemptCounts:
        with self._errors("read_attempts"):
            raw = self._client.hgetall(f"{self._attempts_key}:{epoch}")
        blocked: dict[str, int] = {}
        simulated: dict[str, int] = {}
        samples: dict[str, list[str]] = {}
        try:
            fields = {_text(k): v for k, v in raw.items()}
            for field, value in fields.items():
                kind, _, operation = field.partition(":")
                if kind == "blocked":
                    blocked[operation] = int(value)
                elif kind == "simulated":
                    simulated[operation] = int(value)
                elif kind == "samples":
                    paths = _json(value, "attempt samples")
                    if not isinstance(paths, list):
                        raise TypeError("samples are not a list")
                    samples[operation] = [str(p) for p in paths]
        except (TypeError, ValueError) as exc:
            raise CorruptStateError(f"stored attempt counters are malformed: {exc}") from None
        return AttemptCounts(blocked=blocked, simulated=simulated, samples=samples)

    def ping(self) -> None:
        with self._errors("ping"):
            self._client.ping()

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``on_change`` for every published change, from a daemon thread.

        It is also called each time the subscription is (re-)established,
        because changes made while it was not listening were not heard.
        """
        subscription = _Subscription(self, on_change)
        with self._lock:
            self._subscriptions.append(subscription)
        subscription.start()

        def stop() -> None:
            with self._lock:
                if subscription in self._subscriptions:
                    self._subscriptions.remove(subscription)
            subscription.stop()

        return stop

    def close(self) -> None:
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.stop()
        for pool in (self._client.connection_pool, *self._extra_pools):
            pool.disconnect()

    # -- helpers (the subscriber and diagnostics use these too) ---------------

    @property
    def client(self) -> redis.Redis:
        return self._client

    @property
    def channel(self) -> str:
        return self._channel

    @property
    def timeout(self) -> float:
        return self._timeout

    def __repr__(self) -> str:
        return f"<RedisStore {self._display}>"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn every client error into ``StoreError`` (corrupt data: its subclass).

        redis-py drops a connection that timed out or broke instead of
        returning it to the pool, so a late reply is never read by the next
        command.
        """
        try:
            yield
        except redis.ResponseError as exc:
            text = str(exc)
            if _CORRUPT in text or text.startswith("WRONGTYPE"):
                raise CorruptStateError(self.describe_error(action, exc)) from None
            raise StoreError(self.describe_error(action, exc)) from None
        except UnicodeDecodeError as exc:
            # A client that decodes replies meets bytes that are not UTF-8.
            raise CorruptStateError(self.describe_error(action, exc)) from None
        except (redis.RedisError, OSError) as exc:
            raise StoreError(self.describe_error(action, exc)) from None

    def describe_error(self, action: str, exc: BaseException) -> str:
        text = f"Redis store {self._display}: {action} failed: {type(exc).__name__}: {exc}"
        return redact(text, self._secrets)

    def _after_fork(self) -> None:
        # The child must never talk on the parent's sockets: drop them (a
        # connection closes its own fd without shutting the parent's down) and
        # forget the listener threads, which did not survive the fork.
        for pool in (self._client.connection_pool, *self._extra_pools):
            pool.reset()
        self._lock = threading.Lock()
        self._subscriptions = []

    def _describe(self, kwargs: Mapping[str, Any]) -> str:
        service = getattr(self._client.connection_pool, "service_name", None)
        if service:
            return f"sentinel service {service}"
        if kwargs.get("path"):
            return f"unix://{kwargs['path']}"
        return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def _after_fork_in_child(ref: weakref.ref[RedisStore]) -> None:
    store = ref()
    if store is not None:
        store._after_fork()


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
    # redis-py leaves these two unannotated.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels, sentinel_kwargs=dict(options), **options
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


def _json(raw: object, what: str) -> Any:
    if raw is None:
        raise CorruptStateError(f"{what} is missing")
    try:
        return json.loads(raw if isinstance(raw, (str, bytes)) else str(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptStateError(f"{what} is not valid JSON: {exc}") from None


class _Subscription:
    """A daemon thread listening on the changes channel until stopped."""

    #: Reconnect delays grow from the first to the last, doubling, with jitter.
    BACKOFF = (0.1, 5.0)
    #: A quiet connection is checked with a PING this often, so a half-open
    #: socket (a peer that vanished) is noticed instead of waited on forever.
    KEEPALIVE = 5.0
    #: How long one wait for a message lasts; also bounds how long stop() takes.
    POLL = 0.2

    def __init__(self, store: RedisStore, on_change: Callable[[], None]) -> None:
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


__all__ = ["RedisStore"]
