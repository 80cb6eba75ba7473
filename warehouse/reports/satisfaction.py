"""Satisfaction (mức độ hài lòng): ratings given in the period, by level, with shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Engine, func, select

from warehouse import schema

LEVELS = {1: "Rất hài lòng", 2: "Hài lòng", 3: "Không hài lòng"}


def share(part: int, whole: int) -> Decimal:
    """Percentage to two decimals, rounded half up as people do by hand (94.3964 -> 94.40)."""
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_UP)


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
    r, a = schema.ratings, schema.agencies
    name = select(a.c.name).where(a.c.code == r.c.agency_code).scalar_subquery()
    query = (
        select(r.c.agency_code, func.max(name), r.c.level, func.count())
        .where(r.c.rated_date.between(start, end))
        .group_by(r.c.agency_code, r.c.level)
        .order_by(r.c.agency_code)
    )
    by_agency: dict[str, SatisfactionRow] = {}
    total = SatisfactionRow("TOTAL", "Tổng cộng", {level: 0 for level in LEVELS})
    with engine.connect() as conn:
        for code, agency_name, level, count in conn.execute(query):
            code = code or "(unknown)"
            row = by_agency.setdefault(
                code, SatisfactionRow(code, agency_name or code, {lv: 0 for lv in LEVELS})
            )
            row.counts[level] = row.counts.get(level, 0) + count
            total.counts[level] = total.counts.get(level, 0) + count
    return Satisfaction(start, end, list(by_agency.values()), total)
