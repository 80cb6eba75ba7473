"""Bulk writes through the database driver, inside the batch's transaction.

SQLAlchemy's per-row statement machinery costs more than the database itself on a backfill
(~60 µs a row for five rows a dossier). Here each column's bind processor is looked up once per
table and applied in a tight loop, and the rows go to the driver in one call:

- PostgreSQL: ``COPY … FROM STDIN`` for new rows; changed rows are copied into a temporary
  staging table and merged with ONE ``UPDATE … FROM`` statement;
- SQLite: ``executemany`` of one prepared statement.

The loader decides insert / update / stale from a read of the stored rows, but the writes do not
trust that read: a transaction that committed in between must not be overwritten by an older
version. ``update`` overwrites a row only where the stored version is not newer (the guard is in
the statement's WHERE) and says how many rows it changed; ``insert_new`` inserts only keys not
taken (PostgreSQL: the COPY under a savepoint, and on a key collision the page again through the
staging table with ``ON CONFLICT DO NOTHING``; SQLite: ``INSERT … ON CONFLICT DO NOTHING``) and
says how many it inserted. Both stay set-based: no round trip per row.

Values are converted by the columns' own SQLAlchemy types (``AwareDateTime`` refuses a naive
datetime and stores UTC; JSON is serialised by the dialect), so what lands is exactly what the
Core statements would write; the loader tests run on both backends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    MetaData,
    Table,
    any_,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from warehouse.types import AwareDateTime

log = logging.getLogger(__name__)
Processor = Callable[[Any], Any] | None


class BulkWriter:
    """Insert and update many rows of the warehouse's tables on one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.postgres = self.dialect.name == "postgresql"
        self._plans: dict[tuple[str, tuple[str, ...]], tuple[Callable, list]] = {}
        self._staged: dict[str, Table] = {}  # per transaction
        # Instants already converted, by object: a dossier's times are shared with its status
        # events (one object each, also across a pickled page), so most convert once.
        self._instant_text: dict[int, tuple[datetime, str]] = {}

    def next_page(self) -> None:
        """Forget the page's converted instants: memory stays flat across pages."""
        self._instant_text.clear()

    def _sqlite_instant(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        hit = self._instant_text.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        text = _sqlite_instant(value)
        self._instant_text[id(value)] = (value, text)  # the reference keeps the id unique
        return text

    # -- values --------------------------------------------------------------------------------
    def _tuples(self, table: Table, columns: tuple[str, ...], rows: Sequence[dict]) -> list:
        """Each row's values in ``columns`` order, converted for the driver."""
        key = (table.name, columns)
        plan = self._plans.get(key)
        if plan is None:
            converters = [(i, self._processor(table.c[c].type)) for i, c in enumerate(columns)]
            plan = self._plans[key] = (
                itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],),
                [(i, p) for i, p in converters if p is not None],
            )
        getter, converters = plan
        if not converters:
            return [getter(row) for row in rows]
        values = []
        for row in rows:
            v = list(getter(row))
            for i, convert in converters:
                v[i] = convert(v[i])
            values.append(v)
        return values

    def _processor(self, type_: Any) -> Processor:
        """The column type's bind processor; a faster equivalent where one is known."""
        if isinstance(type_, AwareDateTime):
            return _instant if self.postgres else self._sqlite_instant
        if not self.postgres and isinstance(type_, Boolean):
            return None  # sqlite3 binds a bool as the integer 0 / 1, as SQLAlchemy does
        if not self.postgres and type(type_) is Date:
            return _sqlite_date
        return type_.dialect_impl(self.dialect).bind_processor(self.dialect)

    # -- writes --------------------------------------------------------------------------------
    def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (dicts with the same keys) into ``table``."""
        if not rows:
            return
        columns = tuple(rows[0])
        values = self._tuples(table, columns, rows)
        if self.postgres:
            names = ", ".join(self._quote(c) for c in columns)
            self._copy(f"COPY {self._quote(table.name)} ({names}) FROM STDIN", values)
            return
        self._executemany(insert(table), columns, columns, values)

    def insert_new(self, table: Table, key: Sequence[str], rows: Sequence[dict[str, Any]]) -> int:
        """Insert the ``rows`` whose ``key`` (a unique key of ``table``) is not taken; the number
        inserted. A row whose key another transaction stored meanwhile is left out, not an error:
        the caller compares it with what is stored."""
        if not rows:
            return 0
        columns = tuple(rows[0])
        values = self._tuples(table, columns, rows)
        if not self.postgres:
            statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
            return self._executemany(statement, columns, columns, values)
        from psycopg.errors import UniqueViolation

        names = ", ".join(self._quote(c) for c in columns)
        raw = self.conn.connection.driver_connection
        # COPY has no ON CONFLICT: the fast path runs under a savepoint (two short statements a
        # page), and a collision, which only a concurrent writer causes, takes the slower one.
        with raw.cursor() as cursor:
            cursor.execute("SAVEPOINT bulk_insert_new")
            try:
                self._copy(f"COPY {self._quote(table.name)} ({names}) FROM STDIN", values)
            except UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT bulk_insert_new")
                cursor.execute("RELEASE SAVEPOINT bulk_insert_new")
            else:
                cursor.execute("RELEASE SAVEPOINT bulk_insert_new")
                return len(rows)
        stage = self._staged_copy(table, columns, values)
        statement = (
            postgresql.insert(table)
            .from_select(list(columns), select(*(stage.c[c] for c in columns)))
            .on_conflict_do_nothing(index_elements=list(key))
            .returning(table.c[key[0]])
        )
        return len(self.conn.execute(statement).all())

    def update(
        self,
        table: Table,
        key: str,
        rows: Sequence[dict[str, Any]],
        guard: str | None = None,
    ) -> int:
        """Set every other column of ``rows`` on the row of ``table`` whose ``key`` matches; with
        ``guard`` (a version column) only where the stored version is not newer than the row's.
        The number of rows changed."""
        if not rows:
            return 0
        columns = tuple(rows[0])
        if key not in columns:
            raise ValueError(f"update rows of {table.name} lack the key column {key!r}")
        if guard is not None and guard not in columns:
            raise ValueError(f"update rows of {table.name} lack the version column {guard!r}")
        values = self._tuples(table, columns, rows)
        sets = [c for c in columns if c != key]
        if self.postgres:
            stage = self._staged_copy(table, columns, values)
            statement = (
                update(table)
                .values({c: stage.c[c] for c in sets})
                .where(table.c[key] == stage.c[key])
            )
            if guard is not None:
                statement = statement.where(table.c[guard] <= stage.c[guard])
            return self.conn.execute(statement).rowcount
        statement = (
            update(table)
            .where(table.c[key] == bindparam("_key"))
            .values({c: bindparam(c) for c in sets})
        )
        keys, rename = (*sets, "_key"), {"_key": key}
        if guard is not None:
            # Stored and bound instants are both UTC text of one fixed format: they compare.
            statement = statement.where(table.c[guard] <= bindparam("_guard"))
            keys, rename = (*keys, "_guard"), {**rename, "_guard": guard}
        return self._executemany(statement, columns, keys, values, rename=rename)

    def _executemany(
        self,
        statement: Any,
        columns: tuple[str, ...],
        keys: tuple[str, ...],
        values: list[tuple],
        rename: dict[str, str] | None = None,
    ) -> int:
        """Run a Core statement compiled once (positional binds) over tuples of ``columns``;
        the number of rows it changed."""
        compiled = statement.compile(dialect=self.dialect, column_keys=list(keys))
        rename = rename or {}
        order = [columns.index(rename.get(name, name)) for name in compiled.positiontup]
        if order != list(range(len(columns))):
            values = [[v[i] for i in order] for v in values]
        sql = str(compiled)
        log.debug("%s: %d rows", sql, len(values))  # the statement, never the values
        cursor = self.conn.connection.driver_connection.cursor()  # same transaction
        try:
            cursor.executemany(sql, values)
            return cursor.rowcount  # summed over the rows by sqlite3
        finally:
            cursor.close()

    # -- PostgreSQL ----------------------------------------------------------------------------
    def _copy(self, statement: str, values: list[tuple]) -> None:
        log.debug("%s: %d rows", statement, len(values))  # the statement, never the values
        raw = self.conn.connection.driver_connection  # psycopg: same session, same transaction
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)

    def _staged_copy(self, table: Table, columns: tuple[str, ...], values: list) -> Table:
        """``values`` copied into ``table``'s staging table, emptied first."""
        stage = self._stage(table)
        self.conn.exec_driver_sql(f"TRUNCATE {self._quote(stage.name)}")
        names = ", ".join(self._quote(c) for c in columns)
        self._copy(f"COPY {self._quote(stage.name)} ({names}) FROM STDIN", values)
        # A temporary table has no statistics: without them the merge may be planned as a
        # scan of the whole target table for each page.
        self.conn.exec_driver_sql(f"ANALYZE {self._quote(stage.name)}")
        return stage

    def _stage(self, table: Table) -> Table:
        """A temporary table with ``table``'s columns (no constraints: an update row carries
        only the key and the changed columns), dropped when the transaction ends."""
        stage = self._staged.get(table.name)
        if stage is None:
            stage = Table(
                f"stage_{table.name}",
                MetaData(),
                *(Column(c.name, c.type) for c in table.c),
                prefixes=["TEMPORARY"],
                postgresql_on_commit="drop",
            )
            stage.create(self.conn)
            self._staged[table.name] = stage
        return stage

    def _quote(self, name: str) -> str:
        """An identifier of the schema (never user input), quoted by the dialect."""
        return self.dialect.identifier_preparer.quote_identifier(name)


