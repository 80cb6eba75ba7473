"""Where the warehouse is: the one resolution order the CLI, the DAGs and the tests share.

1. `LIENTHONG_WAREHOUSE_URL` (a SQLAlchemy URL);
2. the `lienthong_warehouse` connection: `AIRFLOW_CONN_LIENTHONG_WAREHOUSE` (URI or JSON form),
   else — inside an Airflow task only — the same connection from Airflow's secrets backend or
   metadata database (`lookup`);
3. the demo default, `sqlite:///var/warehouse.db`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import URL

from connectors.connection import Connection, env_var_name, get_connection

WAREHOUSE_CONN_ID = "lienthong_warehouse"
DEFAULT_WAREHOUSE_URL = "sqlite:///var/warehouse.db"


def resolve_warehouse_url(
    environ: Mapping[str, str] = os.environ,
    lookup: Callable[[str], Any | None] | None = None,
) -> str:
    """The warehouse's SQLAlchemy URL, in the order of the module's docstring."""
    url = (environ.get("LIENTHONG_WAREHOUSE_URL") or "").strip()
    if url:
        return url
    if (environ.get(env_var_name(WAREHOUSE_CONN_ID)) or "").strip():
        return warehouse_url_from_connection(_env_connection(environ))
    conn = lookup(WAREHOUSE_CONN_ID) if lookup is not None else None
    if conn is not None:
        return warehouse_url_from_connection(conn)
    return DEFAULT_WAREHOUSE_URL


def _env_connection(environ: Mapping[str, str]) -> Connection:
    value = environ[env_var_name(WAREHOUSE_CONN_ID)].strip()
    parts = urlsplit(value)
    if not value.startswith("{") and parts.scheme == "sqlite" and not parts.netloc:
        # `sqlite:////data/warehouse.db`: Airflow keeps the file in the path (`schema`); the
        # generic parser wants a host, which a SQLite URI has not.
        return Connection(WAREHOUSE_CONN_ID, "sqlite", schema=unquote(parts.path[1:]) or None)
    return get_connection(WAREHOUSE_CONN_ID, environ)


def warehouse_url_from_connection(conn: Any) -> str:
    """A SQLAlchemy URL from a `postgres` or `sqlite` connection (Airflow's or the connectors')."""
    kind = (conn.conn_type or "").lower()
    if kind.partition("+")[0] in ("postgres", "postgresql"):
        extra = getattr(conn, "extra_dejson", None)
        if extra is None:
            extra = conn.extra or {}
        url = URL.create(
            "postgresql+psycopg",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port,
            database=conn.schema or None,
            query={k: str(v) for k, v in extra.items()},  # e.g. sslmode
        )
        return url.render_as_string(hide_password=False)
    if kind == "sqlite":
        # Airflow keeps a SQLite file in `host` (JSON form) or in the URI's path (`schema`).
        path = conn.host or conn.schema
        if path:
            return f"sqlite:///{path}"
    raise ValueError(
        f"connection {conn.conn_id!r}: the warehouse must be a postgres or sqlite connection "
        f"with a database, not {kind or 'an empty'!r} one"
    )
