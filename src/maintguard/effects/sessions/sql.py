"""The SQL session store: ``SQLSessionInvalidator`` (SQLAlchemy, the ``sql`` extra)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.sql.elements import ColumnElement


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
        sa = import_extra("sqlalchemy", "sql", package="SQLAlchemy")
        if data_column is None and admin_predicate is None and admin_column is None:
            raise ConfigurationError(
                "SQLSessionInvalidator needs admin_predicate, admin_column or data_column "
                "to recognise administrators' sessions"
            )
        for name, value in (("table", table), ("id_column", id_column)):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"{name} must be a non-empty name")
        self.batch_size = check_batch_size(batch_size)
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
        sa = import_extra("sqlalchemy", "sql", package="SQLAlchemy")
        tally = Tally()
        judge = Judge(self.decoders, self.is_admin)
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
        return finish(tally, complete=complete, simulated=dry_run, store="sql")

    def _select(self, sa: Any, last: Any) -> Any:
        columns: list[Any] = list(self._table.c)
        if self._admin_case is not None:
            columns.append(self._admin_case.label("maintguard_is_admin"))
        query = sa.select(*columns).order_by(self._id).limit(self.batch_size)
        return query if last is None else query.where(self._id > last)

    def _is_admin_row(self, row: Any, judge: Judge) -> bool:
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
        tally: Tally,
        judge: Judge,
        sa: Any,
    ) -> tuple[int, Any]:
        """One batch in one transaction; returns (rows seen, last id seen)."""
        delta = Tally()
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
        log_batch(delta, [], dry_run=dry_run)
        return len(rows), rows[-1][0]
