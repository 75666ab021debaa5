"""Ending sessions when maintenance starts, keeping administrators' sessions.

A ``SessionInvalidator`` deletes the sessions of everyone but administrators
and reports what it did as an ``InvalidationReport``. It never raises a
client-library error: an outage half-way returns ``complete=False`` with the
counts so far, and running it again finishes the job (it is idempotent and
never touches an administrator's session).

Session payloads are read by a chain of decoders (JSON, then Flask-Session's
msgpack). Nothing is ever unpickled: a pickled payload — and anything else the
chain cannot read — is not an administrator's, so it is invalidated. Session
ids are secrets: no log line carries a key, an id or a payload, only counts
(and, at DEBUG, a short one-way fingerprint of the key).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import attrs

from maintguard.exceptions import ConfigurationError, MissingExtraError
from maintguard.logs import maintenance as log_line

if TYPE_CHECKING:
    import redis
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.sql.elements import ColumnElement

logger = logging.getLogger("maintguard")

#: The ``reason`` every invalidation line carries (the seeds' wording).
REASON = "maintenance_activation"

SessionDecoder = Callable[[bytes], "Mapping[str, Any] | None"]
"""Turns a stored value into a dict, or returns None (or raises) if it cannot."""

AdminPredicate = Callable[[Mapping[str, Any]], bool]
"""Says whether a decoded session payload belongs to an administrator."""


@attrs.frozen
class InvalidationReport:
    """What an invalidation did.

    ``failed`` counts sessions chosen for invalidation whose deletion was not
    confirmed; ``complete`` is False when the run stopped early (outage);
    ``simulated`` marks a dry run (test mode), which deletes nothing.
    """

    invalidated: int
    kept_admin: int
    failed: int
    complete: bool
    simulated: bool = False

    def __add__(self, other: InvalidationReport) -> InvalidationReport:
        if not isinstance(other, InvalidationReport):
            return NotImplemented
        return InvalidationReport(
            invalidated=self.invalidated + other.invalidated,
            kept_admin=self.kept_admin + other.kept_admin,
            failed=self.failed + other.failed,
            complete=self.complete and other.complete,
            # Simulated only if nothing real happened in either part.
            simulated=self.simulated and other.simulated,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "invalidated": self.invalidated,
            "kept_admin": self.kept_admin,
            "failed": self.failed,
            "complete": self.complete,
            "simulated": self.simulated,
        }


class SessionInvalidator(Protocol):
    """Ends non-admin sessions; ``dry_run`` only counts (test mode)."""

    def invalidate(
        self, keep_admins: bool = True, *, dry_run: bool = False
    ) -> InvalidationReport: ...


# --- payloads ---------------------------------------------------------------


def decode_json(value: bytes) -> Mapping[str, Any] | None:
    """A JSON object (also Flask-Session with ``SESSION_SERIALIZATION_FORMAT=json``)."""
    if value.lstrip()[:1] != b"{":
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def decode_msgpack(value: bytes) -> Mapping[str, Any] | None:
    """A msgpack map: Flask-Session ≥ 0.6 stores ``msgspec.msgpack.encode(dict(session))``."""
    try:
        import msgspec
    except ImportError:
        return None
    try:
        data = msgspec.msgpack.decode(value)
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


#: The default chain: JSON first (cheap to rule out), then msgpack.
DEFAULT_DECODERS: tuple[SessionDecoder, ...] = (decode_json, decode_msgpack)


def is_pickle(value: bytes) -> bool:
    """Pickle protocol ≥ 2, bare or behind cachelib's ``!`` marker: never loaded."""
    return value[:1] == b"\x80" or value[:2] == b"!\x80"


def decode_session(
    value: bytes, decoders: Sequence[SessionDecoder] = DEFAULT_DECODERS
) -> Mapping[str, Any] | None:
    """The payload as a dict, or None when no decoder can read it."""
    if not value or is_pickle(value):
        return None
    for decoder in decoders:
        payload = _apply(decoder, value)
        if isinstance(payload, Mapping):
            return payload
    return None


def _apply(decoder: SessionDecoder, value: bytes) -> object:
    try:
        return decoder(value)
    except Exception:  # a decoder that chokes simply does not apply
        return None


