"""The SQL store (SQLAlchemy 2.x Core): SQLite, PostgreSQL, MySQL/MariaDB.

The state is one typed row (``maintguard_state``, ``id = 1``) so that an
operator can read and repair it with plain SQL: ``UPDATE maintguard_state SET
active = false`` ends maintenance on every worker at their next refresh. A
change is ``UPDATE … WHERE id = 1 AND version = :expected`` plus an audit row
in the same transaction. Tables are created only by ``create_schema()`` (or
``maintguard init-db``); nothing here creates them on the side.

There is no change notification: the service's refresher polls, so
``subscribe`` returns ``None``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from maintguard.core.state import AuditRecord, MaintenanceState, Mode, format_time
from maintguard.exceptions import (
    ConfigurationError,
    CorruptStateError,
    MissingExtraError,
    StoreError,
)
from maintguard.logs import redact
from maintguard.stores.base import (
    AUDIT_LIMIT,
    EPOCH_LIMIT,
    SAMPLE_LIMIT,
    AttemptBatch,
    AttemptCounts,
)

try:
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.dialects import mysql, postgresql, sqlite
    from sqlalchemy.engine import Connection, Dialect, Engine, Row
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("sql", "SQLAlchemy") from exc

_SCHEMA_HINT = "run `store.create_schema()` or `maintguard init-db` first"
#: Drivers used when a URL names none: the ones the extras install.
_DEFAULT_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
#: Which extra installs the driver of a backend.
_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
_MYSQL = ("mysql", "mariadb")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite and MySQL keep no offset: there the stored naive value is UTC.
    MySQL gets microsecond precision, which its plain DATETIME drops.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _tables(state: str, audit: str, counters: str) -> tuple[sa.MetaData, dict[str, sa.Table]]:
    metadata = sa.MetaData()
    # utf8mb4 so that a reason can hold any Unicode on MySQL/MariaDB.
    options: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER
    state_table = sa.Table(
        state,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("started_at", UTCDateTime),
        sa.Column("ends_at", UTCDateTime),
        sa.Column("updated_at", UTCDateTime),
        sa.Column("estimated_duration", sa.Double),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(255)),
        # JSON of the structured rest: operations, window, progress.
        sa.Column("extra", sa.Text, nullable=False),
        **options,
    )
    audit_table = sa.Table(
        audit,
        metadata,
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(16)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        **options,
    )
    counters_table = sa.Table(
        counters,
        metadata,
        sa.Column("epoch", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("operation", sa.String(64), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        **options,
    )
    # One row per distinct sample path; paths are long, so uniqueness goes
    # through their hash.
    samples_table = sa.Table(
        f"{counters}_samples",
        metadata,
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("epoch", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("path_hash", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.UniqueConstraint("epoch", "operation", "path_hash", name=f"uq_{counters}_samples"),
        **options,
    )
    tables = {
        "state": state_table,
        "audit": audit_table,
        "counters": counters_table,
        "samples": samples_table,
    }
    return metadata, tables


class SQLStore:
    """``StateStore`` on a SQL database through a SQLAlchemy ``Engine``."""

    def __init__(
        self,
        engine: Engine,
        *,
        table_name: str = "maintguard_state",
        audit_table_name: str = "maintguard_audit",
        counters_table_name: str = "maintguard_attempts",
        audit_limit: int = AUDIT_LIMIT,
    ) -> None:
        if audit_limit < 1:
            raise ConfigurationError("audit_limit must be at least 1")
        self._engine = engine
        self._audit_limit = audit_limit
        self._metadata, tables = _tables(table_name, audit_table_name, counters_table_name)
        self._state = tables["state"]
        self._audit = tables["audit"]
        self._counters = tables["counters"]
        self._samples = tables["samples"]
        dialect = engine.dialect.name
        self.name = "mysql" if dialect in _MYSQL else dialect
        self._display = engine.url.render_as_string(hide_password=True)
        password = engine.url.password
        self._secrets = (str(password),) if password else ()
        # A weak reference: the hook must not keep a discarded store alive.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork_in_child(ref))

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        table_name: str = "maintguard_state",
        audit_table_name: str = "maintguard_audit",
        counters_table_name: str = "maintguard_attempts",
        timeout: float = 2.0,
        engine: Engine | None = None,
        audit_limit: int = AUDIT_LIMIT,
    ) -> SQLStore:
        """Build the engine a URL names, with ``timeout`` on connects and
        statements where the driver allows it. With ``engine`` given, the
        URL is not used."""
        if engine is None:
            engine = _engine(url, timeout)
        return cls(
            engine,
            table_name=table_name,
            audit_table_name=audit_table_name,
            counters_table_name=counters_table_name,
            audit_limit=audit_limit,
        )

    @property
    def engine(self) -> Engine:
        return self._engine

    def __repr__(self) -> str:
        return f"<SQLStore {self._display}>"

    # -- schema ---------------------------------------------------------------

    def create_schema(self) -> None:
        """Create the tables and the state row; safe to run again, and from
        several processes at once."""
        initial = {"id": 1, **_columns(MaintenanceState())}
        with self._errors("create_schema"):
            for attempt in (1, 2):
                try:
                    # One transaction: on PostgreSQL the tables and the row
                    # appear together (MySQL commits each DDL statement anyway).
                    with self._engine.begin() as conn:
                        self._metadata.create_all(conn)
                        self._insert_ignoring_duplicates(conn, self._state, [initial])
                    break
                except (sa_exc.ProgrammingError, sa_exc.OperationalError, sa_exc.IntegrityError):
                    # Another process created a table between our check and
                    # our CREATE; the second pass sees it.
                    if attempt == 2:
                        raise
            if self.name == "sqlite" and (self._engine.url.database or ":memory:") != ":memory:":
                # WAL lets readers in other processes work while one writes.
                with self._engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")

    # -- StateStore -----------------------------------------------------------

    def load(self) -> MaintenanceState:
        with self._errors("load"), self._engine.connect() as conn:
            try:
                row = conn.execute(sa.select(self._state).where(self._state.c.id == 1)).first()
            except (ValueError, TypeError) as exc:  # a stored time that does not parse
                raise CorruptStateError(f"stored maintenance state is malformed: {exc}") from None
        if row is None:
            raise StoreError(f"SQL store {self._display} has no state row: {_SCHEMA_HINT}")
        return _state_from_row(row)

    def compare_and_set(
        self, expected_version: int, state: MaintenanceState, record: AuditRecord
    ) -> bool:
        table = self._state
        change = (
            sa.update(table)
            .where(table.c.id == 1, table.c.version == expected_version)
            .values(**_columns(state))
        )
        with self._errors("compare_and_set"), self._engine.begin() as conn:
            # The row lock taken by this UPDATE serialises writers: a
            # concurrent one waits, then finds the version changed.
            if conn.execute(change).rowcount != 1:
                return False
            inserted = conn.execute(sa.insert(self._audit).values(**_audit_columns(record)))
            key = inserted.inserted_primary_key
            if key is not None:
                self._prune_audit(conn, int(key[0]))
        return True

    def overwrite(self, state: MaintenanceState, record: AuditRecord) -> None:
        """Replace the state row whatever it holds (repairs a corrupt row)."""
        change = sa.update(self._state).where(self._state.c.id == 1).values(**_columns(state))
        with self._errors("overwrite"), self._engine.begin() as conn:
            if conn.execute(change).rowcount != 1:
                raise StoreError(f"SQL store {self._display} has no state row: {_SCHEMA_HINT}")
            conn.execute(sa.insert(self._audit).values(**_audit_columns(record)))

    def read_audit(self, limit: int = 100) -> list[AuditRecord]:
        if limit <= 0:
            return []
        query = sa.select(self._audit).order_by(self._audit.c.id.desc()).limit(limit)
        with self._errors("read_audit"), self._engine.connect() as conn:
            try:
                rows = conn.execute(query).all()
            except (ValueError, TypeError) as exc:
                raise CorruptStateError(f"stored audit record is malformed: {exc}") from None
        return [_audit_from_row(row) for row in rows]

    def record_attempts(self, batch: AttemptBatch) -> None:
        # Sorted, so that concurrent flushes lock rows in the same order.
        counts = sorted(
            (kind, operation, count)
            for kind, table in (("blocked", batch.blocked), ("simulated", batch.simulated))
            for operation, count in table.items()
        )
        with self._errors("record_attempts"), self._engine.begin() as conn:
            self._prune_epochs(conn)
            if counts:
                conn.execute(
                    self._upsert_counts(),
                    [
                        {"epoch": batch.epoch, "kind": kind, "operation": op, "count": count}
                        for kind, op, count in counts
                    ],
                )
            self._add_samples(conn, batch.epoch, batch.samples)

    def read_attempts(self, epoch: str) -> AttemptCounts:
        counters, samples = self._counters, self._samples
        with self._errors("read_attempts"), self._engine.connect() as conn:
            counts = conn.execute(
                sa.select(counters.c.kind, counters.c.operation, counters.c.count).where(
                    counters.c.epoch == epoch
                )
            ).all()
            paths = conn.execute(
                sa.select(samples.c.operation, samples.c.path)
                .where(samples.c.epoch == epoch)
                .order_by(samples.c.id)
            ).all()
        blocked = {op: int(n) for kind, op, n in counts if kind == "blocked"}
        simulated = {op: int(n) for kind, op, n in counts if kind == "simulated"}
        kept: dict[str, list[str]] = {}
        for operation, path in paths:
            # Concurrent flushes may overshoot the cap slightly; readers never see it.
            bucket = kept.setdefault(operation, [])
            if len(bucket) < SAMPLE_LIMIT:
                bucket.append(path)
        return AttemptCounts(blocked=blocked, simulated=simulated, samples=kept)

    def ping(self) -> None:
        with self._errors("ping"), self._engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def subscribe(self, on_change: Callable[[], None]) -> Callable[[], None] | None:
        return None

    def close(self) -> None:
        # dispose() leaves a fresh pool behind, so the store stays usable.
        self._engine.dispose()

    # -- internals ------------------------------------------------------------

    def _prune_audit(self, conn: Connection, newest_id: int) -> None:
        # Ids only grow, so at most ``newest_id`` rows exist: nothing to do yet.
        if newest_id <= self._audit_limit:
            return
        audit = self._audit
        cutoff = conn.execute(
            sa.select(audit.c.id).order_by(audit.c.id.desc()).offset(self._audit_limit).limit(1)
        ).scalar()
        if cutoff is not None:
            conn.execute(sa.delete(audit).where(audit.c.id <= cutoff))

    def _prune_epochs(self, conn: Connection) -> None:
        # Epochs start with the maintenance's start time, so they sort in
        # time order: keep the newest EPOCH_LIMIT. Look before deleting: a
        # DELETE that matches nothing still takes range locks on InnoDB,
        # which would make concurrent flushes deadlock.
        for table in (self._counters, self._samples):
            cutoff = conn.execute(
                sa.select(table.c.epoch)
                .distinct()
                .order_by(table.c.epoch.desc())
                .offset(EPOCH_LIMIT)
                .limit(1)
            ).scalar()
            if cutoff is not None:
                conn.execute(sa.delete(table).where(table.c.epoch <= cutoff))

    def _upsert_counts(self) -> sa.Executable:
        table = self._counters
        if self.name == "mysql":
            my_insert = mysql.insert(table)
            return my_insert.on_duplicate_key_update(
                count=table.c["count"] + my_insert.inserted["count"]
            )
        if self.name not in ("postgresql", "sqlite"):
            raise StoreError(
                f"SQL store {self._display}: counters need SQLite, PostgreSQL or MySQL"
            )
        insert = postgresql.insert(table) if self.name == "postgresql" else sqlite.insert(table)
        return insert.on_conflict_do_update(
            index_elements=["epoch", "kind", "operation"],
            set_={"count": table.c["count"] + insert.excluded["count"]},
        )

    def _add_samples(
        self, conn: Connection, epoch: str, samples: Mapping[str, Sequence[str]]
    ) -> None:
        if not samples:
            return
        table = self._samples
        existing = conn.execute(
            sa.select(table.c.operation, table.c.path_hash).where(table.c.epoch == epoch)
        ).all()
        seen = {(op, digest) for op, digest in existing}
        room = {op: SAMPLE_LIMIT for op in samples}
        for op, _digest in existing:
            room[op] = room.get(op, SAMPLE_LIMIT) - 1
        rows = []
        for operation, paths in sorted(samples.items()):
            for path in paths:
                key = (operation, _hash(path))
                if room[operation] <= 0:
                    break
                if key not in seen:
                    seen.add(key)
                    room[operation] -= 1
                    rows.append(
                        {"epoch": epoch, "operation": operation, "path_hash": key[1], "path": path}
                    )
        self._insert_ignoring_duplicates(conn, table, rows)

    def _insert_ignoring_duplicates(
        self, conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
    ) -> None:
        """Insert rows, skipping those whose key exists: atomic, no race."""
        if not rows:
            return
        if self.name == "postgresql":
            conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
        elif self.name == "sqlite":
            conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)
        elif self.name == "mysql":
            conn.execute(sa.insert(table).prefix_with("IGNORE"), rows)
        else:
            for row in rows:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.insert(table), row)
                except sa_exc.IntegrityError:
                    continue

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn every SQLAlchemy error into ``StoreError``, password-free."""
        try:
            yield
        except sa_exc.SQLAlchemyError as exc:
            missing = self._missing_tables() if isinstance(exc, sa_exc.DBAPIError) else []
            if missing:
                raise StoreError(
                    f"SQL store {self._display}: missing table(s) {', '.join(missing)}: "
                    f"{_SCHEMA_HINT}"
                ) from None
            raise StoreError(self._describe(action, exc)) from None

    def _missing_tables(self) -> list[str]:
        try:
            inspector = sa.inspect(self._engine)
            return [t.name for t in self._metadata.sorted_tables if not inspector.has_table(t.name)]
        except sa_exc.SQLAlchemyError:
            return []

    def _describe(self, action: str, exc: sa_exc.SQLAlchemyError) -> str:
        # The driver's own message, not SQLAlchemy's, which quotes statements.
        cause: BaseException = exc
        if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
            cause = exc.orig
        detail = " ".join(str(cause).split())[:300]
        text = f"SQL store {self._display}: {action} failed: {type(cause).__name__}: {detail}"
        return redact(text, self._secrets)

    def _after_fork(self) -> None:
        # close=False: the parent still owns those sockets; the child only
        # forgets them and opens its own.
        self._engine.dispose(close=False)


