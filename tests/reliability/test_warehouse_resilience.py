"""The warehouse going away mid-run: a clean failure, no partial commit, a clear message; and
a schema migration on a warehouse holding data keeps the data."""

from __future__ import annotations

import functools
from datetime import datetime

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError

from connectors import one_stop
from lienthong.cli import main
from lienthong.pipeline import sync
from lienthong.settings import load
from mappings.common import LOCAL_TZ
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection, stand_in_uri
from tests.helpers import count, warehouse_digest
from warehouse import schema
from warehouse.db import MIGRATIONS, alembic_config, upgrade


@pytest.fixture(scope="module")
def base_url():
    with serve(PrefixDispatcher({"/one_stop": make_app(build_dataset("small", seed=8))})) as url:
        yield url


@pytest.mark.pg
def test_connections_killed_mid_batch_fail_cleanly_without_partial_commit(
    pg_engine, base_url, monkeypatch
):
    upgrade(pg_engine)
    killed = []

    def kill_the_warehouse_connections(stream, counts, elapsed):
        if stream == "one_stop.dossiers" and not killed:
            with pg_engine.connect() as conn:
                killed.append(
                    conn.execute(
                        text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    ).scalar()
                )

    since, until = datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
    # Small pages: the kill lands between two pages of the dossiers batch.
    monkeypatch.setattr(
        one_stop, "OneStopConnector", functools.partial(one_stop.OneStopConnector, page_size=50)
    )
    with pytest.raises(OperationalError, match="terminat|closed|connection"):
        sync(
            "one_stop",
            load(),
            since=since,
            until=until,
            engine=pg_engine,
            connection=stand_in_connection(base_url, "one_stop"),
            progress=kill_the_warehouse_connections,
        )
    assert killed and killed[0] >= 1
    pg_engine.dispose()
    lb = schema.load_batches
    with pg_engine.connect() as conn:
        audit = conn.execute(select(lb.c.stream, lb.c.outcome, lb.c.error)).all()
    assert count(pg_engine, schema.dossiers) == 0  # the batch was rolled back whole
    dossiers = [a for a in audit if a.stream == "dossiers"]
    assert dossiers and dossiers[0].outcome == "failed" and dossiers[0].error


def test_an_unreachable_warehouse_is_a_clear_error(tmp_path, monkeypatch, base_url, capsys):
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", stand_in_uri(base_url, "one_stop"))
    assert main(["sync", "one_stop", "--since", "2019-01-01"]) == 3
    err = capsys.readouterr().err
    assert "warehouse is unavailable" in err and "Traceback" not in err


def test_a_migration_on_a_warehouse_with_data_keeps_it(tmp_path, base_url):
    """Load under the first schema version, then upgrade to the latest: the data stays."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            schema.agencies.insert().values(
                code="000.00.12.H22", name="Sở Tư pháp", source="one_stop", content_hash="x"
            )
        )
        conn.execute(
            text(
                "INSERT INTO dossiers (source, source_id, dossier_number, channel, due_extended, "
                "status, on_the_spot, paid_online, fee_amount, source_updated_at, content_hash) "
                "VALUES ('one_stop', 'D1', 'D1', 2, 0, 4, 0, 0, 0, '2019-01-01 00:00:00', 'h')"
            )
        )
    from warehouse.db import make_engine

    upgraded = make_engine(url)
    assert upgrade(upgraded) is True
    with upgraded.connect() as conn:
        row = conn.execute(
            select(
                schema.dossiers.c.source_id, schema.dossiers.c.channel, schema.dossiers.c.linked_to
            )
        ).one()
    assert tuple(row) == ("D1", 2, None)
    assert count(upgraded, schema.agencies) == 1
    assert MIGRATIONS.is_dir()
    assert warehouse_digest(upgraded)
