"""The typed options of the report builders. Every builder has one shape,
`<report>_in(report: Counting, **options)`, its keyword options the fields of one of these."""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.reports import fees
from warehouse.reports.grouping import GROUPINGS, check


@dataclass(frozen=True)
class NoOptions:
    """A report with nothing to choose besides its period."""


@dataclass(frozen=True)
class Grouped:
    """Rows by agency, field or procedure."""

    by: str = "agency"

    def __post_init__(self) -> None:
        check(self.by, GROUPINGS)


@dataclass(frozen=True)
class FeesGrouped:
    """Fees by agency, procedure or fee type."""

    by: str = "agency"

    def __post_init__(self) -> None:
        check(self.by, fees.GROUPINGS)


@dataclass(frozen=True)
class HotSpots:
    """`top` rows per list, each with at least `min_late` late + overdue dossiers; agencies that
    received at most `few` dossiers."""

    top: int = 10
    min_late: int = 1
    few: int = 10

    def __post_init__(self) -> None:
        if self.top < 1 or self.min_late < 0 or self.few < 0:
            raise ValueError("top must be ≥ 1, min_late and few ≥ 0")
