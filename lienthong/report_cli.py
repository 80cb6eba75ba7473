"""`lienthong report NAME`: the official reports, as a table, CSV, an official-form xlsx or a
self-contained HTML page, for a named period (calendar or cut-off) or any from–to."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from lienthong import render
from lienthong.settings import Settings
from warehouse.reports.coverage import Coverage, coverage
from warehouse.reports.grouping import GROUPINGS
from warehouse.reports.periods import Period, parse_period

FORMATS = ("table", "csv", "xlsx", "html")
# Exit codes of the reading commands (README.md, "Exit codes"); lienthong/cli.py maps the errors.
EXIT_NOT_READY = 5  # no warehouse to read: missing, schema behind the code, never synced
EXIT_INCOMPLETE = 6  # --strict: the data does not cover the whole period


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


@dataclass(frozen=True)
class Spec:
    """How one report is computed inside an open report and rendered in each format."""

    heading: str  # its section heading in the HTML page
    build: Callable[[Any, argparse.Namespace], Any]  # (Counting, args) -> report
    table: Callable[[Any], str]
    csv: Callable[[Any], str]
    form: str  # the form builder's name in lienthong.excel


def _specs() -> dict[str, Spec]:
    from warehouse.reports import (
        on_the_spot,
        overdue,
        phu_luc_01,
        phu_luc_02,
        phu_luc_03,
        satisfaction,
        scorecard,
    )

    def by_table(title: str, columns: tuple[str, ...]) -> Callable[[Any], str]:
        return lambda r: render.by_table(title, r, columns)

    def by_csv(columns: tuple[str, ...]) -> Callable[[Any], str]:
        return lambda r: render.by_csv(r, columns)

    return {
        "phu-luc-01": Spec(
            "Phụ lục 01 — Tình hình, kết quả giải quyết TTHC",
            lambda c, a: phu_luc_01.phu_luc_01_in(c, a.by),
            render.phu_luc_01_table,
            render.phu_luc_01_csv,
            "phu_luc_01_form",
        ),
        "phu-luc-02": Spec(
            "Phụ lục 02 — Dịch vụ công trực tuyến",
            lambda c, a: phu_luc_02.phu_luc_02_in(c, a.by),
            by_table("Phụ lục 02", phu_luc_02.COLUMNS),
            by_csv(phu_luc_02.COLUMNS),
            "phu_luc_02_form",
        ),
        "phu-luc-03": Spec(
            "Phụ lục 03 — Dịch vụ bưu chính công ích",
            lambda c, a: phu_luc_03.phu_luc_03_in(c, a.by),
            by_table("Phụ lục 03", phu_luc_03.COLUMNS),
            by_csv(phu_luc_03.COLUMNS),
            "phu_luc_03_form",
        ),
        "satisfaction": Spec(
            "Mức độ hài lòng",
            lambda c, a: satisfaction.satisfaction_in(c.conn, c.start, c.end),
            render.satisfaction_table,
            render.satisfaction_csv,
            "satisfaction_form",
        ),
        "four-on-the-spot": Spec(
            '"4 tại chỗ"',
            lambda c, a: on_the_spot.four_on_the_spot_in(c, a.by),
            by_table('"4 tại chỗ"', on_the_spot.COLUMNS),
            by_csv(on_the_spot.COLUMNS),
            "on_the_spot_form",
        ),
        "overdue": Spec(
            "Hồ sơ trễ hạn, quá hạn và đơn vị có ít hồ sơ",
            lambda c, a: overdue.overdue_hot_spots_in(c, top=a.top, min_late=a.min_late, few=a.few),
            render.overdue_table,
            render.overdue_csv,
            "overdue_form",
        ),
        "scorecard-766": Spec(
            "Chỉ số phục vụ theo Quyết định 766/QĐ-TTg",
            lambda c, a: scorecard.scorecard_in(c),
            render.scorecard_table,
            render.scorecard_csv,
            "scorecard_form",
        ),
    }


NAMES = [
    "phu-luc-01",
    "phu-luc-02",
    "phu-luc-03",
    "satisfaction",
    "four-on-the-spot",
    "overdue",
    "scorecard-766",
    "fees",  # the fee gateway's collections: lienthong/fees_cli.py
    "all",
]


def add_parsers(sub) -> None:
    rep = sub.add_parser(
        "report",
        help="official reports from the warehouse",
        description="Give the period as --period (calendar or, with --cutoff, the cut-off "
        "convention) or as --from and --to.",
    )
    rep.add_argument("name", choices=NAMES, help="`all`: every report, in one xlsx or HTML file")
    rep.add_argument("--period", help="2019 | 2019-H1 | 2019-H2 | 2019-9M | 2019-Q1..Q4 | 2019-M03")
    rep.add_argument(
        "--cutoff",
        action="store_true",
        help="cut-off convention: from the 15th of the month before the period to the 14th of "
        "its last month (Decree 09/2019, unconfirmed)",
    )
    rep.add_argument("--from", dest="start", type=parse_date, help="first day, YYYY-MM-DD")
    rep.add_argument("--to", dest="end", type=parse_date, help="last day (inclusive)")
    rep.add_argument(
        "--by", choices=[*GROUPINGS, "fee-type"], default="agency", help="fee-type: fees only"
    )
    rep.add_argument("--format", choices=list(FORMATS), default="table")
    rep.add_argument("--out", type=Path, help="output file (xlsx/html default: var/reports/...)")
    rep.add_argument("--top", type=int, default=10, help="overdue: rows per list")
    rep.add_argument("--min-late", type=int, default=1, help="overdue: least late + overdue")
    rep.add_argument("--few", type=int, default=10, help="overdue: 'very few' dossiers, at most")
    add_strict(rep)


def add_strict(parser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help=f"exit {EXIT_INCOMPLETE} when the synced data does not cover the whole period "
        "(for scheduled jobs); the report is still written, counted as of the last covered day",
    )


def covered_streams(fees: bool = False) -> dict[str, list[str]]:
    """The windowed streams a report reads, by source: every source holding dossiers, and for
    the fees report and reconciliation the fee gateway too. A catalogue (fetched whole, never
    windowed) has no watermark and does not bound coverage."""
    from lienthong.registry import SOURCES

    return {
        s.key: [st.name for st in s.streams if st.windowed]
        for s in SOURCES.values()
        if fees or any(st.name == "dossiers" for st in s.streams)
    }


def read_coverage(engine, start: date, end: date, fees: bool = False) -> Coverage:
    """The period's coverage, its line on stderr when incomplete (lienthong/cli.py's style)."""
    with engine.connect() as conn:
        cov = coverage(conn, start, end, covered_streams(fees))
    if not cov.complete:
        print(f"lienthong: warning: {cov.line()}", file=sys.stderr)
    return cov


def coverage_exit(cov: Coverage, strict: bool) -> int:
    return EXIT_INCOMPLETE if strict and not cov.complete else 0


def period_of(args: argparse.Namespace) -> Period:
    """The period the arguments name; sets args.start / args.end to its days as well."""
    if args.period:
        if args.start or args.end:
            raise ValueError("give either --period or --from/--to, not both")
        period = parse_period(args.period, cutoff=args.cutoff)
    else:
        if args.cutoff:
            raise ValueError("--cutoff applies to a named --period (e.g. --period 2019-H1)")
        if args.start is None or args.end is None:
            raise ValueError("give --period (e.g. 2019-H1) or both --from and --to")
        period = Period(args.start, args.end)
    args.start, args.end = period.start, period.end
    return period


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.db import open_for_reading

    if args.name == "fees":
        from lienthong.fees_cli import cmd_fees_report

        return cmd_fees_report(args, settings)
    if args.by == "fee-type":
        raise ValueError("--by fee-type applies to the fees report only")
    period = period_of(args)
    if args.name == "all" and args.format == "csv":
        raise ValueError("a CSV file holds one report: name it instead of `all`")
    specs = _specs()
    engine = open_for_reading(settings.warehouse_url)
    cov = read_coverage(engine, period.start, period.end)
    if cov.counted_to is None:  # nothing of the period is synced: no form of zeros
        return coverage_exit(cov, args.strict)
    counted = counted_period(period, cov.counted_to)
    names = list(specs) if args.name == "all" else [args.name]
    reports = _build(engine, counted, names, args)
    note = cov.form_line()
    out = args.out or settings.reports_dir / f"{args.name}_{period.start}_{period.end}"
    if args.format == "xlsx":
        print(f"wrote {_xlsx(specs, reports, period, _suffixed(out, args.out, '.xlsx'), note)}")
    elif args.format == "html":
        html = _html(engine, specs, reports, period, args.name, counted, note)
        print(f"wrote {_write(_suffixed(out, args.out, '.html'), html)}")
    else:
        text = "\n\n".join(
            (specs[n].table if args.format == "table" else specs[n].csv)(r)
            for n, r in reports.items()
        )
        if args.out:
            print(f"wrote {_write(args.out, text)}")
        else:
            print(text, end="" if text.endswith("\n") else "\n")  # CSV ends its last line
    return coverage_exit(cov, args.strict)


def counted_period(period: Period, counted_to: date) -> Period:
    """The days a report counts: the period, ended early where the data ends (like a cut-off
    period, the pending dossiers are judged on that day)."""
    if counted_to >= period.end:
        return period
    return Period(period.start, counted_to, period.label, period.cutoff)


def write_reports(
    engine, period: Period, folder: Path, formats: tuple[str, ...] = ("xlsx", "html")
) -> list[Path]:
    """Every report of a period, by agency, as one workbook and/or one HTML page in `folder`
    (`all_<from>_<to>.xlsx` / `.html`) — what `lienthong report all` writes, counted no further
    than the synced data (none when it ends before the period)."""
    with engine.connect() as conn:
        cov = coverage(conn, period.start, period.end, covered_streams())
    if cov.counted_to is None:  # the data ends before the period: nothing to count
        return []
    counted, note = counted_period(period, cov.counted_to), cov.form_line()
    specs = _specs()
    args = argparse.Namespace(by="agency", top=10, min_late=1, few=10)
    reports = _build(engine, counted, list(specs), args)
    stem = folder / f"all_{period.start}_{period.end}"
    written = []
    if "xlsx" in formats:
        written.append(_xlsx(specs, reports, period, stem.with_name(stem.name + ".xlsx"), note))
    if "html" in formats:
        html = _html(engine, specs, reports, period, "all", counted, note)
        written.append(_write(stem.with_name(stem.name + ".html"), html))
    return written


def _build(engine, period: Period, names: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from warehouse.reports.base import counting

    specs = _specs()
    # All the reports of one run read one snapshot of the warehouse.
    with counting(engine, period.start, period.end) as opened:
        return {name: specs[name].build(opened, args) for name in names}


def _suffixed(out: Path, given: Path | None, suffix: str) -> Path:
    return given if given is not None else out.with_name(out.name + suffix)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _forms(specs: dict[str, Spec], reports: dict[str, Any], period: Period, note: str) -> list:
    from lienthong import excel

    forms = [getattr(excel, specs[n].form)(r, period) for n, r in reports.items()]
    for form in forms:
        form.coverage = note
    return forms


def _xlsx(
    specs: dict[str, Spec], reports: dict[str, Any], period: Period, path: Path, note: str = ""
) -> Path:
    from lienthong import excel

    return excel.save(_forms(specs, reports, period, note), path)


def _html(
    engine,
    specs: dict[str, Spec],
    reports: dict[str, Any],
    period: Period,
    name: str,
    counted: Period | None = None,
    note: str = "",
):
    from lienthong import html_report
    from warehouse.reports.phu_luc_01 import phu_luc_01
    from warehouse.reports.trend import monthly_trend

    counted = counted or period
    sections = []
    if name in ("all", "phu-luc-01"):
        p01 = reports["phu-luc-01"]
        by_agency = p01 if p01.by == "agency" else phu_luc_01(engine, counted.start, counted.end)
        charts = [
            html_report.on_time_chart(by_agency),
            html_report.trend_chart(monthly_trend(engine, counted.start, counted.end)),
        ]
        sections.append(html_report.Section("Tổng quan", charts=charts))
    for n, form in zip(reports, _forms(specs, reports, period, note), strict=True):
        sections.append(html_report.Section(specs[n].heading, forms=[form]))
    title = "Báo cáo kết quả giải quyết thủ tục hành chính"
    if name != "all":
        title = specs[name].heading
    return html_report.page(title, period, sections, coverage=note)


COMMANDS = {"report": cmd_report}
