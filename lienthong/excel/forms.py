"""The official forms as layout-neutral data: title, grouped header cells, the column-number row,
agency rows and the total row. The xlsx writer and the HTML report both draw from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from lienthong import settings
from warehouse.reports.periods import Period

RECEIVER = "Sở Nội vụ"  # the Department of Home Affairs receives the periodic reports


def reporting_unit() -> str:
    return settings.reporting_unit()  # LIENTHONG_REPORTING_UNIT


@dataclass(frozen=True)
class Cell:
    """A header cell spanning rows row..last_row and columns col..last_col (1-based columns,
    rows relative to the header's top)."""

    row: int
    col: int
    last_row: int
    last_col: int
    text: str


def cells(*specs: tuple[int, int, int, int, str]) -> list[Cell]:
    return [Cell(*s) for s in specs]


@dataclass
class Table:
    header: list[Cell]
    numbers: list[str] | None  # the column-number row: (1), (2), (3)=(4)+(5) …
    rows: list[list[object]]  # body rows: STT, name, values
    total: list[object] | None = None
    caption: str | None = None  # a heading above the table (forms with several tables)
    percent_cols: frozenset[int] = frozenset()  # 1-based columns shown with two decimals

    @property
    def width(self) -> int:
        return max(c.last_col for c in self.header)

    @property
    def depth(self) -> int:
        return max(c.last_row for c in self.header) + 1


@dataclass
class Form:
    sheet: str  # worksheet title (ASCII, ≤ 31 characters)
    title: str
    subtitle: str | None
    period: Period
    tables: list[Table]
    code: str = ""  # the form's number, e.g. Biểu số II.06a/VPCP/KSTT
    notes: list[str] = field(default_factory=list)
    name_width: int = 48
    # "Số liệu đến hết ngày …" when the synced data ends before the period (coverage.py)
    coverage: str = ""
    summary: list[str] = field(default_factory=list)  # lines under the tables, as they are

    @property
    def width(self) -> int:
        return max(t.width for t in self.tables)

    @property
    def heading(self) -> list[str]:
        lines = [self.title]
        if self.subtitle:
            lines.append(self.subtitle)
        lines.append(self.period.title)
        if self.coverage:
            lines.append(self.coverage)
        lines.append(f"Đơn vị báo cáo: {reporting_unit()} — Đơn vị nhận báo cáo: {RECEIVER}")
        return lines


def numbered(rows: list[tuple[str, str, list[object]]], with_code: bool = True) -> list[list]:
    """Body rows: STT, "name (code)", values."""
    return [
        [n, f"{name} ({code})" if with_code else name, *values]
        for n, (code, name, values) in enumerate(rows, start=1)
    ]


def cell_value(value: object) -> object:
    """Decimals (shares) become floats for the sheet; everything else stays."""
    return float(value) if isinstance(value, Decimal) else value
