"""The SQL store (SQLAlchemy 2.x Core): SQLite, PostgreSQL, MySQL/MariaDB.

The state is one typed row (``maintguard_state``, ``id = 1``) so that an
operator can read and repair it with plain SQL: ``UPDATE maintguard_state SET
active = false`` ends maintenance on every worker at their next refresh. A
change is ``UPDATE … WHERE id = 1 AND version = :expected`` plus an audit row
in the same transaction. Tables are created only by ``create_schema()`` (or
``maintguard init-db``); nothing here creates them on the side.

There is no change notification: the service's refresher polls, so
``subscribe`` returns ``None``. The table definitions are in ``schema``, the
row mapping in ``rows``, and what differs per backend in ``dialect``.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from maintguard.core.state import AuditRecord, MaintenanceState
from maintguard.exceptions import (
    ConfigurationError,
    CorruptStateError,
    DataRefusedError,
    StateMissingError,
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
from maintguard.stores.sql.dialect import (
    _engine,
    _secrets_of,
    backend_name,
    insert_ignoring_duplicates,
    upsert_counts,
)
from maintguard.stores.sql.rows import (
    _audit_columns,
    _audit_from_row,
    _columns,
    _hash,
    _state_from_row,
)
from maintguard.stores.sql.schema import _tables, create_tables, schema_hint


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
        self.name = backend_name(engine.dialect.name)
        # The query may carry a password too (``?password=``, libpq's spelling).
        self._display = redact(engine.url.render_as_string(hide_password=True))
        self._secrets = _secrets_of(engine.url)
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
            create_tables(self._engine, self._metadata, self._state, initial, self.name)

    # -- StateStore -----------------------------------------------------------

    def load(self) -> MaintenanceState:
        with self._errors("load"), self._engine.connect() as conn:
            try:
                row = conn.execute(sa.select(self._state).where(self._state.c.id == 1)).first()
            except (ValueError, TypeError) as exc:  # a stored time that does not parse
                raise CorruptStateError(f"stored maintenance state is malformed: {exc}") from None
        if row is None:
            raise StateMissingError(
                f"SQL store {self._display} has no state row: {schema_hint(self._display)}"
            )
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

    def restore_missing(self, state: MaintenanceState, record: AuditRecord) -> bool:
        """Write back a state whose row (or tables) went missing: recreate
        what is gone, then compare-and-set on "absent" (the fresh row's
        version 0), so that of several workers only one restores it."""
        self.create_schema()
        return self.compare_and_set(0, state, record)

    def overwrite(self, state: MaintenanceState, record: AuditRecord) -> None:
        """Replace the state row whatever it holds (repairs a corrupt row)."""
        change = sa.update(self._state).where(self._state.c.id == 1).values(**_columns(state))
        with self._errors("overwrite"), self._engine.begin() as conn:
            if conn.execute(change).rowcount != 1:
                raise StateMissingError(
                    f"SQL store {self._display} has no state row: {schema_hint(self._display)}"
                )
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
        with self._refused("record_attempts"), self._engine.begin() as conn:
            self._prune_epochs(conn)
            if counts:
                conn.execute(
                    upsert_counts(self._counters, self.name, self._display),
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
        insert_ignoring_duplicates(conn, table, rows, self.name)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn every SQLAlchemy error into ``StoreError``, password-free."""
        try:
            yield
        except sa_exc.SQLAlchemyError as exc:
            missing = self._missing_tables() if isinstance(exc, sa_exc.DBAPIError) else []
            if missing:
                raise StateMissingError(
                    f"SQL store {self._display}: missing table(s) {', '.join(missing)}: "
                    f"{schema_hint(self._display)}"
                ) from None
            raise StoreError(self._describe(action, exc)) from None

    @contextmanager
    def _refused(self, action: str) -> Iterator[None]:
        """``_errors``, telling data the database refused (``DataRefusedError``)
        from an outage, which a later retry may get through."""
        with self._errors(action):
            try:
                yield
            except (sa_exc.DataError, sa_exc.IntegrityError) as exc:
                raise DataRefusedError(self._describe(action, exc)) from None
            except (ValueError, UnicodeError) as exc:  # the driver refused a value
                raise DataRefusedError(
                    redact(f"SQL store {self._display}: {action} failed: {type(exc).__name__}")
                ) from None

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
