"""Reporting periods: month, quarter, 6 and 9 months, year, any from–to; calendar or cut-off.

Periodic reports are due for a quarter, 6 months, 9 months and a year (docs/domain.md, "Periods").
Two conventions:
- calendar: the period's own days, e.g. H1 2019 = 01/01/2019 – 30/06/2019;
- cut-off (chốt số liệu): from the 15th of the month before the period to the 14th of its last
  month, e.g. H1 2019 = 15/12/2018 – 14/06/2019; a year = 15/12 of the year before – 14/12.
  This follows Decree 09/2019/NĐ-CP on government reporting as docs/domain.md reads it, a
  reading marked unconfirmed there: check the rule the Department of Home Affairs applies before
  relying on it.

Period names on the command line: 2019 (year), 2019-H1 / 2019-H2 (6 months), 2019-9M (9 months),
2019-Q1 … 2019-Q4, 2019-M03 or 2019-03 (month).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_PATTERN = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|9M|M?(\d{1,2})))?$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """Both ends inclusive, local dates."""

    start: date
    end: date
    label: str | None = None  # Vietnamese name of the period, e.g. "6 tháng đầu năm 2019"
    cutoff: bool = False

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")

    @property
    def title(self) -> str:
        """The period line of a report's heading."""
        span = f"từ ngày {self.start:%d/%m/%Y} đến ngày {self.end:%d/%m/%Y}"
        if self.label is None:
            return f"Kỳ báo cáo: {span}"
        rule = ", số liệu chốt từ ngày 15 tháng trước kỳ" if self.cutoff else ""
        return f"Kỳ báo cáo: {self.label} ({span}{rule})"

    def months(self) -> list[Period]:
        """The calendar months the period touches, each clipped to the period."""
        out = []
        first = self.start.replace(day=1)
        while first <= self.end:
            last = _month_end(first.year, first.month)
            label = f"{first.month:02d}/{first.year}"
            out.append(Period(max(first, self.start), min(last, self.end), label))
            first = last + timedelta(days=1)
        return out


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def months_span(year: int, first_month: int, last_month: int, label: str, cutoff: bool) -> Period:
    """Months first..last of a year, in either convention."""
    if cutoff:
        before = date(year, first_month, 1) - timedelta(days=1)  # the month before the period
        return Period(before.replace(day=15), date(year, last_month, 14), label, True)
    return Period(date(year, first_month, 1), _month_end(year, last_month), label, False)


def parse_period(text: str, cutoff: bool = False) -> Period:
    """A named period: 2019, 2019-H1, 2019-9M, 2019-Q2, 2019-M03 (or 2019-03)."""
    match = _PATTERN.match(text.strip())
    if not match:
        raise ValueError(
            f"not a period: {text!r} (use 2019, 2019-H1, 2019-H2, 2019-9M, 2019-Q1..Q4, 2019-M03)"
        )
    year, part, month = int(match[1]), (match[2] or "").upper(), match[3]
    if not part:
        return months_span(year, 1, 12, f"năm {year}", cutoff)
    if part == "H1":
        return months_span(year, 1, 6, f"6 tháng đầu năm {year}", cutoff)
    if part == "H2":
        return months_span(year, 7, 12, f"6 tháng cuối năm {year}", cutoff)
    if part == "9M":
        return months_span(year, 1, 9, f"9 tháng năm {year}", cutoff)
    if part.startswith("Q"):
        q = int(part[1])
        return months_span(year, 3 * q - 2, 3 * q, f"quý {_ROMAN[q]} năm {year}", cutoff)
    number = int(month)
    if not 1 <= number <= 12:
        raise ValueError(f"not a month: {text!r}")
    return months_span(year, number, number, f"tháng {number} năm {year}", cutoff)


def between(start: date, end: date) -> Period:
    """Any from–to period (no name, no convention)."""
    return Period(start, end)
