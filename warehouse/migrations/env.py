"""Alembic environment: runs on the connection the caller passes (see warehouse.db.upgrade)."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from warehouse.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    # Command-line alembic: the same URL the project uses.
    url = os.environ.get("LIENTHONG_WAREHOUSE_URL", "sqlite:///var/warehouse.db")
    with create_engine(url).begin() as conn:
        _migrate(conn)


def _migrate(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
