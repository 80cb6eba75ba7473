"""The counted dossiers: one row per real dossier, with its effective due date. Every report
builds on this one query instead of repeating the counting rules.

One count per real dossier (warehouse/linking.py): a one-stop record linked to a ministry record
(`linked_to` set) is not counted itself; the ministry record is, with the intake facts of its
one-stop twin — the counter saw the applicant, so the channel, the delivery choice, the fee, online
payment and "4 tại chỗ" come from there when the twin has them. Status and dates stay those of the
system that processes the dossier.

Effective due date, in order (docs/domain.md "No due date"):
1. the dossier's own due date, as its source gave it (`source`);
2. else the due date on its one-stop twin's receipt (`intake`);
3. else one computed at report time from the procedure's legal duration and the working-day
   calendar (`computed`, see due_dates.py) — the warehouse keeps what the sources said;
4. else none: a resolved dossier counts on time and is listed as a data-quality issue.

Speed (docs/performance.md, "Phụ lục 01 over 10M dossiers"): the dossiers of a period are read
through three ranges of partial, covering indexes (`scoped_dossiers`), the intake facts through
one on the twins; on PostgreSQL a report runs without JIT compilation and with room for the
twins' hash in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from sqlalchemy import (
    CTE,
    Column,
    ColumnElement,
    Connection,
    Date,
    Engine,
    MetaData,
    Subquery,
    Table,
    and_,
    case,
    func,
    insert,
    or_,
    select,
    text,
)

from warehouse import schema
from warehouse.reports.due_dates import computed_due_dates
from warehouse.reports.scope import scoped_dossiers
from warehouse.types import Id

INTAKE_COLUMNS = ("received_online", "received_direct", "received_postal", "carried_over")
OUTCOME_COLUMNS = (
    *("resolved_early", "resolved_on_time", "resolved_late"),
    *("pending_within_due", "pending_overdue"),
)
RESOLVED_WITH_RESULT = (9, 10)  # a result exists (as opposed to withdrawn 7 / stopped 8)
# Per report transaction on PostgreSQL: JIT compiling these short aggregate queries costs more
# than it saves (~1-3 s over 10M dossiers), and the twins' hash (one entry per linked record,
# ~830k over 10M) must not spill to disk.
_PG_REPORT_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '64MB'")

# Due dates computed for this report only; a temporary table lives in the report's connection.
COMPUTED_DUE = Table(
    "report_computed_due",
    MetaData(),
    Column("dossier_id", Id, primary_key=True),
    Column("due_date", Date, nullable=False),
    prefixes=["TEMPORARY"],
)


def share(part: int, whole: int) -> Decimal:
    """Percentage to two decimals, rounded half up as people do by hand (94.3964 -> 94.40)."""
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def count_if(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _flag(column: ColumnElement) -> ColumnElement[int]:
    # Booleans as 0/1: portable aggregation (PostgreSQL has no max(boolean)).
    return case((column.is_(True), 1), else_=0)


def twin_facts() -> Subquery:
    """Intake facts of the one-stop records linked to each counted record, by counted record."""
    src = schema.dossiers.alias("twin_source")
    return (
        select(
            src.c.linked_to.label("dossier_id"),
            func.min(src.c.channel).label("channel"),
            func.max(src.c.result_delivery).label("result_delivery"),
            func.max(_flag(src.c.on_the_spot)).label("on_the_spot"),
            func.max(_flag(src.c.paid_online)).label("paid_online"),
            func.max(src.c.fee_amount).label("fee_amount"),
            func.max(src.c.due_date).label("due_date"),
        )
        .where(src.c.linked_to.is_not(None))
        .group_by(src.c.linked_to)
        .subquery("twin")
    )


def counted_dossiers(start: date, end: date, computed: Table | None = COMPUTED_DUE) -> CTE:
    """The CTE of counted dossiers for the period, one row per real dossier.

    `computed` is the table of report-time due dates (see `counting`); None leaves them out.
    """
    d = scoped_dossiers(start, end)
    twin = twin_facts()
    frm = d.outerjoin(twin, twin.c.dossier_id == d.c.id)
    due_candidates = [d.c.due_date, twin.c.due_date]
    origin = [(d.c.due_date.is_not(None), "source"), (twin.c.due_date.is_not(None), "intake")]
    if computed is not None:
        frm = frm.outerjoin(computed, computed.c.dossier_id == d.c.id)
        due_candidates.append(computed.c.due_date)
        origin.append((computed.c.due_date.is_not(None), "computed"))
    own_fee, twin_fee = d.c.fee_amount, func.coalesce(twin.c.fee_amount, 0)
    query = select(
        d.c.id,
        d.c.source,
        d.c.dossier_number,
        d.c.agency_code,
        d.c.procedure_code,
        d.c.status,
        d.c.received_date,
        d.c.ended_date,
        func.coalesce(twin.c.channel, d.c.channel).label("channel"),
        func.coalesce(twin.c.result_delivery, d.c.result_delivery).label("result_delivery"),
        case((or_(d.c.on_the_spot.is_(True), twin.c.on_the_spot == 1), 1), else_=0).label(
            "on_the_spot"
        ),
        case((or_(d.c.paid_online.is_(True), twin.c.paid_online == 1), 1), else_=0).label(
            "paid_online"
        ),
        case((twin_fee > own_fee, twin_fee), else_=own_fee).label("fee_amount"),
        func.coalesce(*due_candidates).label("due_date"),
        case(*origin).label("due_origin"),
    ).select_from(frm)  # in scope: scoped_dossiers
    return query.cte("counted")


@dataclass(frozen=True)
class Rules:
    """The counting rules of Biểu II.06a over the counted-dossier CTE, for one period."""

    c: CTE
    start: date
    end: date

    @property
    def received_in_period(self) -> ColumnElement[bool]:
        return self.c.c.received_date >= self.start  # in_scope already bounds it by the end

    @property
    def carried_over(self) -> ColumnElement[bool]:
        return self.c.c.received_date < self.start

    def received_by(self, channel: int) -> ColumnElement[bool]:
        return and_(self.received_in_period, self.c.c.channel == channel)

    @property
    def resolved(self) -> ColumnElement[bool]:
        return self.c.c.ended_date.between(self.start, self.end)

    @property
    def pending(self) -> ColumnElement[bool]:
        ended = self.c.c.ended_date
        return or_(ended.is_(None), ended > self.end)

    @property
    def resolved_early(self) -> ColumnElement[bool]:
        due = self.c.c.due_date
        return and_(self.resolved, due.is_not(None), self.c.c.ended_date < due)

    @property
    def resolved_on_time(self) -> ColumnElement[bool]:
        # Dates, not timestamps (docs/domain.md); no due date at all counts as on time.
        due = self.c.c.due_date
        return and_(self.resolved, or_(due.is_(None), self.c.c.ended_date == due))

    @property
    def resolved_late(self) -> ColumnElement[bool]:
        return and_(self.resolved, self.c.c.ended_date > self.c.c.due_date)

    @property
    def pending_within_due(self) -> ColumnElement[bool]:
        due = self.c.c.due_date
        return and_(self.pending, or_(due.is_(None), due >= self.end))

    @property
    def pending_overdue(self) -> ColumnElement[bool]:
        return and_(self.pending, self.c.c.due_date < self.end)

    @property
    def resolved_without_due(self) -> ColumnElement[bool]:
        return and_(self.resolved, self.c.c.due_date.is_(None))

    @property
    def due_computed(self) -> ColumnElement[bool]:
        return self.c.c.due_origin == "computed"

    def phu_luc_01_measures(self) -> dict[str, ColumnElement[int]]:
        """The nine leaf columns of Phụ lục 01 plus the data-quality counts."""
        return {
            "received_online": count_if(self.received_by(2)),
            "received_direct": count_if(self.received_by(1)),
            "received_postal": count_if(self.received_by(3)),
            "carried_over": count_if(self.carried_over),
            "resolved_early": count_if(self.resolved_early),
            "resolved_on_time": count_if(self.resolved_on_time),
            "resolved_late": count_if(self.resolved_late),
            "pending_within_due": count_if(self.pending_within_due),
            "pending_overdue": count_if(self.pending_overdue),
            "no_due_date": count_if(self.resolved_without_due),
            "due_computed": count_if(self.due_computed),
        }

    def phu_luc_01_classes(self) -> dict[str, ColumnElement[int]]:
        """The same counts as `phu_luc_01_measures`, as four small numbers per dossier.

        `intake`: which of cols 4, 5 (direct, postal) and 6 it counts in (its position in
        INTAKE_COLUMNS), `outcome`: which of cols 8–10, 12 and 13 (in OUTCOME_COLUMNS), and the
        two data-quality flags. In scope, the conditions of each are disjoint — a dossier is
        received in the period or before it, resolved in it or still pending at its end — so
        counting the dossiers of each class gives each column: the rules are evaluated once per
        dossier rather than once per column (docs/performance.md).
        """
        measures = {
            "received_online": self.received_by(2),
            "received_direct": self.received_by(1),
            "received_postal": self.received_by(3),
            "carried_over": self.carried_over,
            "resolved_early": self.resolved_early,
            "resolved_on_time": self.resolved_on_time,
            "resolved_late": self.resolved_late,
            "pending_within_due": self.pending_within_due,
            "pending_overdue": self.pending_overdue,
        }
        return {
            "intake": case(*((measures[n], i) for i, n in enumerate(INTAKE_COLUMNS))),
            "outcome": case(*((measures[n], i) for i, n in enumerate(OUTCOME_COLUMNS))),
            "no_due_date": case((self.resolved_without_due, 1), else_=0),
            "due_computed": case((self.due_computed, 1), else_=0),
        }


@dataclass
class Counting:
    """A report's connection, its period and the counted-dossier CTE with its rules."""

    conn: Connection
    start: date
    end: date

    @cached_property
    def rules(self) -> Rules:
        return Rules(counted_dossiers(self.start, self.end), self.start, self.end)


@contextmanager
def counting(engine: Engine, start: date, end: date) -> Iterator[Counting]:
    """Open a report over [start, end]: one connection, one snapshot, computed due dates ready.

    On PostgreSQL the report reads one REPEATABLE READ snapshot, so a sync committing meanwhile
    cannot make its totals disagree with its rows.
    """
    if end < start:
        raise ValueError("the period ends before it starts")
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            for setting in _PG_REPORT_SETTINGS:  # for this transaction: the report's
                conn.execute(text(setting))
        COMPUTED_DUE.drop(conn, checkfirst=True)  # left over by a report that died mid-way
        COMPUTED_DUE.create(conn)
        try:
            rows = computed_due_dates(conn, start, end)
            if rows:
                conn.execute(
                    insert(COMPUTED_DUE),
                    [{"dossier_id": k, "due_date": v} for k, v in rows.items()],
                )
            yield Counting(conn, start, end)
        finally:
            # A report writes nothing: roll back first (on PostgreSQL that also drops the table
            # created in the transaction), then drop what SQLite kept outside it.
            conn.rollback()
            COMPUTED_DUE.drop(conn, checkfirst=True)
            conn.commit()
