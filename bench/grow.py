"""Grow a loaded PostgreSQL warehouse to N dossiers inside the server, for the report figure.

Loading 10,000,000 dossiers through the sync takes more than half an hour; the report does not
care how its rows arrived. So the dossiers the bench loaded (the seed, one scenario year) are
copied with `INSERT … SELECT` over `generate_series`: copy k gets new source ids and numbers
(`~k` appended) and every date moved by a whole number of years, so that the copies spread over
`years` calendar years around the seed's and a report year holds ~1/years of the rows.

Two facts of a real province that a one-stop-only load lacks are put into the copies, so that the
report's paths for them are measured too (the seed's rows are left as loaded):
- one record in ``TWIN_EVERY`` is the one-stop twin of its neighbour (`linked_to`, as
  warehouse/linking.py sets it): ~8 % of the province scenario's records are such twins;
- one record in ``NO_DUE_EVERY`` has no due date from its source, so the report computes
  one from the procedure's legal duration (ministry sources leave it out now and then).

The report reads `dossiers`, `procedures` and `agencies` only; the status history is not grown.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, Engine, MetaData, Table, text
from sqlalchemy.types import Date, DateTime

TWIN_EVERY = 12
NO_DUE_EVERY = 200


def _year_offset(copy: str, years: int) -> str:
    """Copy k's shift in years: 1, 2, … then negative, so copies sit around the seed's year."""
    half = years // 2
    return f"((({copy}) + {half}) % {years} - {half})"


def _select_list(table: Table, years: int) -> tuple[list[str], list[str]]:
    """Column names and the expressions that make copy ``g.k`` of seed row ``s``."""
    shift = "g.span"
    twin = f"s.rank % {TWIN_EVERY} = 0"
    no_due = f"s.rank % {NO_DUE_EVERY} = 7"
    overrides = {
        "id": "g.base + (g.k - 1) * g.seed_rows + s.rank",
        "source_id": "s.source_id || '~' || g.k",
        "dossier_number": "s.dossier_number || '~' || g.k",
        "linked_to": f"CASE WHEN {twin} THEN g.base + (g.k - 1) * g.seed_rows + s.rank - 1 END",
        "link_rule": f"CASE WHEN {twin} THEN 'dossier_number' END",
    }
    names, exprs = [], []
    for column in table.columns:
        name = column.name
        names.append(f'"{name}"')
        if name in overrides:
            exprs.append(overrides[name])
            continue
        value = f's."{name}"'
        if isinstance(column.type, Date):
            value = f"CAST({value} + {shift} AS date)"
        elif isinstance(column.type, DateTime):
            value = f"{value} + {shift}"
        if name in ("due_at", "due_date"):
            value = f"CASE WHEN {no_due} THEN NULL ELSE {value} END"
        elif name == "due_extended":
            value = f"CASE WHEN {no_due} THEN false ELSE {value} END"
        exprs.append(value)
    return names, exprs


def grow(engine: Engine, rows: int, years: int = 10, chunk: int = 1_000_000) -> dict[str, float]:
    """Copy the loaded dossiers until the table holds ``rows``; then VACUUM ANALYZE it.

    The table's plain indexes are dropped for the copy and built again after it (a bulk build is
    several times faster than ten million index insertions); the key and unique constraints stay,
    so the copies are checked to be new records. Returns the seed's size, the rows added, and
    the seconds spent in all and on the indexes.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("growing the warehouse is for PostgreSQL only")
    started = time.perf_counter()
    with engine.begin() as conn:
        table = Table("dossiers", MetaData(), autoload_with=conn)
        seed_rows, base = conn.execute(text("SELECT count(*), max(id) FROM dossiers")).one()
    wanted = max(0, rows - seed_rows)
    if not seed_rows or not wanted:
        return {"seed": seed_rows, "added": 0, "seconds": 0.0, "index_seconds": 0.0}
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE UNLOGGED TABLE bench_grow_seed AS "
                "SELECT row_number() OVER (ORDER BY id) AS rank, * FROM dossiers"
            )
        )
        indexes = _plain_indexes(conn)
        for name in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    names, exprs = _select_list(table, years)
    # Column names come from the reflected table and the rest are constants: no input reaches it.
    insert = (
        f"INSERT INTO dossiers ({', '.join(names)}) "  # noqa: S608
        f"SELECT {', '.join(exprs)} "
        "FROM (SELECT k, CAST(:base AS bigint) AS base, CAST(:seed_rows AS bigint) AS seed_rows, "
        f"make_interval(years => CAST({_year_offset('k', years)} AS integer)) AS span "
        "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS k) AS g "
        "CROSS JOIN bench_grow_seed AS s "
        "WHERE (g.k - 1) * g.seed_rows + s.rank <= :wanted"
    )
    copies = -(-wanted // seed_rows)
    per_chunk = max(1, chunk // seed_rows)
    for first in range(1, copies + 1, per_chunk):
        last = min(copies, first + per_chunk - 1)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL TIME ZONE 'Asia/Ho_Chi_Minh'"))  # local dates stay local
            conn.execute(
                text(insert),
                dict(base=base, seed_rows=seed_rows, first=first, last=last, wanted=wanted),
            )
        print(f"  grown: copies {first}-{last} of {copies}", flush=True)
    indexed = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for definition in indexes.values():
            conn.execute(text(definition))
        index_seconds = time.perf_counter() - indexed
        _finish(conn)
    return {
        "seed": seed_rows,
        "added": wanted,
        "seconds": time.perf_counter() - started,
        "index_seconds": index_seconds,
    }


def _plain_indexes(conn: Connection) -> dict[str, str]:
    """The dossiers' indexes that back no constraint, by name: their CREATE INDEX statements."""
    return dict(
        conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = 'dossiers' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = 'dossiers'::regclass)"
            )
        ).all()
    )


def _finish(conn: Connection) -> None:
    conn.execute(text("DROP TABLE IF EXISTS bench_grow_seed"))
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('dossiers', 'id'), "
            "(SELECT max(id) FROM dossiers))"
        )
    )
    # What autovacuum does to the tables after a big load: statistics and the visibility map
    # (which index-only scans need); done here so that the timing does not depend on when it
    # wakes up.
    conn.execute(text("VACUUM (ANALYZE) dossiers"))
    conn.execute(text("ANALYZE"))
