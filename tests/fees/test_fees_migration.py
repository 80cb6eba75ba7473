"""Migration 0003 builds exactly the schema's payment tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from warehouse import schema
from warehouse.db import alembic_config, upgrade

TABLES = {"payments", "fee_statements"}


def differences(engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, schema.metadata)
    flat = [d for group in diffs for d in (group if isinstance(group, list) else [group])]
    return [d for d in flat if any(t in repr(d) for t in TABLES)]


def test_the_migrated_tables_match_the_schema(engine):
    assert TABLES <= set(inspect(engine).get_table_names())
    assert differences(engine) == []


def test_downgrade_drops_them_and_upgrade_restores_them(engine):
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    assert not TABLES & set(inspect(engine).get_table_names())
    assert upgrade(engine)
    assert differences(engine) == []
