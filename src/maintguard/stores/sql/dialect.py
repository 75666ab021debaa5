"""What differs between SQLite, PostgreSQL and MySQL/MariaDB for the SQL store.

The store itself is written once against SQLAlchemy Core; everything that has
to be said per backend lives here: which driver a bare URL gets and how each
driver takes a timeout, the column type that keeps datetimes UTC everywhere,
and the two statements standard SQL has no portable form for (an upsert that
adds to a counter, an insert that skips existing keys).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine

from maintguard.exceptions import ConfigurationError, MissingExtraError, StoreError
from maintguard.logs import redact

#: Drivers used when a URL names none: the ones the extras install.
_DEFAULT_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
#: Which extra installs the driver of a backend.
_EXTRAS = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
_MYSQL = ("mysql", "mariadb")


def backend_name(dialect: str) -> str:
    """The store's name for a SQLAlchemy dialect: MariaDB counts as MySQL."""
    return "mysql" if dialect in _MYSQL else dialect


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
        display = redact(parsed.render_as_string(hide_password=True))
        raise ConfigurationError(
            redact(f"cannot build a SQL store for {display}: {exc}", _secrets_of(parsed))
        ) from None


def _secrets_of(url: sa.URL) -> tuple[str, ...]:
    values = [url.password, url.query.get("password")]
    flat = [v for value in values for v in (value if isinstance(value, tuple) else (value,))]
    return tuple(str(v) for v in flat if v)


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


def upsert_counts(table: sa.Table, name: str, display: str) -> sa.Executable:
    """An insert of counter rows that adds to the count of a row already there.

    ``name`` is the store's backend name, ``display`` its password-free URL
    for the error an unsupported backend gets.
    """
    if name == "mysql":
        my_insert = mysql.insert(table)
        return my_insert.on_duplicate_key_update(
            count=table.c["count"] + my_insert.inserted["count"]
        )
    if name not in ("postgresql", "sqlite"):
        raise StoreError(f"SQL store {display}: counters need SQLite, PostgreSQL or MySQL")
    insert = postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_update(
        index_elements=["epoch", "kind", "operation"],
        set_={"count": table.c["count"] + insert.excluded["count"]},
    )


def insert_ignoring_duplicates(
    conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]], name: str
) -> None:
    """Insert rows, skipping those whose key exists: atomic, no race.

    ``name`` is the store's backend name; another backend falls back to one
    savepoint per row, which is slower but still never races.
    """
    if not rows:
        return
    if name == "postgresql":
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    elif name == "sqlite":
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)
    elif name == "mysql":
        conn.execute(sa.insert(table).prefix_with("IGNORE"), rows)
    else:
        for row in rows:
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(table), row)
            except sa_exc.IntegrityError:
                continue
