"""Migration 0004 builds exactly the schema's report indexes, and the report's queries repeat their
predicates closely enough for PostgreSQL to use them (a partial index is only used when the query
implies its WHERE clause, constants included)."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from warehouse import schema
from warehouse.db import alembic_config, upgrade
from warehouse.reports.due_dates import needing_due_dates
from warehouse.reports.scope import scoped_dossiers

INDEXES = {
    "ix_dossiers_counted_received_date",
    "ix_dossiers_long_running",
    "ix_dossiers_twin_facts",
    "ix_dossiers_without_due_date",
}
YEAR = (date(2019, 1, 1), date(2019, 12, 31))


def _indexes(engine) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes("dossiers")} & INDEXES


def _differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, schema.metadata)
    flat = [d for group in diffs for d in (group if isinstance(group, list) else [group])]
    return [d for d in flat if "dossiers" in repr(d)]


def test_the_migration_builds_the_schemas_report_indexes(engine):
    assert _indexes(engine) == INDEXES
    assert _differences(engine) == []


def test_downgrade_drops_them_and_upgrade_restores_them(engine):
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert _indexes(engine) == set()
    assert upgrade(engine)
    assert _indexes(engine) == INDEXES
    assert _differences(engine) == []


def _plan(conn, query) -> str:
    compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
    return "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())


@pytest.mark.pg
def test_postgresql_reads_a_period_and_its_missing_due_dates_from_the_report_indexes(pg_engine):
    upgrade(pg_engine)
    with pg_engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # an empty table: make the choice visible
        scoped = scoped_dossiers(*YEAR)
        plan = _plan(conn, select(scoped.c.id, scoped.c.channel, scoped.c.due_date))
        assert "ix_dossiers_counted_received_date" in plan
        assert "ix_dossiers_long_running" in plan
        plan = _plan(conn, needing_due_dates(*YEAR))
        assert "ix_dossiers_without_due_date" in plan
        assert "ix_dossiers_twin_facts" in plan
        conn.rollback()
