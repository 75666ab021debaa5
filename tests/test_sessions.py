"""Session invalidation, against a real Redis, SQLite and PostgreSQL.

The stores hold a few thousand sessions of every kind the invalidator meets:
JSON and Flask-Session (msgpack) payloads of admins and users, corrupt bytes,
pickles (which must never be loaded, and never count as an admin's), hashes,
and keys or rows outside its reach.
"""

from __future__ import annotations

import json
import logging
import pickle
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec
import pytest
import redis
import sqlalchemy as sa

from maintguard.exceptions import ConfigurationError
from maintguard.sessions import (
    DEFAULT_DECODERS,
    CallableSessionInvalidator,
    InvalidationReport,
    RedisSessionInvalidator,
    SQLSessionInvalidator,
    decode_session,
    default_is_admin,
    fingerprint,
)
from tests.servers import RedisServer

pytestmark = pytest.mark.services

#: Set if anything ever unpickles one of the tripwire payloads below.
UNPICKLED: list[str] = []


def _tripwire() -> dict[str, str]:
    UNPICKLED.append("a pickle was loaded")
    return {"role": "admin"}


class _Tripwire:
    def __reduce__(self) -> tuple[Callable[[], dict[str, str]], tuple[()]]:
        return _tripwire, ()


PICKLED_ADMIN = pickle.dumps(_Tripwire(), protocol=pickle.HIGHEST_PROTOCOL)
#: cachelib (Flask-Session's cachelib backend) stores "!" + pickle.
CACHELIB_ADMIN = b"!" + pickle.dumps({"role": "admin"}, protocol=2)


def flask_session(**values: Any) -> bytes:
    """What Flask-Session >= 0.6 stores: msgspec.msgpack.Encoder().encode(dict(session))."""
    return msgspec.msgpack.Encoder().encode({"_permanent": True, **values})


#: kind -> (payload factory, is it an admin's)
KINDS: dict[str, tuple[Callable[[int], bytes], bool]] = {
    "json_admin_role": (lambda i: json.dumps({"user_id": i, "role": "Admin"}).encode(), True),
    "json_admin_nested": (
        lambda i: json.dumps({"_user": {"id": i, "is_admin": True}}).encode(),
        True,
    ),
    "json_user": (lambda i: json.dumps({"user_id": i, "role": "user"}).encode(), False),
    "json_user_is_admin_string": (
        lambda i: json.dumps({"user_id": i, "is_admin": "true"}).encode(),
        False,
    ),
    "flask_admin": (lambda i: flask_session(_user_id=str(i), role="admin"), True),
    "flask_admin_nested": (lambda i: flask_session(user={"id": i, "role": "ADMIN"}), True),
    "flask_user": (lambda i: flask_session(_user_id=str(i), csrf_token="t"), False),
    "corrupt": (lambda i: b"\xff\xfe\x00garbage" + i.to_bytes(4, "big"), False),
    "pickled_admin": (lambda i: PICKLED_ADMIN, False),
    "cachelib_pickled_admin": (lambda i: CACHELIB_ADMIN, False),
}
PER_KIND = 300
HASH_ADMINS = 50
HASH_USERS = 50
ADMINS = PER_KIND * sum(admin for _, admin in KINDS.values()) + HASH_ADMINS
NON_ADMINS = PER_KIND * sum(not admin for _, admin in KINDS.values()) + HASH_USERS


def populate(client: redis.Redis, prefix: str = "session:") -> dict[str, set[bytes]]:
    """Fill Redis; returns the keys by role ("admin", "user", "outside")."""
    keys: dict[str, set[bytes]] = {"admin": set(), "user": set(), "outside": set()}
    pipe = client.pipeline(transaction=False)
    for factory, admin in KINDS.values():
        for i in range(PER_KIND):
            key = f"{prefix}{secrets.token_urlsafe(24)}".encode()
            pipe.set(key, factory(i), ex=3600)
            keys["admin" if admin else "user"].add(key)
    for i in range(HASH_ADMINS + HASH_USERS):
        key = f"{prefix}{secrets.token_urlsafe(24)}".encode()
        role = "admin" if i < HASH_ADMINS else "user"
        pipe.hset(key, mapping={"user_id": str(i), "role": role})
        keys["admin" if i < HASH_ADMINS else "user"].add(key)
    for other in ("sessions:", "other:session:", "session", "user:"):
        for _ in range(50):
            key = f"{other}{secrets.token_urlsafe(12)}".encode()
            if key.startswith(prefix.encode()):
                continue
            pipe.set(key, json.dumps({"role": "user"}))
            keys["outside"].add(key)
    pipe.execute()
    return keys


