"""`lienthong report NAME`: the official reports, rendered as a table, CSV or xlsx."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from lienthong import render
from lienthong.settings import Settings


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parsers(sub) -> None:
    rep = sub.add_parser("report", help="official reports from the warehouse")
    rep.add_argument("name", choices=["phu-luc-01", "satisfaction"])
    rep.add_argument("--from", dest="start", type=parse_date, required=True)
    rep.add_argument("--to", dest="end", type=parse_date, required=True)
    rep.add_argument("--by", choices=["agency", "field", "procedure"], default="agency")
    rep.add_argument("--format", choices=["table", "csv", "xlsx"], default="table")
    rep.add_argument("--out", type=Path, help="output file (xlsx default: var/reports/...)")


def cmd_report(args, settings: Settings) -> int:
    from lienthong import excel
    from warehouse.db import make_engine, upgrade
    from warehouse.reports.phu_luc_01 import phu_luc_01
    from warehouse.reports.satisfaction import satisfaction

    engine = make_engine(settings.warehouse_url)
    upgrade(engine)
    if args.name == "phu-luc-01":
        report = phu_luc_01(engine, args.start, args.end, by=args.by)
        text = (
            render.phu_luc_01_table(report)
            if args.format == "table"
            else render.phu_luc_01_csv(report)
        )
        writer = excel.phu_luc_01_xlsx
    else:
        report = satisfaction(engine, args.start, args.end)
        text = (
            render.satisfaction_table(report)
            if args.format == "table"
            else render.satisfaction_csv(report)
        )
        writer = excel.satisfaction_xlsx
    if args.format == "xlsx":
        out = args.out or settings.reports_dir / f"{args.name}_{args.start}_{args.end}.xlsx"
        print(f"wrote {writer(report, out)}")
    elif args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


COMMANDS = {"report": cmd_report}
