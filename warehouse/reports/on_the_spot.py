""" "4 tại chỗ": dossiers received, appraised, approved and returned on the spot at the center.

No national definition was found (docs/domain.md): each source flags its own dossiers
(`on_the_spot`), and the rate is the flagged share of the dossiers received in the period. A
dossier processed in a ministry system takes the flag from its one-stop twin as well (base.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, and_, func, literal, select

from warehouse.reports import grouping
from warehouse.reports.base import Counting, count_if, counting, share

COUNTS = ("received", "on_the_spot")
COLUMNS = ("received", "on_the_spot", "on_the_spot_share")


@dataclass
class Row:
    code: str
    name: str
    received: int = 0
    on_the_spot: int = 0

    @property
    def on_the_spot_share(self) -> Decimal:
        return share(self.on_the_spot, self.received)

    def values(self) -> list[int | Decimal]:
        return [getattr(self, c) for c in COLUMNS]


class OnTheSpotReport(grouping.GroupedReport[Row]):
    """"4 tại chỗ" dossiers by agency, field or procedure."""


def four_on_the_spot(engine: Engine, start: date, end: date, by: str = "agency") -> OnTheSpotReport:
    grouping.check(by)
    with counting(engine, start, end) as report:
        return four_on_the_spot_in(report, by)


def four_on_the_spot_in(report: Counting, by: str = "agency") -> OnTheSpotReport:
    rules = report.rules
    new = rules.received_in_period
    group = grouping.of_dossiers(by, rules.c)
    query = (
        select(
            func.coalesce(group.key, literal("")).label("code"),
            group.name.label("name"),
            count_if(new).label("received"),
            count_if(and_(new, rules.c.c.on_the_spot == 1)).label("on_the_spot"),
        )
        .select_from(group.from_)
        .group_by(group.key)
        .having(count_if(new) > 0)
        .order_by(group.key)
    )
    rows = [
        Row(*grouping.label(r.code, r.name), int(r.received), int(r.on_the_spot))
        for r in report.conn.execute(query).all()
    ]
    total = Row("TOTAL", "Tổng cộng", *(sum(getattr(r, n) for r in rows) for n in COUNTS))
    return OnTheSpotReport(report.start, report.end, by, rows, total)