def remaining(client: redis.Redis) -> set[bytes]:
    return set(client.scan_iter(count=1000))


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture(autouse=True)
def _no_unpickling() -> Iterator[None]:
    UNPICKLED.clear()
    yield
    assert UNPICKLED == []


# --- Redis ------------------------------------------------------------------


def test_admins_are_kept_and_every_other_session_is_invalidated(
    redis_url: str, client: redis.Redis
) -> None:
    keys = populate(client)

    report = RedisSessionInvalidator(redis_url, batch_size=200).invalidate()

    assert InvalidationReport(NON_ADMINS, ADMINS, 0, complete=True) == report
    assert keys["admin"] | keys["outside"] == remaining(client)


def test_corrupt_and_pickled_sessions_are_invalidated_and_never_unpickled(
    redis_url: str, client: redis.Redis
) -> None:
    pickled = [b"session:p1", b"session:p2"]
    client.set(pickled[0], PICKLED_ADMIN)
    client.set(pickled[1], CACHELIB_ADMIN)
    client.set(b"session:c", b"\x00\x01not a session")

    report = RedisSessionInvalidator(redis_url).invalidate()

    assert InvalidationReport(3, 0, 0, complete=True) == report
    assert set() == remaining(client)
    # The autouse fixture checks that no tripwire pickle was loaded.


def test_dry_run_counts_exactly_and_deletes_nothing(redis_url: str, client: redis.Redis) -> None:
    populate(client)
    before = remaining(client)

    report = RedisSessionInvalidator(redis_url, batch_size=200).invalidate(dry_run=True)

    assert InvalidationReport(NON_ADMINS, ADMINS, 0, complete=True, simulated=True) == report
    assert before == remaining(client)


def test_a_second_run_finds_only_admins(redis_url: str, client: redis.Redis) -> None:
    keys = populate(client)
    invalidator = RedisSessionInvalidator(redis_url, batch_size=200)
    invalidator.invalidate()

    again = invalidator.invalidate()

    assert InvalidationReport(0, ADMINS, 0, complete=True) == again
    assert keys["admin"] | keys["outside"] == remaining(client)


def test_keep_admins_false_ends_every_session_under_the_prefix(
    redis_url: str, client: redis.Redis
) -> None:
    keys = populate(client)

    report = RedisSessionInvalidator(redis_url).invalidate(keep_admins=False)

    assert InvalidationReport(ADMINS + NON_ADMINS, 0, 0, complete=True) == report
    assert keys["outside"] == remaining(client)


def test_the_seeds_layout_is_served_by_its_prefix(redis_url: str, client: redis.Redis) -> None:
    """``vedfolnir:session:*`` (the troubleshooting guide) with prefix="vedfolnir:session:"."""
    ours = populate(client, prefix="vedfolnir:session:")
    flask_layout = populate(client, prefix="session:")

    report = RedisSessionInvalidator(redis_url, prefix="vedfolnir:session:").invalidate()

    assert (report.invalidated, report.kept_admin) == (NON_ADMINS, ADMINS)
    expected = ours["admin"] | ours["outside"] | flask_layout["admin"] | flask_layout["user"]
    assert expected | flask_layout["outside"] == remaining(client)


def test_glob_characters_in_the_prefix_are_literal(redis_url: str, client: redis.Redis) -> None:
    client.set("app[1]:session:a", b"{}")
    client.set("app1:session:b", b"{}")
    client.set("app*:session:c", b"{}")

    report = RedisSessionInvalidator(redis_url, prefix="app[1]:session:").invalidate()

    assert report.invalidated == 1
    assert {b"app1:session:b", b"app*:session:c"} == remaining(client)


def test_is_admin_overrides_the_default_rule(redis_url: str, client: redis.Redis) -> None:
    client.set("session:staff", json.dumps({"group": "staff"}))
    client.set("session:role-admin", json.dumps({"role": "admin"}))

    report = RedisSessionInvalidator(
        redis_url, is_admin=lambda payload: payload.get("group") == "staff"
    ).invalidate()

    assert (report.invalidated, report.kept_admin) == (1, 1)
    assert {b"session:staff"} == remaining(client)