def default_is_admin(payload: Mapping[str, Any]) -> bool:
    """``"role": "admin"`` (any case) or ``"is_admin": true``, at the top level
    or inside a ``user`` / ``_user`` object."""
    candidates = (payload, payload.get("user"), payload.get("_user"))
    return any(isinstance(c, Mapping) and _claims_admin(c) for c in candidates)


def _claims_admin(data: Mapping[str, Any]) -> bool:
    role = data.get("role")
    if isinstance(role, str) and role.strip().casefold() == "admin":
        return True
    return data.get("is_admin") is True


def fingerprint(key: bytes | str) -> str:
    """A short one-way name for a session key, safe to log (the key is a secret)."""
    raw = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
    return hashlib.sha256(raw).hexdigest()[:12]


@attrs.define
class _Judge:
    """Decides, for one run, whether a stored session is an administrator's."""

    decoders: Sequence[SessionDecoder]
    is_admin: AdminPredicate
    predicate_errors: int = 0

    def payload_is_admin(self, payload: Mapping[str, Any] | None) -> bool:
        if payload is None:
            return False  # unreadable is never an admin's
        try:
            return bool(self.is_admin(payload))
        except Exception:
            # Failing safe: a session we cannot vouch for is ended.
            self.predicate_errors += 1
            return False

    def value_is_admin(self, value: bytes | str | memoryview | None) -> bool:
        if value is None:
            return False
        if isinstance(value, str):
            value = value.encode("utf-8", "surrogateescape")
        return self.payload_is_admin(decode_session(bytes(value), self.decoders))

    def stored_is_admin(self, value: object) -> bool:
        """A value as read from Redis: bytes, a hash as a dict, or None (unreadable)."""
        if isinstance(value, Mapping):
            return self.payload_is_admin(value)
        return self.value_is_admin(value if isinstance(value, bytes) else None)

    def report_errors(self) -> None:
        if self.predicate_errors:
            log_line(
                "Admin check failed",
                logging.WARNING,
                sessions=self.predicate_errors,
                outcome="treated as non-admin",
            )


@attrs.define
class _Tally:
    invalidated: int = 0
    kept_admin: int = 0
    failed: int = 0

    def report(self, *, complete: bool, simulated: bool) -> InvalidationReport:
        return InvalidationReport(
            self.invalidated, self.kept_admin, self.failed, complete, simulated
        )


def _finish(tally: _Tally, *, complete: bool, simulated: bool, store: str) -> InvalidationReport:
    report = tally.report(complete=complete, simulated=simulated)
    log_line(
        "Session invalidation simulated" if simulated else "Session invalidation finished",
        logging.INFO if complete else logging.WARNING,
        store=store,
        invalidated=report.invalidated,
        kept_admin=report.kept_admin,
        failed=report.failed,
        complete=str(complete).lower(),
    )
    return report


def _log_batch(tally_delta: _Tally, removed: Sequence[bytes | str], *, dry_run: bool) -> None:
    if not (tally_delta.invalidated or tally_delta.kept_admin or tally_delta.failed):
        return
    log_line(
        "Sessions would be invalidated" if dry_run else "Sessions invalidated",
        count=tally_delta.invalidated,
        kept_admin=tally_delta.kept_admin,
        failed=tally_delta.failed,
        reason=REASON,
    )
    if not dry_run and logger.isEnabledFor(logging.DEBUG):
        for key in removed:
            log_line("Session invalidated", logging.DEBUG, session=fingerprint(key), reason=REASON)


def _check_batch_size(batch_size: int) -> int:
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not (1 <= batch_size <= 100_000)
    ):
        raise ConfigurationError("batch_size must be an integer between 1 and 100000")
    return batch_size


# --- Redis ------------------------------------------------------------------


def _import_redis() -> Any:
    try:
        import redis
    except ImportError:
        raise MissingExtraError("redis", "redis") from None
    return redis


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
        self.batch_size = _check_batch_size(batch_size)
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
        redis_module = _import_redis()
        tally = _Tally()
        judge = _Judge(self.decoders, self.is_admin)
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
        return _finish(tally, complete=complete, simulated=dry_run, store="redis")

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
        tally: _Tally,
        judge: _Judge,
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
        tally: _Tally,
        judge: _Judge,
        counted: set[bytes],
        redis_module: Any,
    ) -> None:
        delta = _Tally()
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
        _log_batch(delta, removed, dry_run=dry_run)

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


# --- SQL --------------------------------------------------------------------


