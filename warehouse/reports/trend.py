"""Monthly trend over a period: received, resolved and late-or-overdue dossiers per month.

Each month is counted by the Phụ lục 01 rules as a period of its own (clipped to the report's
period): received = new receipts of the month (cols 4 + 5), resolved = col 7, late or overdue =
resolved late in the month + pending past the due date at its end (cols 10 + 13).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from warehouse.reports.base import counting
from warehouse.reports.periods import Period
from warehouse.reports.phu_luc_01 import totals


@dataclass(frozen=True)
class Month:
    label: str  # MM/YYYY
    start: date
    end: date
    received: int
    resolved: int
    late_or_overdue: int


def monthly_trend(engine: Engine, start: date, end: date) -> list[Month]:
    months = []
    for month in Period(start, end).months():
        with counting(engine, month.start, month.end) as report:
            row = totals(report)
        months.append(
            Month(
                month.label or f"{month.start:%m/%Y}",
                month.start,
                month.end,
                row.received_total - row.carried_over,
                row.resolved_total,
                row.late_total,
            )
        )
    return months
