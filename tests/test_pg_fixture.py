"""The PostgreSQL test fixtures themselves: a real server, fresh databases, the skip/fail rule."""

from __future__ import annotations

import socket

import pytest
import sqlalchemy as sa

from tests.pg import (
    DATABASE_PREFIX,
    REQUIRE_ENV,
    ThrowawayCluster,
    find_pg_bindir,
    give_up,
    pg_required,
)


def test_pg_engine_reaches_postgresql(pg_engine: sa.Engine) -> None:
    with pg_engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version()")).scalar_one()
    assert version.startswith("PostgreSQL ")


def test_pg_engine_database_is_empty_and_private(pg_engine: sa.Engine) -> None:
    with pg_engine.connect() as conn:
        database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        tables = conn.execute(
            sa.text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        ).scalar_one()
    assert database.startswith(DATABASE_PREFIX)
    assert tables == 0


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_starts_from_an_empty_database(pg_engine: sa.Engine, attempt: int) -> None:
    # Were the database shared between tests, the second attempt would find the table there.
    with pg_engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE probe (id int PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO probe VALUES (:id)"), {"id": attempt})


def test_pg_url_is_a_psycopg_url_to_a_session_database(pg_url: str) -> None:
    url = sa.make_url(pg_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.database.startswith(DATABASE_PREFIX)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == url.database
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("value", "required"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("no", False),
        ("1", True),
        ("true", True),
        (" YES ", True),
    ],
)
def test_pg_required_reads_the_flag(value: str | None, required: bool) -> None:
    environ = {} if value is None else {REQUIRE_ENV: value}
    assert pg_required(environ) is required


def test_give_up_fails_when_postgresql_is_required() -> None:
    with pytest.raises(pytest.fail.Exception, match="required"):
        give_up("no server", {REQUIRE_ENV: "1"})


def test_give_up_skips_when_postgresql_is_optional() -> None:
    with pytest.raises(pytest.skip.Exception, match="no server"):
        give_up("no server", {})


@pytest.mark.slow
@pytest.mark.pg
def test_throwaway_cluster_starts_serves_and_is_removed() -> None:
    # CI points the fixtures at a running server, so exercise the local-binaries path directly.
    if find_pg_bindir() is None:
        pytest.skip("no local PostgreSQL binaries")
    cluster = ThrowawayCluster.start()
    try:
        engine = sa.create_engine(cluster.url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
        engine.dispose()
    finally:
        cluster.stop()
    assert not cluster.root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", cluster.port), 1):
        pass
