"""Phụ lục 01 (Biểu II.06a, Circular 01/2020/TT-VPCP): dossiers received, resolved and pending.

Counting rules, from docs/domain.md (local dates, both period ends inclusive):
- received = accepted (a receive time; statuses 1 and 3 never count);
- end time = first time 9, else 10, else 7 or 8 (computed by the mapping into `ended_at`);
- received in the period: receive date in it; carried over: received before it, not ended before;
- resolved: end date in the period; before / on / after the due date compares DATES;
  no due date: computed from the procedure's legal duration and the working-day calendar (see
  base.py); still none: counted on time and listed as a data-quality issue;
- pending: received by the period's last day, not ended by it; overdue when due date < last day.
Hence col 3 = col 7 + col 11 on every row.

One count per real dossier: the counted-dossier CTE of base.py (linked twins excluded, intake
facts such as the channel taken from the twin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, func, literal, select

from warehouse.reports import grouping
from warehouse.reports.base import (
    INTAKE_COLUMNS,
    OUTCOME_COLUMNS,
    Counting,
    count_if,
    counting,
)
from warehouse.reports.grouping import GROUPINGS

__all__ = ["COLUMNS", "GROUPINGS", "PhuLuc01Report", "Row", "phu_luc_01", "phu_luc_01_in"]

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
_LEAVES = tuple(c for c in COLUMNS if not c.endswith("_total"))


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

    @property
    def on_time_total(self) -> int:
        """Resolved before or on the due date, plus pending within it (Decision 766's numerator)."""
        return self.resolved_early + self.resolved_on_time + self.pending_within_due

    @property
    def late_total(self) -> int:
        """Resolved after the due date, plus pending past it."""
        return self.resolved_late + self.pending_overdue

    def derive(self) -> None:
        self.received_total = (
            self.received_online + self.received_direct + self.received_postal + self.carried_over
        )
        self.resolved_total = self.resolved_early + self.resolved_on_time + self.resolved_late
        self.pending_total = self.pending_within_due + self.pending_overdue


@dataclass
class PhuLuc01Report:
    start: date
    end: date
    by: str
    rows: list[Row]
    total: Row
    # Data-quality findings: dossiers resolved with no due date (counted on time).
    no_due_date: int = 0
    notes: list[str] = field(default_factory=list)
    # Dossiers whose due date no source gave, computed from the legal duration.
    due_computed: int = 0


def phu_luc_01(engine: Engine, start: date, end: date, by: str = "agency") -> PhuLuc01Report:
    grouping.check(by)
    with counting(engine, start, end) as report:
        return phu_luc_01_in(report, by)


def phu_luc_01_in(report: Counting, by: str = "agency") -> PhuLuc01Report:
    """Phụ lục 01 inside an open report (shares its snapshot and computed due dates)."""
    grouping.check(by)
    rules = report.rules
    key = grouping.column_of(by, rules.c)
    # Each dossier's classes computed once (OFFSET 0 keeps PostgreSQL from inlining them into
    # every count), counted by the dossiers' own agency or procedure column (tens or a few
    # thousand rows), then joined to the names — and, by field, rolled up through the
    # catalogue: the joins run once per group, not once per dossier (docs/performance.md).
    classes = rules.phu_luc_01_classes()
    classified = (
        select(key.label("key"), *(e.label(n) for n, e in classes.items()))
        .offset(0)
        .subquery("classified")
    )
    k = classified.c
    measures = {
        **{n: k.intake == i for i, n in enumerate(INTAKE_COLUMNS)},
        **{n: k.outcome == i for i, n in enumerate(OUTCOME_COLUMNS)},
        "no_due_date": k.no_due_date == 1,
        "due_computed": k.due_computed == 1,
    }
    counts = (
        select(k.key.label(key.name), *(count_if(c).label(n) for n, c in measures.items()))
        .group_by(k.key)
        .subquery("counts")
    )
    group = grouping.of_dossiers(by, counts)
    query = (
        select(
            func.coalesce(group.key, literal("")).label("code"),
            group.name.label("name"),
            *(func.sum(counts.c[n]).label(n) for n in measures),
        )
        .select_from(group.from_)
        .group_by(group.key)
        .order_by(group.key)
    )
    rows: list[Row] = []
    total = Row("TOTAL", "Tổng cộng")
    no_due = computed = 0
    for r in report.conn.execute(query).mappings().all():
        row = Row(*grouping.label(r["code"], r["name"]))
        for n in _LEAVES:
            setattr(row, n, int(r[n]))
        no_due += int(r["no_due_date"])
        computed += int(r["due_computed"])
        row.derive()
        rows.append(row)
    for n in _LEAVES:
        setattr(total, n, sum(getattr(row, n) for row in rows))
    total.derive()
    result = PhuLuc01Report(
        report.start, report.end, by, rows, total, no_due, due_computed=computed
    )
    if no_due:
        result.notes.append(f"{no_due} resolved dossiers have no due date and count as on time")
    if computed:
        result.notes.append(
            f"{computed} dossiers had no due date from their source: computed from the "
            "procedure's legal duration and the working-day calendar"
        )
    return result


def totals(report: Counting) -> Row:
    """The total row only (the monthly trend and the scorecard need no rows)."""
    return phu_luc_01_in(report).total
