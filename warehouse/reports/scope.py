"""Which dossier rows matter to a period (received by its end, not ended before its start), and
how they are read: three ranges of partial, covering indexes (migration 0004). The counting rules
(base.py) and the report-time due dates (due_dates.py) both start from here."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, Subquery, func, literal_column, not_, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer

from warehouse import schema

NOT_RECEIVED = (1, 3)  # submitted but never accepted, or refused at intake: never counted
# Received this long before a period, only a long-running dossier (still open, or ended more
# than this many days after receipt) can still be open at its start: ix_dossiers_long_running
# holds those. The value decides which index range finds a carried-over dossier, never whether
# it counts.
LONG_RUNNING_DAYS = schema.LONG_RUNNING_DAYS


class days_between(FunctionElement):  # noqa: N801 - an SQL function, named like one
    """``later - earlier`` in days, for two DATE columns (the SQL of the index predicates)."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({later} - {earlier})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


def long_running() -> ColumnElement[bool]:
    """Still open, or ended more than LONG_RUNNING_DAYS after receipt (ix_dossiers_long_running).

    The number is written into the SQL, not bound: a partial index is only used when the query
    repeats its predicate, constants included.
    """
    d = schema.dossiers
    return or_(
        d.c.ended_date.is_(None),
        days_between(d.c.ended_date, d.c.received_date) > literal_column(str(LONG_RUNNING_DAYS)),
    )


def in_scope(start: date, end: date) -> list[ColumnElement[bool]]:
    """Counted records that matter to a period: received by its end, not ended before its start."""
    d = schema.dossiers
    return [
        d.c.received_date.is_not(None),
        d.c.linked_to.is_(None),  # the twin of another record counts through it
        not_(d.c.status.in_(NOT_RECEIVED)),
        d.c.received_date <= end,
        # Not ended before the start; an open dossier's end is after any period. One expression,
        # not "ended_date IS NULL OR ended_date >= start", which the planner would answer with
        # a bitmap of the millions of rows ended since the start.
        func.coalesce(d.c.ended_date, end) >= start,
    ]


def scoped_dossiers(start: date, end: date) -> Subquery:
    """The dossier rows `in_scope` of the period, as three disjoint index ranges.

    In scope means received by the period's end and not ended before its start: a range over two
    columns, which no single B-tree range finds without reading every dossier received before the
    period. Split by receive date, each part is one range of a partial, covering index:
    1. received in the period (ix_dossiers_counted_received_date);
    2. received in the LONG_RUNNING_DAYS before it (the same index);
    3. received earlier: then only a long-running dossier can still be open at the period's start
       (ix_dossiers_long_running, a few percent of all dossiers).
    Every part keeps the full `in_scope` conditions, so the union is exactly `in_scope`.
    """
    d = schema.dossiers
    scope = in_scope(start, end)
    before = start - timedelta(days=LONG_RUNNING_DAYS)
    received = d.c.received_date
    return union_all(
        select(*d.c).where(*scope, received >= start),
        select(*d.c).where(*scope, received < start, received >= before),
        select(*d.c).where(*scope, received < before, long_running()),
    ).subquery("scoped")