def test_an_admin_check_that_raises_ends_the_session(redis_url: str, client: redis.Redis) -> None:
    client.set("session:x", json.dumps({"role": "admin"}))

    def broken(payload: Mapping[str, Any]) -> bool:
        raise KeyError("boom")

    report = RedisSessionInvalidator(redis_url, is_admin=broken).invalidate()

    assert InvalidationReport(1, 0, 0, complete=True) == report


def test_a_given_client_is_used_and_left_open(client: redis.Redis) -> None:
    client.set("session:u", json.dumps({"role": "user"}))

    report = RedisSessionInvalidator(client).invalidate()

    assert report.invalidated == 1
    assert client.ping()


def test_log_lines_name_no_session_id_and_no_payload(
    redis_url: str, client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    keys = populate(client)
    caplog.set_level(logging.DEBUG, logger="maintguard")

    RedisSessionInvalidator(redis_url, batch_size=500).invalidate()

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "[MAINTENANCE] Sessions invalidated: count=" in text
    assert f'session_id="{fingerprint(next(iter(keys["user"])))}"' in text
    for key in keys["user"] | keys["admin"]:
        assert key.decode().split(":", 1)[1] not in text
    assert "user_id" not in text


def test_a_connection_dropped_half_way_reports_incomplete_and_a_rerun_finishes(
    own_redis: RedisServer,
) -> None:
    client = redis.Redis.from_url(own_redis.url)
    try:
        keys = populate(client)
    finally:
        client.close()
    calls = 0

    def outage_after_some_batches(value: bytes) -> None:
        """A decoder that takes the server down once a third of the keys were read."""
        nonlocal calls
        calls += 1
        if calls == (ADMINS + NON_ADMINS) // 3:
            side = redis.Redis.from_url(own_redis.url)
            try:
                side.save()  # the restarted server comes back with this data
            finally:
                side.close()
            own_redis.stop()

    invalidator = RedisSessionInvalidator(
        own_redis.url,
        batch_size=100,
        timeout=1.0,
        decoders=(outage_after_some_batches, *DEFAULT_DECODERS),
    )

    started = time.monotonic()
    first = invalidator.invalidate()

    assert time.monotonic() - started < 10  # a fault bound, not a benchmark
    assert not first.complete
    assert 0 < first.invalidated < NON_ADMINS
    assert first.failed > 0

    own_redis.start()
    calls = -(10**9)  # no second outage
    second = invalidator.invalidate()

    assert second.complete
    assert second.kept_admin == ADMINS
    client = redis.Redis.from_url(own_redis.url)
    try:
        assert keys["admin"] | keys["outside"] == remaining(client)
    finally:
        client.close()
    assert first.invalidated + second.invalidated == NON_ADMINS


def test_an_unreachable_server_is_a_report_not_an_exception(own_redis: RedisServer) -> None:
    own_redis.stop()

    report = RedisSessionInvalidator(own_redis.url, timeout=0.5).invalidate()

    assert InvalidationReport(0, 0, 0, complete=False) == report


@pytest.mark.parametrize("url", ["http://localhost:6379", "memory://", "localhost:6379"])
def test_only_redis_urls_are_accepted(url: str) -> None:
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisSessionInvalidator(url)


def test_a_decoding_client_is_refused(redis_url: str) -> None:
    decoding = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ConfigurationError, match="decode_responses"):
            RedisSessionInvalidator(decoding)
    finally:
        decoding.close()


def test_an_empty_prefix_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisSessionInvalidator("redis://localhost", prefix="")


# --- payloads and reports ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b'{"role": "admin"}', {"role": "admin"}),
        (msgspec.json.encode({"_permanent": True, "role": "x"}), {"_permanent": True, "role": "x"}),
        (flask_session(a=1), {"_permanent": True, "a": 1}),
        (PICKLED_ADMIN, None),
        (CACHELIB_ADMIN, None),
        (b"[1, 2]", None),
        (b"", None),
        (b"\x01", None),
    ],
)
def test_decode_session(value: bytes, expected: dict[str, Any] | None) -> None:
    assert expected == decode_session(value)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"role": "admin"}, True),
        ({"role": " ADMIN "}, True),
        ({"is_admin": True}, True),
        ({"user": {"role": "admin"}}, True),
        ({"_user": {"is_admin": True}}, True),
        ({"is_admin": 1}, False),
        ({"role": "administrator"}, False),
        ({"roles": ["admin"]}, False),
        ({"profile": {"role": "admin"}}, False),
    ],
)
def test_default_is_admin(payload: dict[str, Any], expected: bool) -> None:
    assert expected == default_is_admin(payload)


