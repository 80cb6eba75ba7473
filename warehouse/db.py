"""Engines for the warehouse URL: the schema upgrade the writing commands run (migrate, sync,
load, demo), and the read-only opening of the reading ones, which never create or migrate."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from warehouse import schema

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


class WarehouseNotReady(RuntimeError):
    """A reading command found no warehouse it may read: missing, behind the code's schema, or
    never synced. The message names the fix; the CLI exits 5."""


def normalise_url(url: str) -> str:
    """PostgreSQL URLs always use psycopg 3, whatever driver the user wrote."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine for the warehouse; a SQLite file's folder is created when missing."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Multi-row INSERT ... VALUES statements (1,000 rows each) instead of one statement a row:
    # a page's dossiers and their history events reach PostgreSQL in a few round trips.
    engine = create_engine(url, pool_pre_ping=True)
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets reports read while a sync writes; foreign keys are off by default in SQLite.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine) -> bool:
    """Bring the schema to the latest migration; True when something was applied."""
    cfg = alembic_config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return False
    log.info("upgrading the warehouse schema from %s to %s", current or "empty", head)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return True


def schema_head() -> str:
    """The latest migration this code knows (alembic's head, not a written-down revision)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - the migrations folder ships with the code
    return head


def open_for_reading(url: str) -> Engine:
    """An engine on an existing, migrated, synced warehouse — or WarehouseNotReady.

    Nothing is created: no SQLite file or folder (a mistyped path must not become an empty
    warehouse whose report is an official form of zeros), no schema, no migration (a newer
    program used only to read must not change production's schema).
    """
    url = normalise_url(url)
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise WarehouseNotReady(
                f"no warehouse at {path or shown}: check LIENTHONG_WAREHOUSE_URL / "
                "AIRFLOW_CONN_LIENTHONG_WAREHOUSE, or create one with `lienthong migrate` "
                "and sync it"
            )
    engine = make_engine(url)
    try:
        check_readable(engine, shown)
    except BaseException:
        engine.dispose()
        raise
    return engine


def check_readable(engine: Engine, shown: str | None = None) -> None:
    """Raise WarehouseNotReady unless the schema is at the code's head and a load succeeded."""
    shown = shown or engine.url.render_as_string(hide_password=True)
    head = schema_head()
    scripts = ScriptDirectory.from_config(alembic_config())
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current is None:
            raise WarehouseNotReady(
                f"{shown} holds no lienthong warehouse: create its schema with "
                "`lienthong migrate`, then sync"
            )
        if current != head:
            known = {s.revision for s in scripts.walk_revisions()}
            if current not in known:
                raise WarehouseNotReady(
                    f"the warehouse schema ({current}) is newer than this lienthong ({head}): "
                    "read it with the version that migrated it"
                )
            raise WarehouseNotReady(
                f"the warehouse schema is at {current}, this lienthong reads {head}: run "
                "`lienthong migrate` (reading commands never migrate)"
            )
        lb = schema.load_batches
        synced = conn.execute(select(lb.c.id).where(lb.c.outcome == "succeeded").limit(1)).first()
    if synced is None:
        raise WarehouseNotReady(
            f"the warehouse at {shown} was never synced: run `lienthong sync SOURCE` "
            "(`lienthong migrate` has created it)"
        )
