"""The report registry: every report `lienthong report`, `report all`, the build_reports DAG and
the demo produce, declared once — its builder with typed options, its columns, its CSV header and
rows, its terminal table, its official form (xlsx, and HTML where it has one) — and the few
functions that build and render any of them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from lienthong import excel, html_report, render
from lienthong.excel.fees import fees_form
from lienthong.excel.forms import Form
from lienthong.excel.official import phu_luc_01_form, phu_luc_02_form, phu_luc_03_form
from lienthong.excel.quality import (
    on_the_spot_form,
    overdue_form,
    satisfaction_form,
    scorecard_form,
)
from lienthong.registry import SOURCES
from warehouse.reports import (
    fees,
    on_the_spot,
    overdue,
    phu_luc_01,
    phu_luc_02,
    phu_luc_03,
    satisfaction,
    scorecard,
)
from warehouse.reports.base import Counting, counting
from warehouse.reports.coverage import coverage
from warehouse.reports.options import FeesGrouped, Grouped, HotSpots, NoOptions
from warehouse.reports.periods import Period
from warehouse.reports.trend import monthly_trend

FORMATS = ("table", "csv", "xlsx", "html")
Rows = tuple[list[str], list[list[object]]]  # a CSV: its header (a contract), then its rows


@dataclass(frozen=True)
class ReportType:
    """One report. `build(counting, **options)` is its builder, its keyword options the fields
    of the `options` dataclass (warehouse/reports/options.py)."""

    name: str  # as the CLI and the file names spell it
    heading: str  # its section heading in the HTML page
    options: type
    build: Callable[..., Any]
    columns: tuple[str, ...]  # the value columns of its rows, in table and CSV order
    table: Callable[[Any], str]
    csv: Callable[[Any], Rows]
    form: Callable[[Any, Period | None], Form]
    formats: tuple[str, ...] = FORMATS
    payments: bool = False  # reads the fee gateway's payments: its coverage includes them

    def run(self, report: Counting, options: Any) -> Any:
        if not isinstance(options, self.options):
            raise TypeError(f"{self.name} takes {self.options.__name__}, not {options!r}")
        return self.build(report, **asdict(options))


def _grouped(title: str, columns: tuple[str, ...]) -> dict[str, Any]:
    """Table and CSV of a report with rows by agency, field or procedure and a total row."""
    return {
        "columns": columns,
        "table": partial(render.by_table, title, columns=columns),
        "csv": partial(render.by_rows, columns=columns),
    }


REPORTS: dict[str, ReportType] = {
    r.name: r
    for r in (
        ReportType(
            "phu-luc-01",
            "Phụ lục 01 — Tình hình, kết quả giải quyết TTHC",
            Grouped,
            phu_luc_01.phu_luc_01_in,
            phu_luc_01.COLUMNS,
            render.phu_luc_01_table,
            render.phu_luc_01_rows,
            phu_luc_01_form,
        ),
        ReportType(
            "phu-luc-02",
            "Phụ lục 02 — Dịch vụ công trực tuyến",
            Grouped,
            phu_luc_02.phu_luc_02_in,
            form=phu_luc_02_form,
            **_grouped("Phụ lục 02", phu_luc_02.COLUMNS),
        ),
        ReportType(
            "phu-luc-03",
            "Phụ lục 03 — Dịch vụ bưu chính công ích",
            Grouped,
            phu_luc_03.phu_luc_03_in,
            form=phu_luc_03_form,
            **_grouped("Phụ lục 03", phu_luc_03.COLUMNS),
        ),
        ReportType(
            "satisfaction",
            "Mức độ hài lòng",
            NoOptions,
            satisfaction.satisfaction_in,
            ("ratings", *(f"level_{n}{s}" for n in satisfaction.LEVELS for s in ("", "_pct"))),
            render.satisfaction_table,
            render.satisfaction_rows,
            satisfaction_form,
        ),
        ReportType(
            "four-on-the-spot",
            '"4 tại chỗ"',
            Grouped,
            on_the_spot.four_on_the_spot_in,
            form=on_the_spot_form,
            **_grouped('"4 tại chỗ"', on_the_spot.COLUMNS),
        ),
        ReportType(
            "overdue",
            "Hồ sơ trễ hạn, quá hạn và đơn vị có ít hồ sơ",
            HotSpots,
            overdue.overdue_hot_spots_in,
            (*overdue.HOT_COLUMNS, *overdue.QUIET_COLUMNS),
            render.overdue_table,
            render.overdue_rows,
            overdue_form,
        ),
        ReportType(
            "scorecard-766",
            "Chỉ số phục vụ theo Quyết định 766/QĐ-TTg",
            NoOptions,
            scorecard.scorecard_in,
            # By indicator of the version in force: numerator, denominator, %, points.
            ("points", "max_points"),
            render.scorecard_table,
            render.scorecard_rows,
            scorecard_form,
        ),
        ReportType(
            "fees",
            "Phí, lệ phí thu qua cổng thanh toán",
            FeesGrouped,
            fees.fees_in,
            fees.COLUMNS,
            render.fees_table,
            render.fees_rows,
            fees_form,
            formats=("table", "csv", "xlsx"),
            payments=True,
        ),
    )
}


def in_format(fmt: str) -> list[str]:
    """The reports `all` holds in a format: every report that comes in it."""
    return [name for name, r in REPORTS.items() if fmt in r.formats]


def covered_streams(payments: bool = False) -> dict[str, list[str]]:
    """The windowed streams a report reads, by source: every source holding dossiers, and for
    the fees report and reconciliation the fee gateway too. A catalogue (fetched whole, never
    windowed) has no watermark and does not bound coverage."""
    return {
        s.key: [st.name for st in s.streams if st.windowed]
        for s in SOURCES.values()
        if payments or any(st.name == "dossiers" for st in s.streams)
    }


def streams_of(names: Iterable[str]) -> dict[str, list[str]]:
    return covered_streams(any(REPORTS[n].payments for n in names))


def counted_period(period: Period, counted_to: date) -> Period:
    """The days a report counts: the period, ended early where the data ends (like a cut-off
    period, the pending dossiers are judged on that day)."""
    if counted_to >= period.end:
        return period
    return Period(period.start, counted_to, period.label, period.cutoff)


def build(engine: Engine, period: Period, requests: Mapping[str, Any]) -> dict[str, Any]:
    """The reports asked for (name -> options) over `period`, all read from one snapshot."""
    with counting(engine, period.start, period.end) as opened:
        return {name: REPORTS[name].run(opened, options) for name, options in requests.items()}


def defaults(names: Iterable[str]) -> dict[str, Any]:
    return {name: REPORTS[name].options() for name in names}


def text(reports: Mapping[str, Any], fmt: str) -> str:
    """The reports as terminal tables or CSV, one after the other."""
    if fmt == "table":
        return "\n\n".join(REPORTS[n].table(r) for n, r in reports.items())
    return "\n\n".join(render.csv_text(*REPORTS[n].csv(r)) for n, r in reports.items())


def forms(reports: Mapping[str, Any], period: Period | None, note: str = "") -> list[Form]:
    """The official forms; `note` says where the synced data ends, when it ends early."""
    out = [REPORTS[n].form(r, period) for n, r in reports.items()]
    for form in out:
        form.coverage = note
    return out


def save_xlsx(
    reports: Mapping[str, Any], period: Period | None, path: Path, note: str = ""
) -> Path:
    """One workbook, a sheet per report."""
    return excel.save(forms(reports, period, note), path)


def html_page(
    engine: Engine,
    reports: Mapping[str, Any],
    period: Period,
    counted: Period | None = None,
    note: str = "",
) -> str:
    """One self-contained page; with Phụ lục 01, an overview of charts first."""
    counted = counted or period
    sections = []
    if "phu-luc-01" in reports:
        p01 = reports["phu-luc-01"]
        if p01.by != "agency":  # the chart is by agency whatever the form's grouping
            p01 = phu_luc_01.phu_luc_01(engine, counted.start, counted.end)
        charts = [
            html_report.on_time_chart(p01),
            html_report.trend_chart(monthly_trend(engine, counted.start, counted.end)),
        ]
        sections.append(html_report.Section("Tổng quan", charts=charts))
    for n, form in zip(reports, forms(reports, period, note), strict=True):
        sections.append(html_report.Section(REPORTS[n].heading, forms=[form]))
    title = "Báo cáo kết quả giải quyết thủ tục hành chính"
    if len(reports) == 1:
        title = REPORTS[next(iter(reports))].heading
    return html_report.page(title, period, sections, coverage=note)


def write_text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def write_reports(
    engine: Engine, period: Period, folder: Path, formats: tuple[str, ...] = ("xlsx", "html")
) -> list[Path]:
    """Every report of a period, with its default options, as one workbook and/or one HTML page
    in `folder` (`all_<from>_<to>.xlsx` / `.html`) — what `lienthong report all` writes, counted
    no further than the synced data (nothing when it ends before the period)."""
    names = [n for n in REPORTS if any(f in REPORTS[n].formats for f in formats)]
    with engine.connect() as conn:
        cov = coverage(conn, period.start, period.end, streams_of(names))
    if cov.counted_to is None:  # the data ends before the period: nothing to count
        return []
    counted, note = counted_period(period, cov.counted_to), cov.form_line()
    built = build(engine, counted, defaults(names))
    stem = folder / f"all_{period.start}_{period.end}"
    written = []
    for fmt in formats:
        reports = {n: r for n, r in built.items() if fmt in REPORTS[n].formats}
        path = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "xlsx":
            written.append(save_xlsx(reports, period, path, note))
        elif fmt == "html":
            written.append(write_text(path, html_page(engine, reports, period, counted, note)))
    return written
