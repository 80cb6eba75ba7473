"""Planner statistics kept fresh during a big load (PostgreSQL): key look-ups stay index scans."""

from __future__ import annotations

from sqlalchemy import Connection

# Rows a batch inserts into a table before it refreshes the table's planner statistics.
ANALYZE_FROM = 2_000
# Tables analysed along with a loaded one: their look-ups grow with it.
_ALONG = {"dossiers": ("dossier_status_history",)}


class StatisticsRefresher:
    """ANALYZE a table each time a batch has doubled what it held at the last ANALYZE.

    A first load is one transaction, which autovacuum cannot see: PostgreSQL would keep planning
    the per-page key look-ups for the empty table it last analysed (an index scan on `source`
    alone, then a filter over every row so far: quadratic). ANALYZE inside the transaction
    samples the transaction's own rows; doubling keeps it to a few runs per load.
    """

    def __init__(self) -> None:
        self._grown: dict[str, int] = {}  # rows this batch inserted, per table
        self._analysed: dict[str, int] = {}  # ... when it last analysed the table

    def inserted(self, conn: Connection, table: str, rows: int) -> None:
        if conn.dialect.name != "postgresql" or not rows:
            return
        grown = self._grown[table] = self._grown.get(table, 0) + rows
        if grown >= max(ANALYZE_FROM, self._analysed.get(table, 0)):
            for name in (table, *_ALONG.get(table, ())):
                conn.exec_driver_sql(f"ANALYZE {name}")  # our own table names
            self._analysed[table] = 2 * grown