def _instant(value: datetime | None) -> datetime | None:
    """``AwareDateTime`` for COPY: the driver writes an aware datetime as timestamptz."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime refused by the warehouse: {value!r}")
    return value


def _sqlite_date(value: date | None) -> str | None:
    """``Date`` on SQLite: ``YYYY-MM-DD``, SQLAlchemy's storage format."""
    return None if value is None else "%04d-%02d-%02d" % (value.year, value.month, value.day)  # noqa: UP031


def _sqlite_instant(value: datetime | None) -> str | None:
    """``AwareDateTime`` on SQLite: naive UTC in SQLAlchemy's SQLite storage format
    (``YYYY-MM-DD HH:MM:SS.ffffff``), so stored text compares with what Core statements bind."""
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime refused by the warehouse: {value!r}")
    u = value - offset
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - the fastest form here
        u.year,
        u.month,
        u.day,
        u.hour,
        u.minute,
        u.second,
        u.microsecond,
    )


def one_of(conn: Connection, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` for a key look-up of many values.

    PostgreSQL gets ``column = ANY(:array)``: one bound parameter, so the statement is compiled
    and parsed once and stays in the caches; an IN list of 500 values is rendered, cast and
    parsed anew on each call. SQLite has no arrays and keeps the IN list.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
