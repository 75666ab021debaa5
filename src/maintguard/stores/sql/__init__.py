"""The SQL store (SQLAlchemy 2.x Core): SQLite, PostgreSQL, MySQL/MariaDB.

``SQLStore`` is built by ``store_from_url`` for the SQL schemes, or directly.
The package is only imported when such a store is asked for, so SQLAlchemy
stays an optional extra. Its parts depend downward only:

- ``store`` — ``SQLStore``, the ``StateStore`` itself;
- ``schema`` — the table definitions and ``create_tables``;
- ``rows`` — how states and audit records map onto rows;
- ``dialect`` — what differs per backend: drivers and their timeouts, the
  UTC datetime type, upserts and inserts that skip existing keys.
"""

from __future__ import annotations

from maintguard.exceptions import MissingExtraError

# Checked here, before any part loads, so that every way into the package
# without the extra fails with the same hint rather than a bare ImportError.
try:
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingExtraError("sql", "SQLAlchemy") from exc

# The private names are kept at the path they had when this package was one
# module; ``SQLStore`` and ``UTCDateTime`` are the public face.
from maintguard.stores.sql.dialect import _DEFAULT_DRIVERS as _DEFAULT_DRIVERS
from maintguard.stores.sql.dialect import _EXTRAS as _EXTRAS
from maintguard.stores.sql.dialect import _MYSQL as _MYSQL
from maintguard.stores.sql.dialect import UTCDateTime
from maintguard.stores.sql.dialect import _connect_args as _connect_args
from maintguard.stores.sql.dialect import _engine as _engine
from maintguard.stores.sql.rows import _audit_columns as _audit_columns
from maintguard.stores.sql.rows import _audit_from_row as _audit_from_row
from maintguard.stores.sql.rows import _columns as _columns
from maintguard.stores.sql.rows import _hash as _hash
from maintguard.stores.sql.rows import _state_from_row as _state_from_row
from maintguard.stores.sql.schema import _SCHEMA_HINT as _SCHEMA_HINT
from maintguard.stores.sql.schema import _tables as _tables
from maintguard.stores.sql.store import SQLStore
from maintguard.stores.sql.store import _after_fork_in_child as _after_fork_in_child

__all__ = ["SQLStore", "UTCDateTime"]