def _after_fork_in_child(ref: weakref.ref[SQLStore]) -> None:
    store = ref()
    if store is not None:
        store._after_fork()


def _engine(url: str, timeout: float) -> Engine:
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigurationError("timeout must be a positive number of seconds")
    try:
        parsed = sa.make_url(url)
    except sa_exc.ArgumentError:
        raise ConfigurationError("store URL is not a valid SQLAlchemy URL") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":  # the spelling Heroku and others hand out
        backend = "postgresql"
    if "+" not in parsed.drivername and backend in _DEFAULT_DRIVERS:
        parsed = parsed.set(drivername=f"{backend}+{_DEFAULT_DRIVERS[backend]}")
    else:
        parsed = parsed.set(drivername=parsed.drivername.replace("postgres+", "postgresql+", 1))
    options: dict[str, Any] = {"pool_pre_ping": True}
    driver = parsed.get_driver_name()
    in_memory = backend == "sqlite" and (parsed.database or ":memory:") == ":memory:"
    if not in_memory:  # SQLite's in-memory pool takes no timeout
        options["pool_timeout"] = timeout
    options["connect_args"] = _connect_args(driver, timeout)
    try:
        return sa.create_engine(parsed, **options)
    except ImportError as exc:
        raise MissingExtraError(_EXTRAS.get(backend, "sql"), exc.name or driver) from None
    except (sa_exc.ArgumentError, TypeError, ValueError) as exc:
        display = parsed.render_as_string(hide_password=True)
        raise ConfigurationError(f"cannot build a SQL store for {display}: {exc}") from None


