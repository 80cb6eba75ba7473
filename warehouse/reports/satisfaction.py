"""Satisfaction (mức độ hài lòng): ratings given in the period, by level, with shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, func, select

from warehouse import schema
from warehouse.reports.base import Counting, share

__all__ = ["LEVELS", "Satisfaction", "SatisfactionRow", "satisfaction", "satisfaction_in", "share"]

LEVELS = {1: "Rất hài lòng", 2: "Hài lòng", 3: "Không hài lòng"}
UNSATISFIED = 3


@dataclass
class SatisfactionRow:
    code: str
    name: str
    counts: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def shares(self) -> dict[int, Decimal]:
        return {level: share(self.counts.get(level, 0), self.total) for level in LEVELS}


@dataclass
class Satisfaction:
    start: date
    end: date
    rows: list[SatisfactionRow]  # by agency
    total: SatisfactionRow


def satisfaction(engine: Engine, start: date, end: date) -> Satisfaction:
    if end < start:
        raise ValueError("the period ends before it starts")
    with engine.connect() as conn:
        # Ratings are not dossiers: no counting rules, no computed due dates to prepare.
        return satisfaction_in(Counting(conn, start, end))


def satisfaction_in(report: Counting) -> Satisfaction:
    """Ratings given in the period (by rating date), by agency and level."""
    conn, start, end = report.conn, report.start, report.end
    r, a = schema.ratings, schema.agencies
    query = (
        select(r.c.agency_code, func.max(a.c.name), r.c.level, func.count())
        .select_from(r.outerjoin(a, a.c.code == r.c.agency_code))
        .where(r.c.rated_date.between(start, end))
        .group_by(r.c.agency_code, r.c.level)
        .order_by(r.c.agency_code)
    )
    by_agency: dict[str, SatisfactionRow] = {}
    total = SatisfactionRow("TOTAL", "Tổng cộng", {level: 0 for level in LEVELS})
    for code, agency_name, level, count in conn.execute(query).all():
        code = code or "(unknown)"
        row = by_agency.setdefault(
            code, SatisfactionRow(code, agency_name or code, {lv: 0 for lv in LEVELS})
        )
        row.counts[level] = row.counts.get(level, 0) + count
        total.counts[level] = total.counts.get(level, 0) + count
    return Satisfaction(start, end, list(by_agency.values()), total)