def test_reports_add_up() -> None:
    first = InvalidationReport(3, 1, 1, complete=False)
    second = InvalidationReport(4, 2, 0, complete=True)

    assert InvalidationReport(7, 3, 1, complete=False) == first + second


# --- SQL --------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sessions.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    built = sa.create_engine(url)
    try:
        yield built
    finally:
        built.dispose()


SQL_ROWS = 2000


def make_table(engine: sa.Engine) -> sa.Table:
    """A sessions table with a role column, an is_admin flag and a payload."""
    metadata = sa.MetaData()
    table = sa.Table(
        f"sessions_{secrets.token_hex(4)}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("role", sa.String(20), nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
        sa.Column("data", sa.LargeBinary, nullable=True),
    )
    metadata.create_all(engine)
    return table


def fill(engine: sa.Engine, table: sa.Table) -> dict[str, set[int]]:
    """Rows of every kind; returns ids by who recognises them as admin."""
    ids: dict[str, set[int]] = {"role": set(), "flag": set(), "data": set(), "user": set()}
    rows = []
    kinds = [
        ("role", {"role": "admin", "data": None}),
        ("flag", {"is_admin": True, "role": "user"}),
        ("data", {"data": flask_session(role="admin")}),
        ("data", {"data": json.dumps({"user": {"is_admin": True}}).encode()}),
        ("user", {"role": "user", "data": flask_session(role="user")}),
        ("user", {"role": None, "data": PICKLED_ADMIN}),
        ("user", {"data": b"\xff\x00corrupt"}),
        ("user", {}),
    ]
    for i in range(1, SQL_ROWS + 1):
        kind, values = kinds[i % len(kinds)]
        rows.append({"id": i, "is_admin": False, "role": None, "data": None, **values})
        ids[kind].add(i)
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    return ids


def left(engine: sa.Engine, table: sa.Table) -> set[int]:
    with engine.connect() as conn:
        return set(conn.scalars(sa.select(table.c.id)))


def test_sql_keeps_admins_by_predicate_and_payload(engine: sa.Engine) -> None:
    table = make_table(engine)
    ids = fill(engine, table)
    kept = ids["role"] | ids["data"]

    report = SQLSessionInvalidator(
        engine, table.name, admin_predicate="role = 'admin'", data_column="data", batch_size=300
    ).invalidate()

    assert InvalidationReport(SQL_ROWS - len(kept), len(kept), 0, complete=True) == report
    assert kept == left(engine, table)


def test_sql_admin_column_and_expression_predicate(engine: sa.Engine) -> None:
    table = make_table(engine)
    ids = fill(engine, table)
    kept = ids["role"] | ids["flag"]

    report = SQLSessionInvalidator(
        engine,
        table.name,
        admin_column="is_admin",
        admin_predicate=sa.column("role") == "admin",
    ).invalidate()

    assert (SQL_ROWS - len(kept), len(kept)) == (report.invalidated, report.kept_admin)
    assert kept == left(engine, table)


def test_sql_dry_run_counts_and_deletes_nothing(engine: sa.Engine) -> None:
    table = make_table(engine)
    ids = fill(engine, table)
    kept = ids["role"] | ids["data"]

    report = SQLSessionInvalidator(
        engine, table.name, admin_predicate="role = 'admin'", data_column="data"
    ).invalidate(dry_run=True)

    assert InvalidationReport(SQL_ROWS - len(kept), len(kept), 0, True, simulated=True) == report
    assert len(left(engine, table)) == SQL_ROWS


def test_sql_rerun_is_idempotent(engine: sa.Engine) -> None:
    table = make_table(engine)
    ids = fill(engine, table)
    invalidator = SQLSessionInvalidator(engine, table.name, data_column="data")
    invalidator.invalidate()

    again = invalidator.invalidate()

    assert InvalidationReport(0, len(ids["data"]), 0, complete=True) == again


def test_sql_keep_admins_false_empties_the_table(engine: sa.Engine) -> None:
    table = make_table(engine)
    fill(engine, table)

    report = SQLSessionInvalidator(engine, table.name, admin_column="is_admin").invalidate(
        keep_admins=False
    )

    assert InvalidationReport(SQL_ROWS, 0, 0, complete=True) == report
    assert set() == left(engine, table)