def _import_sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise MissingExtraError("sql", "SQLAlchemy") from None
    return sqlalchemy


def _admin_flag(value: object) -> bool:
    """An admin column's value: true, 1, or the text admin/true/1/yes."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str):
        return value.strip().casefold() in ("admin", "true", "t", "1", "yes")
    return False


class SQLSessionInvalidator:
    """Deletes non-admin rows of a sessions table, in batches by primary key.

    Administrators are recognised by any of: ``admin_predicate`` (SQL text
    such as ``"role = 'admin'"`` or a SQLAlchemy boolean expression),
    ``admin_column`` (true, 1 or the text ``admin``), or ``data_column``
    (the serialised payload, read like Redis values: Flask-Session's
    SQLAlchemy table is ``table="sessions", data_column="data"``). Each batch
    is ``SELECT … WHERE id > :last ORDER BY id LIMIT n`` then
    ``DELETE … WHERE id IN (…)`` — which re-checks ``admin_predicate`` — in
    one transaction.
    """

    def __init__(
        self,
        url_or_engine: str | Engine,
        table: str = "sessions",
        *,
        id_column: str = "id",
        data_column: str | None = None,
        admin_predicate: str | ColumnElement[bool] | None = None,
        admin_column: str | None = None,
        schema: str | None = None,
        batch_size: int = 500,
        is_admin: AdminPredicate | None = None,
        decoders: Sequence[SessionDecoder] | None = None,
    ) -> None:
        sa = _import_sqlalchemy()
        if data_column is None and admin_predicate is None and admin_column is None:
            raise ConfigurationError(
                "SQLSessionInvalidator needs admin_predicate, admin_column or data_column "
                "to recognise administrators' sessions"
            )
        for name, value in (("table", table), ("id_column", id_column)):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"{name} must be a non-empty name")
        self.batch_size = _check_batch_size(batch_size)
        self.is_admin: AdminPredicate = is_admin if is_admin is not None else default_is_admin
        self.decoders: tuple[SessionDecoder, ...] = tuple(
            decoders if decoders is not None else DEFAULT_DECODERS
        )
        self._url: str | None = None
        self._engine: Engine | None = None
        if isinstance(url_or_engine, str):
            try:
                sa.engine.make_url(url_or_engine)
            except sa.exc.ArgumentError:
                raise ConfigurationError(
                    "the session database URL is not a valid SQLAlchemy URL"
                ) from None
            self._url = url_or_engine
        else:
            self._engine = url_or_engine
        columns = [sa.column(id_column)]
        self._data = data_column
        self._flag = admin_column
        if data_column is not None:
            columns.append(sa.column(data_column))
        if admin_column is not None:
            columns.append(sa.column(admin_column))
        self._table = sa.table(table, *columns, schema=schema)
        self._id = self._table.c[id_column]
        self._admin_case: Any = None
        if admin_predicate is not None:
            condition = (
                sa.text(f"({admin_predicate})")
                if isinstance(admin_predicate, str)
                else admin_predicate
            )
            # CASE, not NOT(...): a NULL predicate must mean "not admin".
            self._admin_case = sa.case((condition, 1), else_=0)

    def __repr__(self) -> str:
        return f"SQLSessionInvalidator(table={self._table.name!r}, batch_size={self.batch_size})"

    def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> InvalidationReport:
        sa = _import_sqlalchemy()
        tally = _Tally()
        judge = _Judge(self.decoders, self.is_admin)
        complete = False
        engine: Any = None
        owned = self._engine is None
        try:
            engine = self._engine if self._engine is not None else sa.create_engine(self._url)
            last: Any = None
            while True:
                seen, last = self._batch(engine, last, keep_admins, dry_run, tally, judge, sa)
                if seen < self.batch_size:
                    break
            complete = True
        except (sa.exc.SQLAlchemyError, ImportError) as exc:
            log_line(
                "Session invalidation interrupted",
                logging.WARNING,
                store="sql",
                error=type(exc).__name__,
            )
        finally:
            if owned and engine is not None:
                engine.dispose()
        judge.report_errors()
        return _finish(tally, complete=complete, simulated=dry_run, store="sql")

    def _select(self, sa: Any, last: Any) -> Any:
        columns: list[Any] = list(self._table.c)
        if self._admin_case is not None:
            columns.append(self._admin_case.label("maintguard_is_admin"))
        query = sa.select(*columns).order_by(self._id).limit(self.batch_size)
        return query if last is None else query.where(self._id > last)

    def _is_admin_row(self, row: Any, judge: _Judge) -> bool:
        mapping = row._mapping
        if self._admin_case is not None and mapping["maintguard_is_admin"] == 1:
            return True
        if self._flag is not None and _admin_flag(mapping[self._flag]):
            return True
        return self._data is not None and judge.value_is_admin(mapping[self._data])

    def _batch(
        self,
        engine: Any,
        last: Any,
        keep_admins: bool,
        dry_run: bool,
        tally: _Tally,
        judge: _Judge,
        sa: Any,
    ) -> tuple[int, Any]:
        """One batch in one transaction; returns (rows seen, last id seen)."""
        delta = _Tally()
        doomed: list[Any] = []
        conn: Connection
        with engine.begin() as conn:
            rows = conn.execute(self._select(sa, last)).all()
            if not rows:
                return 0, last
            for row in rows:
                if keep_admins and self._is_admin_row(row, judge):
                    delta.kept_admin += 1
                else:
                    doomed.append(row[0])
            if dry_run:
                delta.invalidated = len(doomed)
            elif doomed:
                statement = sa.delete(self._table).where(self._id.in_(doomed))
                if keep_admins and self._admin_case is not None:
                    statement = statement.where(self._admin_case == 0)
                try:
                    delta.invalidated = conn.execute(statement).rowcount
                except sa.exc.SQLAlchemyError:
                    tally.failed += len(doomed)
                    raise
        tally.invalidated += delta.invalidated
        tally.kept_admin += delta.kept_admin
        _log_batch(delta, [], dry_run=dry_run)
        return len(rows), rows[-1][0]


# --- a callable -------------------------------------------------------------


class CallableSessionInvalidator:
    """Adapts the application's own function.

    ``func(keep_admins, dry_run=...)``, ``func(keep_admins)`` or ``func()``
    — whichever its signature takes — returning the number of sessions ended
    (None counts as 0) or an ``InvalidationReport``. A function without a
    ``dry_run`` parameter is not called in a dry run (it could not simulate);
    the report then says ``complete=False``. A function that raises is logged
    (by exception type) and reported ``complete=False``.
    """

    def __init__(self, func: Callable[..., int | InvalidationReport | None]) -> None:
        if not callable(func):
            raise ConfigurationError("CallableSessionInvalidator needs a callable")
        self.func = func
        self._style = _call_style(func)

    def __repr__(self) -> str:
        return f"CallableSessionInvalidator({getattr(self.func, '__name__', self.func)!r})"

    def invalidate(self, keep_admins: bool = True, *, dry_run: bool = False) -> InvalidationReport:
        if dry_run and self._style != "both":
            log_line("Session invalidation not simulated", reason="the callable takes no dry_run")
            return InvalidationReport(0, 0, 0, complete=False, simulated=True)
        try:
            if self._style == "both":
                result = self.func(keep_admins, dry_run=dry_run)
            elif self._style == "one":
                result = self.func(keep_admins)
            else:
                result = self.func()
        except Exception as exc:
            log_line("Session invalidation failed", logging.ERROR, error=type(exc).__name__)
            return InvalidationReport(0, 0, 0, complete=False, simulated=dry_run)
        if isinstance(result, InvalidationReport):
            return attrs.evolve(result, simulated=result.simulated or dry_run)
        if result is None:
            result = 0
        if isinstance(result, bool) or not isinstance(result, int) or result < 0:
            log_line(
                "Session invalidation failed",
                logging.ERROR,
                error=f"the callable returned {type(result).__name__}, not a count",
            )
            return InvalidationReport(0, 0, 0, complete=False, simulated=dry_run)
        return InvalidationReport(result, 0, 0, complete=True, simulated=dry_run)


def _call_style(func: Callable[..., object]) -> str:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return "one"  # builtins without a signature: the documented one-argument form
    for style, args, kwargs in (
        ("both", (True,), {"dry_run": False}),
        ("one", (True,), {}),
        ("none", (), {}),
    ):
        try:
            signature.bind(*args, **kwargs)
        except TypeError:
            continue
        return style
    raise ConfigurationError(
        "the session callable must accept (keep_admins, dry_run=...), (keep_admins) or ()"
    )
