"""Phụ lục 03: the public postal service (bưu chính công ích, BCCI) — dossiers submitted by
post and results returned by post.

Columns (the column numbers of the form):
- (3): dossiers received in the period, every channel; (4) of which submitted by post
  (channel 3); (5) = (4) / (3), percent;
- (6): dossiers resolved in the period with a result (end date in the period, status 9 or 10 —
  a withdrawn or stopped dossier has no result to send); (7) of which the applicant asked for the
  result by post (result delivery 1); (8) = (7) / (6), percent.
Counted dossiers only (base.py): the delivery choice made at the counter comes from the one-stop
twin of a dossier processed in a ministry system.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, and_, func, literal, select

from warehouse.reports import grouping
from warehouse.reports.base import RESOLVED_WITH_RESULT, Counting, count_if, counting, share

COUNTS = ("received", "received_postal", "resolved", "returned_by_post")
COLUMNS = (
    "received",
    "received_postal",
    "received_postal_share",
    "resolved",
    "returned_by_post",
    "returned_by_post_share",
)


@dataclass
class Row:
    code: str
    name: str
    received: int = 0  # col 3
    received_postal: int = 0  # col 4
    resolved: int = 0  # col 6
    returned_by_post: int = 0  # col 7

    @property
    def received_postal_share(self) -> Decimal:  # col 5
        return share(self.received_postal, self.received)

    @property
    def returned_by_post_share(self) -> Decimal:  # col 8
        return share(self.returned_by_post, self.resolved)

    def values(self) -> list[int | Decimal]:
        return [getattr(self, c) for c in COLUMNS]


class PhuLuc03Report(grouping.GroupedReport[Row]):
    """Postal intake and return by agency, field or procedure."""


def phu_luc_03(engine: Engine, start: date, end: date, by: str = "agency") -> PhuLuc03Report:
    grouping.check(by)
    with counting(engine, start, end) as report:
        return phu_luc_03_in(report, by)


def phu_luc_03_in(report: Counting, by: str = "agency") -> PhuLuc03Report:
    rules = report.rules
    c = rules.c.c
    with_result = and_(rules.resolved, c.status.in_(RESOLVED_WITH_RESULT))
    measures = {
        "received": count_if(rules.received_in_period),
        "received_postal": count_if(rules.received_by(3)),
        "resolved": count_if(with_result),
        "returned_by_post": count_if(and_(with_result, c.result_delivery == 1)),
    }
    group = grouping.of_dossiers(by, rules.c)
    query = (
        select(
            func.coalesce(group.key, literal("")).label("code"),
            group.name.label("name"),
            *(m.label(n) for n, m in measures.items()),
        )
        .select_from(group.from_)
        .group_by(group.key)
        .order_by(group.key)
    )
    rows = []
    for r in report.conn.execute(query).mappings().all():
        row = Row(*grouping.label(r["code"], r["name"]))
        for n in COUNTS:
            setattr(row, n, int(r[n]))
        rows.append(row)
    total = Row("TOTAL", "Tổng cộng")
    for n in COUNTS:
        setattr(total, n, sum(getattr(r, n) for r in rows))
    return PhuLuc03Report(report.start, report.end, by, rows, total)