def _connect_args(driver: str, timeout: float) -> dict[str, Any]:
    if driver in ("psycopg", "psycopg2"):
        # libpq counts whole seconds (and at least 2); statements in ms.
        return {
            "connect_timeout": max(2, math.ceil(timeout)),
            "options": f"-c statement_timeout={max(1, int(timeout * 1000))}",
        }
    if driver == "pymysql":
        return {"connect_timeout": timeout, "read_timeout": timeout, "write_timeout": timeout}
    if driver == "mysqldb":
        seconds = max(1, math.ceil(timeout))
        return {"connect_timeout": seconds, "read_timeout": seconds, "write_timeout": seconds}
    if driver == "pysqlite":
        return {"timeout": timeout}  # how long to wait for another writer's lock
    return {}


def _columns(state: MaintenanceState) -> dict[str, Any]:
    data = state.to_dict()
    return {
        "active": state.active,
        "mode": state.mode.value,
        "reason": state.reason,
        "message": state.message,
        "started_at": state.started_at,
        "ends_at": state.ends_at,
        "updated_at": state.updated_at,
        "estimated_duration": state.estimated_duration,
        "version": state.version,
        "updated_by": state.updated_by,
        "extra": json.dumps(
            {key: data[key] for key in ("operations", "window", "progress")}, sort_keys=True
        ),
    }


