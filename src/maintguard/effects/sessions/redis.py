"""The Redis session store: ``RedisSessionInvalidator`` and its helpers.

The redis client library is imported only when an invalidator runs (the
``redis`` extra). ``import redis`` below is absolute, so it names the client
library, never this module.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from maintguard.effects.sessions.payloads import (
    DEFAULT_DECODERS,
    AdminPredicate,
    InvalidationReport,
    Judge,
    SessionDecoder,
    Tally,
    check_batch_size,
    default_is_admin,
    finish,
    log_batch,
)
from maintguard.exceptions import ConfigurationError, import_extra
from maintguard.logs import maintenance as log_line

if TYPE_CHECKING:
    import redis


def _check_redis_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            "the session store URL must start with redis://, rediss:// or unix://"
        )
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise ConfigurationError("the session store URL has an invalid port") from None
    return url


def _glob_escape(text: str) -> str:
    """Make ``text`` literal inside a SCAN MATCH pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


_GONE = object()  # the key vanished between SCAN and GET (expired, logged out)


class RedisSessionInvalidator:
    """Deletes ``{prefix}*`` sessions from Redis with SCAN + UNLINK, in batches.

    Per batch, one pipeline reads the values and one pipeline unlinks the
    non-admin ones: never KEYS, never a round trip per key. Sessions stored
    as hashes are read with HGETALL (field values parsed as JSON where they
    are JSON). Works with Flask-Session's layout (``prefix="session:"``, the
    default) and the seeds' ``prefix="vedfolnir:session:"``.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        prefix: str = "session:",
        *,
        # Overrides the default rule (role admin / is_admin true).
        is_admin: AdminPredicate | None = None,
        # Keys per SCAN step and per pipeline: bounds memory and server pauses.
        batch_size: int = 500,
        # Seconds per network operation, for a client built from a URL.
        timeout: float = 2.0,
        # The payload readers, tried in order; the pickle guard always runs first.
        decoders: Sequence[SessionDecoder] | None = None,
    ) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError("prefix must be a non-empty string: '' would match every key")
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ConfigurationError("timeout must be a positive number of seconds")
        self.prefix = prefix
        self.batch_size = check_batch_size(batch_size)
        self.timeout = float(timeout)
        self.is_admin: AdminPredicate = is_admin if is_admin is not None else default_is_admin
        self.decoders: tuple[SessionDecoder, ...] = tuple(
            decoders if decoders is not None else DEFAULT_DECODERS
        )
        self._url: str | None = None
        self._client: redis.Redis | None = None
        if isinstance(url_or_client, str):
            self._url = _check_redis_url(url_or_client)
        else:
            pool = getattr(url_or_client, "connection_pool", None)
            if getattr(pool, "connection_kwargs", {}).get("decode_responses"):
                raise ConfigurationError(
                    "the Redis client for sessions must use decode_responses=False "
                    "(session payloads are binary)"
                )
            self._client = url_or_client

    def __repr__(self) -> str:
        return f"RedisSessionInvalidator(prefix={self.prefix!r}, batch_size={self.batch_size})"

    def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> InvalidationReport:
        redis_module = import_extra("redis", "redis")
        tally = Tally()
        judge = Judge(self.decoders, self.is_admin)
        client, owned = self._connect(redis_module)
        complete = False
        try:
            self._sweep(client, keep_admins, dry_run, tally, judge, redis_module)
            complete = True
        except redis_module.RedisError as exc:
            log_line(
                "Session invalidation interrupted",
                logging.WARNING,
                store="redis",
                error=type(exc).__name__,
            )
        finally:
            if owned:
                client.close()
        judge.report_errors()
        return finish(tally, complete=complete, simulated=dry_run, store="redis")

    def _connect(self, redis_module: Any) -> tuple[Any, bool]:
        if self._client is not None:
            return self._client, False
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        # A fresh client per run: runs are rare, and nothing is shared across forks.
        client = redis_module.Redis.from_url(
            self._url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=Retry(ExponentialBackoff(cap=self.timeout, base=0.05), 1),
        )
        return client, True

    def _sweep(
        self,
        client: Any,
        keep_admins: bool,
        dry_run: bool,
        tally: Tally,
        judge: Judge,
        redis_module: Any,
    ) -> None:
        pattern = _glob_escape(self.prefix) + "*"
        # SCAN may return a key twice; remember what was counted without deleting it.
        counted: set[bytes] = set()
        cursor: Any = 0
        while True:
            cursor, keys = client.scan(cursor=cursor, match=pattern, count=self.batch_size)
            for start in range(0, len(keys), self.batch_size):
                batch = keys[start : start + self.batch_size]
                self._batch(
                    client, batch, keep_admins, dry_run, tally, judge, counted, redis_module
                )
            if int(cursor) == 0:
                return

    def _batch(
        self,
        client: Any,
        keys: list[bytes],
        keep_admins: bool,
        dry_run: bool,
        tally: Tally,
        judge: Judge,
        counted: set[bytes],
        redis_module: Any,
    ) -> None:
        delta = Tally()
        doomed: list[bytes] = []
        if keep_admins:
            for key, value in zip(keys, self._read(client, keys, redis_module), strict=True):
                if value is _GONE:
                    continue
                if judge.stored_is_admin(value):
                    if key not in counted:
                        counted.add(key)
                        delta.kept_admin += 1
                else:
                    doomed.append(key)
        else:
            doomed = list(keys)
        removed: list[bytes] = []
        if dry_run:
            fresh = [key for key in doomed if key not in counted]
            counted.update(fresh)
            delta.invalidated = len(fresh)
        elif doomed:
            pipe = client.pipeline(transaction=False)
            for key in doomed:
                pipe.unlink(key)
            try:
                replies = pipe.execute(raise_on_error=False)
            except redis_module.RedisError:
                tally.failed += len(doomed)
                raise
            finally:
                pipe.reset()
            for key, reply in zip(doomed, replies, strict=True):
                if isinstance(reply, Exception):
                    delta.failed += 1
                elif reply:  # 0: gone already (expired, logged out): not ours to count
                    removed.append(key)
            delta.invalidated = len(removed)
        tally.invalidated += delta.invalidated
        tally.kept_admin += delta.kept_admin
        tally.failed += delta.failed
        log_batch(delta, removed, dry_run=dry_run)

    @staticmethod
    def _read(client: Any, keys: list[bytes], redis_module: Any) -> list[Any]:
        """Each key's value: bytes, a dict (hash sessions), None (unreadable) or _GONE."""
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        try:
            replies: list[Any] = pipe.execute(raise_on_error=False)
        finally:
            pipe.reset()
        wrong_type = [
            i
            for i, reply in enumerate(replies)
            if isinstance(reply, redis_module.ResponseError) and "WRONGTYPE" in str(reply)
        ]
        if wrong_type:
            pipe = client.pipeline(transaction=False)
            for i in wrong_type:
                pipe.hgetall(keys[i])
            try:
                hashes = pipe.execute(raise_on_error=False)
            finally:
                pipe.reset()
            for i, reply in zip(wrong_type, hashes, strict=True):
                replies[i] = _hash_payload(reply)
        return [_settle(reply) for reply in replies]


def _settle(reply: object) -> object:
    if reply is None or reply == {}:
        return _GONE
    return None if isinstance(reply, Exception) else reply


def _hash_payload(reply: object) -> object:
    if not isinstance(reply, dict):
        return None  # a list, set, …: not a session we can read
    if not reply:
        return {}
    return {_text(field): _hash_field(value) for field, value in reply.items()}


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _hash_field(value: object) -> object:
    text = _text(value)
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text
