"""The SQL store's tables, and the one place that creates them.

Four tables: the state row (``id = 1``), the audit trail, the attempt
counters and the sample paths of those attempts. Their names are the store's
options, so the definitions are built per store rather than once at import.
Nothing but ``create_tables`` (behind ``SQLStore.create_schema`` and
``maintguard init-db``) issues DDL: a store never creates tables on the side.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from maintguard.stores.sql.dialect import UTCDateTime, insert_ignoring_duplicates

#: What an error about a missing table or state row tells the operator to do.
_SCHEMA_HINT = "run `store.create_schema()` or `maintguard init-db` first"


def schema_hint(display: str) -> str:
    """``_SCHEMA_HINT`` naming the store's own (password-free) URL."""
    return f"run `store.create_schema()` or `maintguard init-db --store {display}` first"


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


def create_tables(
    engine: Engine,
    metadata: sa.MetaData,
    state_table: sa.Table,
    initial: dict[str, Any],
    name: str,
) -> None:
    """Create the tables and insert the ``initial`` state row unless one exists.

    Safe to run again, and from several processes at once. ``name`` is the
    store's backend name. SQLAlchemy errors propagate: the store words them.
    """
    for attempt in (1, 2):
        try:
            # One transaction: on PostgreSQL the tables and the row
            # appear together (MySQL commits each DDL statement anyway).
            with engine.begin() as conn:
                metadata.create_all(conn)
                insert_ignoring_duplicates(conn, state_table, [initial], name)
            break
        except (sa_exc.ProgrammingError, sa_exc.OperationalError, sa_exc.IntegrityError):
            # Another process created a table between our check and
            # our CREATE; the second pass sees it.
            if attempt == 2:
                raise
    if name == "sqlite" and (engine.url.database or ":memory:") != ":memory:":
        # WAL lets readers in other processes work while one writes.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