def test_sql_flask_session_table_layout(engine: sa.Engine) -> None:
    """Flask-Session's SQLAlchemy table: id, session_id, data (msgpack), expiry."""
    metadata = sa.MetaData()
    table = sa.Table(
        f"flask_sessions_{secrets.token_hex(4)}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.String(255), unique=True),
        sa.Column("data", sa.LargeBinary),
        sa.Column("expiry", sa.DateTime),
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {"session_id": "a", "data": flask_session(_user_id="1", role="admin")},
                {"session_id": "b", "data": flask_session(_user_id="2")},
                {"session_id": "c", "data": PICKLED_ADMIN},
            ],
        )

    report = SQLSessionInvalidator(engine, table.name, data_column="data").invalidate()

    assert InvalidationReport(2, 1, 0, complete=True) == report


def test_sql_from_a_url(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'by-url.db'}"
    built = sa.create_engine(url)
    try:
        table = make_table(built)
        ids = fill(built, table)
    finally:
        built.dispose()

    report = SQLSessionInvalidator(url, table.name, admin_column="is_admin").invalidate()

    assert (SQL_ROWS - len(ids["flag"]), len(ids["flag"])) == (
        report.invalidated,
        report.kept_admin,
    )


def test_sql_unreachable_database_is_a_report(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"

    report = SQLSessionInvalidator(url, admin_column="is_admin").invalidate()

    assert InvalidationReport(0, 0, 0, complete=False) == report


def test_sql_connection_killed_half_way_reports_incomplete_and_a_rerun_finishes(
    postgresql_url: str,
) -> None:
    victim = sa.create_engine(
        postgresql_url, connect_args={"application_name": "maintguard-victim"}
    )
    killer = sa.create_engine(postgresql_url)
    try:
        table = make_table(victim)
        ids = fill(victim, table)
        kept = ids["role"] | ids["data"]
        calls = 0

        def kill_after_a_while(value: bytes) -> None:
            """A decoder that terminates the invalidator's backend mid-run."""
            nonlocal calls
            calls += 1
            if calls == 600:
                with killer.begin() as conn:
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = 'maintguard-victim'"
                        )
                    )

        invalidator = SQLSessionInvalidator(
            victim,
            table.name,
            admin_predicate="role = 'admin'",
            data_column="data",
            batch_size=200,
            decoders=(kill_after_a_while, *DEFAULT_DECODERS),
        )

        first = invalidator.invalidate()

        assert not first.complete
        assert 0 < first.invalidated < SQL_ROWS - len(kept)

        second = invalidator.invalidate()

        assert second.complete
        assert len(kept) == second.kept_admin
        assert SQL_ROWS - len(kept) == first.invalidated + second.invalidated
        assert kept == left(victim, table)
    finally:
        victim.dispose()
        killer.dispose()


def test_sql_needs_a_way_to_recognise_admins(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="admin_predicate"):
        SQLSessionInvalidator(f"sqlite:///{tmp_path / 'x.db'}")


def test_sql_rejects_a_bad_url() -> None:
    with pytest.raises(ConfigurationError, match="URL"):
        SQLSessionInvalidator("not a url", admin_column="is_admin")


# --- a callable ---------------------------------------------------------------


def test_callable_returning_a_count() -> None:
    calls: list[bool] = []

    def end_sessions(keep_admins: bool) -> int:
        calls.append(keep_admins)
        return 5

    report = CallableSessionInvalidator(end_sessions).invalidate(keep_admins=False)

    assert InvalidationReport(5, 0, 0, complete=True) == report
    assert calls == [False]


def test_callable_with_dry_run_returning_a_report() -> None:
    def end_sessions(keep_admins: bool, dry_run: bool = False) -> InvalidationReport:
        return InvalidationReport(2, 1, 0, complete=True, simulated=dry_run)

    report = CallableSessionInvalidator(end_sessions).invalidate(dry_run=True)

    assert InvalidationReport(2, 1, 0, complete=True, simulated=True) == report


def test_callable_without_dry_run_is_not_called_in_a_dry_run() -> None:
    calls: list[bool] = []

    report = CallableSessionInvalidator(lambda keep_admins: calls.append(keep_admins)).invalidate(
        dry_run=True
    )

    assert InvalidationReport(0, 0, 0, complete=False, simulated=True) == report
    assert calls == []


def test_callable_that_raises_is_an_incomplete_report() -> None:
    def broken() -> int:
        raise RuntimeError("secret detail")

    assert (
        InvalidationReport(0, 0, 0, complete=False)
        == CallableSessionInvalidator(broken).invalidate()
    )


def test_callable_with_an_unusable_signature_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        CallableSessionInvalidator(lambda a, b, c: 0)