def _state_from_row(row: Row[Any]) -> MaintenanceState:
    """Read the typed row through the strict parser of the stored JSON form."""
    try:
        extra = json.loads(row.extra) if row.extra is not None else {}
    except (TypeError, ValueError) as exc:
        raise CorruptStateError(f"stored 'extra' column is not valid JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise CorruptStateError("stored 'extra' column is not a JSON object")
    return MaintenanceState.from_dict(
        {
            "version": row.version,
            "active": row.active,
            "mode": row.mode,
            "reason": row.reason,
            "message": row.message,
            "started_at": format_time(row.started_at),
            "estimated_duration": row.estimated_duration,
            "ends_at": format_time(row.ends_at),
            "updated_at": format_time(row.updated_at),
            "updated_by": row.updated_by,
            "operations": extra.get("operations"),
            "window": extra.get("window"),
            "progress": extra.get("progress") or {},
        }
    )


def _audit_columns(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": record.at,
        "actor": record.actor,
        "action": record.action,
        "mode": record.mode.value if record.mode is not None else None,
        "reason": record.reason,
        "version": record.version,
        "details": json.dumps(dict(record.details), sort_keys=True),
    }


def _audit_from_row(row: Row[Any]) -> AuditRecord:
    try:
        details = json.loads(row.details)
        if not isinstance(details, dict) or row.at is None:
            raise ValueError("details is not a JSON object")
        return AuditRecord(
            at=row.at,
            actor=row.actor,
            action=row.action,
            mode=Mode(row.mode) if row.mode is not None else None,
            reason=row.reason or "",
            version=int(row.version),
            details=details,
        )
    except (TypeError, ValueError) as exc:
        raise CorruptStateError(f"stored audit record is malformed: {exc}") from None


def _hash(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()


__all__ = ["SQLStore", "UTCDateTime"]
