"""The Redis store: state as JSON, audit as a capped stream, changes by pub/sub.

A compare-and-set is one Lua script (check, write, audit, publish), so it is
atomic and costs one round trip. Every command runs with the store's timeout
and no client-side retry: a retried compare-and-set could report a lost race
for a change that in fact went through. The key layout and the scripts are in
``layout``, client building in ``client``, the change listener in
``subscription``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import redis

from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.exceptions import ConfigurationError, CorruptStateError, StoreError
from maintguard.logs import redact
from maintguard.stores.base import AUDIT_LIMIT, SAMPLE_LIMIT, AttemptBatch, AttemptCounts
from maintguard.stores.redis.client import _connection_options, _sentinel_client
from maintguard.stores.redis.layout import (
    _CAS_SCRIPT,
    _CORRUPT,
    _RECORD_SCRIPT,
    ATTEMPTS_TTL,
    Keys,
    _json,
    _text,
)
from maintguard.stores.redis.subscription import _Subscription

logger = logging.getLogger("maintguard")


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
        self._keys = Keys.for_prefix(key_prefix)
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
            except ValueError:
                # redis-py's message may quote a piece of the password.
                raise ConfigurationError(
                    f"invalid Redis URL {display!r}: check the host, port and database "
                    "(percent-encode a '/', '@' or ':' in the password)"
                ) from None
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
            raw = self._client.get(self._keys.state)
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
            self._keys.channel,
            state.version,
        ]
        with self._errors("compare_and_set"):
            result = self._cas(keys=[self._keys.state, self._keys.audit], args=args)
        return bool(int(result))

    def overwrite(self, state: MaintenanceState, record: AuditRecord) -> None:
        """Replace the stored state whatever it holds (repairs a corrupt value)."""
        with self._errors("overwrite"):
            pipe = self._client.pipeline(transaction=True)
            pipe.set(self._keys.state, json.dumps(state.to_dict()))
            pipe.xadd(
                self._keys.audit,
                {"record": json.dumps(record.to_dict())},
                maxlen=self._audit_limit,
                approximate=True,
            )
            pipe.publish(self._keys.channel, state.version)
            pipe.execute()

    def read_audit(self, limit: int = 100) -> list[AuditRecord]:
        if limit <= 0:
            return []
        with self._errors("read_audit"):
            entries: Any = self._client.xrevrange(self._keys.audit, count=limit)
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
            self._record(keys=[self._keys.attempts_of(batch.epoch)], args=args)

    def read_attempts(self, epoch: str) -> AttemptCounts:
        with self._errors("read_attempts"):
            raw = self._client.hgetall(self._keys.attempts_of(epoch))
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

    def check_configuration(self) -> None:
        """Warn when the server may evict the state key: any ``allkeys-*``
        ``maxmemory-policy`` may drop it under memory pressure (the state
        key never has a TTL, so ``volatile-*`` and ``noeviction`` spare it).
        A server that refuses ``CONFIG`` (managed Redis) is not asked again."""
        try:
            reply: Any = self._client.config_get("maxmemory-policy")
        except (redis.RedisError, OSError):
            return
        policy = _text(next(iter((reply or {}).values()), ""))
        if policy.startswith("allkeys-"):
            logger.warning(
                "[MAINTENANCE] Redis maxmemory-policy=%s may evict the maintenance state "
                "(key %s): set maxmemory-policy to noeviction or a volatile-* policy, or keep "
                "maintguard's keys in a Redis database of their own. An evicted state is "
                "written back from the last known state, but a worker starting meanwhile "
                "would see maintenance off.",
                policy,
                self._keys.state,
            )

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
        return self._keys.channel

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
