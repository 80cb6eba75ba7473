"""Phụ lục 01 (Biểu II.06a, Circular 01/2020/TT-VPCP): dossiers received, resolved and pending.

Counting rules, from ../shared/DOMAIN.md (local dates, both period ends inclusive):
- received = accepted (a receive time; statuses 1 and 3 never count);
- end time = first time 9, else 10, else 7 or 8 (computed by the mapping into `ended_at`);
- received in the period: receive date in it; carried over: received before it, not ended before;
- resolved: end date in the period; before / on / after the due date compares DATES;
  no due date: counted on time and listed as a data-quality issue;
- pending: received by the period's last day, not ended by it; overdue when due date < last day.
Hence col 3 = col 7 + col 11 on every row.

One count per real dossier (warehouse/linking.py): a one-stop record linked to a ministry record
is not counted itself; the ministry record is, with the channel of its one-stop twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, and_, case, func, literal, not_, or_, select

from warehouse import schema

COLUMNS = (
    "received_total",
    "received_online",
    "received_direct",
    "received_postal",
    "carried_over",
    "resolved_total",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "pending_total",
    "pending_within_due",
    "pending_overdue",
)
GROUPINGS = ("agency", "field", "procedure")


@dataclass
class Row:
    code: str
    name: str
    received_total: int = 0  # col 3 = 4 + 5 + 6
    received_online: int = 0  # col 4
    received_direct: int = 0  # col 5, direct part
    received_postal: int = 0  # col 5, postal part
    carried_over: int = 0  # col 6
    resolved_total: int = 0  # col 7 = 8 + 9 + 10
    resolved_early: int = 0  # col 8
    resolved_on_time: int = 0  # col 9
    resolved_late: int = 0  # col 10
    pending_total: int = 0  # col 11 = 12 + 13
    pending_within_due: int = 0  # col 12
    pending_overdue: int = 0  # col 13

    def values(self) -> list[int]:
        return [getattr(self, c) for c in COLUMNS]


@dataclass
class Report:
    start: date
    end: date
    by: str
    rows: list[Row]
    total: Row
    # Data-quality findings: dossiers resolved with no due date (counted on time).
    no_due_date: int = 0
    notes: list[str] = field(default_factory=list)


def _count(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def phu_luc_01(engine: Engine, start: date, end: date, by: str = "agency") -> Report:
    if by not in GROUPINGS:
        raise ValueError(f"--by must be one of {', '.join(GROUPINGS)}")
    if end < start:
        raise ValueError("the period ends before it starts")
    d, p, a = schema.dossiers, schema.procedures, schema.agencies
    # Intake facts of a linked dossier come from its one-stop twin (the counter saw it).
    src = d.alias("twin_source")
    twin = (
        select(src.c.linked_to, func.min(src.c.channel).label("channel"))
        .where(src.c.linked_to.is_not(None))
        .group_by(src.c.linked_to)
        .subquery("twin")
    )
    channel = func.coalesce(twin.c.channel, d.c.channel)
    received = d.c.received_date
    ended = d.c.ended_date
    due = d.c.due_date
    in_period = received.between(start, end)
    resolved = ended.between(start, end)
    pending = or_(ended.is_(None), ended > end)
    measures = {
        "received_online": _count(and_(in_period, channel == 2)),
        "received_direct": _count(and_(in_period, channel == 1)),
        "received_postal": _count(and_(in_period, channel == 3)),
        "carried_over": _count(received < start),
        "resolved_early": _count(and_(resolved, due.is_not(None), ended < due)),
        "resolved_on_time": _count(and_(resolved, or_(due.is_(None), ended == due))),
        "resolved_late": _count(and_(resolved, ended > due)),
        "pending_within_due": _count(and_(pending, or_(due.is_(None), due >= end))),
        "pending_overdue": _count(and_(pending, due < end)),
        "no_due_date": _count(and_(resolved, due.is_(None))),
    }
    if by == "agency":
        key = d.c.agency_code
        name = select(a.c.name).where(a.c.code == d.c.agency_code).scalar_subquery()
        frm = d.outerjoin(twin, twin.c.linked_to == d.c.id)
    elif by == "procedure":
        key = d.c.procedure_code
        name = select(p.c.name).where(p.c.code == d.c.procedure_code).scalar_subquery()
        frm = d.outerjoin(twin, twin.c.linked_to == d.c.id)
    else:  # field (lĩnh vực), through the procedure catalogue
        key = p.c.field_code
        name = func.max(p.c.field_name)
        frm = d.outerjoin(twin, twin.c.linked_to == d.c.id).outerjoin(
            p, p.c.code == d.c.procedure_code
        )
    if by != "field":
        name = func.max(name)
    query = (
        select(
            func.coalesce(key, literal("")).label("code"),
            name.label("name"),
            *(m.label(n) for n, m in measures.items()),
        )
        .select_from(frm)
        .where(
            received.is_not(None),
            d.c.linked_to.is_(None),  # the twin of another record counts through it
            not_(d.c.status.in_((1, 3))),
            received <= end,
            or_(ended.is_(None), ended >= start),  # ended before the period: not in it at all
        )
        .group_by(key)
        .order_by(key)
    )
    rows: list[Row] = []
    total = Row("TOTAL", "Tổng cộng")
    no_due = 0
    with engine.connect() as conn:
        for r in conn.execute(query).mappings():
            row = Row(r["code"] or "(unknown)", r["name"] or r["code"] or "(không rõ)")
            for n in measures:
                if n != "no_due_date":
                    setattr(row, n, int(r[n]))
            no_due += int(r["no_due_date"])
            _derive(row)
            rows.append(row)
    for row in rows:
        for c in COLUMNS:
            setattr(total, c, getattr(total, c) + getattr(row, c))
    report = Report(start, end, by, rows, total, no_due_date=no_due)
    if no_due:
        report.notes.append(f"{no_due} resolved dossiers have no due date and count as on time")
    return report


def _derive(row: Row) -> None:
    row.received_total = (
        row.received_online + row.received_direct + row.received_postal + row.carried_over
    )
    row.resolved_total = row.resolved_early + row.resolved_on_time + row.resolved_late
    row.pending_total = row.pending_within_due + row.pending_overdue
