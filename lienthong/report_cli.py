"""`lienthong report NAME`: the official reports, as a table, CSV, an official-form xlsx or a
self-contained HTML page, for a named period (calendar or cut-off) or any from–to."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import Any

from lienthong import reports
from lienthong.reports import FORMATS, REPORTS
from lienthong.settings import Settings
from warehouse.reports.coverage import Coverage, coverage
from warehouse.reports.grouping import GROUPINGS, UnknownGrouping
from warehouse.reports.options import Grouped, HotSpots
from warehouse.reports.periods import Period, parse_period

# Exit codes of the reading commands (README.md, "Exit codes"); lienthong/cli.py maps the errors.
EXIT_NOT_READY = 5  # no warehouse to read: missing, schema behind the code, never synced
EXIT_INCOMPLETE = 6  # --strict: the data does not cover the whole period


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


NAMES = [*REPORTS, "all"]


def add_parsers(sub) -> None:
    rep = sub.add_parser(
        "report",
        help="official reports from the warehouse",
        description="Give the period as --period (calendar or, with --cutoff, the cut-off "
        "convention) or as --from and --to.",
    )
    rep.add_argument("name", choices=NAMES, help="`all`: every report that comes in the format")
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
        "--by", choices=[*GROUPINGS, "fee-type"], default=Grouped.by, help="fee-type: fees only"
    )
    rep.add_argument("--format", choices=list(FORMATS), default="table")
    rep.add_argument("--out", type=Path, help="output file (xlsx/html default: var/reports/...)")
    # The overdue report's options (HotSpots), their defaults declared there.
    rep.add_argument("--top", type=int, default=HotSpots.top, help="overdue: rows per list")
    rep.add_argument(
        "--min-late", type=int, default=HotSpots.min_late, help="overdue: least late + overdue"
    )
    rep.add_argument(
        "--few", type=int, default=HotSpots.few, help="overdue: 'very few' dossiers, at most"
    )
    add_strict(rep)


def add_strict(parser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help=f"exit {EXIT_INCOMPLETE} when the synced data does not cover the whole period "
        "(for scheduled jobs); the report is still written, counted as of the last covered day",
    )


def read_coverage(engine, start: date, end: date, streams: Mapping[str, list[str]]) -> Coverage:
    """The period's coverage of `streams` (lienthong.reports.streams_of), its line on stderr
    when incomplete (lienthong/cli.py's style)."""
    with engine.connect() as conn:
        cov = coverage(conn, start, end, streams)
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

    every = args.name == "all"
    names = reports.in_format(args.format) if every else [args.name]
    requests = {name: _options(name, args, every) for name in names}
    period = period_of(args)
    if every and args.format == "csv":
        raise ValueError("a CSV file holds one report: name it instead of `all`")
    formats = REPORTS[args.name].formats if not every else reports.FORMATS
    if args.format not in formats:
        raise ValueError(
            f"the {args.name} report comes as {', '.join(formats[:-1])} or {formats[-1]}, "
            f"not {args.format}"
        )
    engine = open_for_reading(settings.warehouse_url)
    cov = read_coverage(engine, period.start, period.end, reports.streams_of(names))
    if cov.counted_to is None:  # nothing of the period is synced: no form of zeros
        return coverage_exit(cov, args.strict)
    counted = reports.counted_period(period, cov.counted_to)
    built = reports.build(engine, counted, requests)
    note = cov.form_line()
    out = args.out or settings.reports_dir / f"{args.name}_{period.start}_{period.end}"
    if args.format == "xlsx":
        path = reports.save_xlsx(built, period, _suffixed(out, args.out, ".xlsx"), note)
        print(f"wrote {path}")
    elif args.format == "html":
        html = reports.html_page(engine, built, period, counted, note)
        print(f"wrote {reports.write_text(_suffixed(out, args.out, '.html'), html)}")
    else:
        text = reports.text(built, args.format)
        if args.out:
            print(f"wrote {reports.write_text(args.out, text)}")
        else:
            print(text, end="" if text.endswith("\n") else "\n")  # CSV ends its last line
    return coverage_exit(cov, args.strict)


def _options(name: str, args: argparse.Namespace, every: bool) -> Any:
    """A report's typed options from the command's arguments. In `all`, a grouping a report
    cannot take (fees by field) leaves that report at its default."""
    kind = REPORTS[name].options
    try:
        return kind(**{f.name: getattr(args, f.name) for f in fields(kind)})
    except UnknownGrouping as exc:
        if every and exc.value in GROUPINGS:
            return kind()
        if exc.value not in GROUPINGS:  # fee-type
            raise ValueError(f"--by {exc.value} applies to the fees report only") from None
        raise ValueError(f"--by must be one of {', '.join(exc.allowed)}") from None


def _suffixed(out: Path, given: Path | None, suffix: str) -> Path:
    return given if given is not None else out.with_name(out.name + suffix)


COMMANDS = {"report": cmd_report}
