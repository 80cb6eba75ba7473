"""`lienthong reconcile`: gateway payments matched to dossiers, the counts as a table and the
exceptions as xlsx or CSV. (The fees report is a report like the others: lienthong/reports.py.)"""

from __future__ import annotations

import argparse
import csv
import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from connectors.base import LOCAL_TZ
from lienthong import report_cli
from lienthong.excel import reporting_unit
from lienthong.render import text_table
from lienthong.reports import covered_streams
from lienthong.settings import Settings
from warehouse.reconciliation import EXCEPTIONS, Finding, Reconciliation

LABELS = {
    "matched": "Khớp",
    "amount_mismatch": "Sai số tiền",
    "unknown_dossier": "Không tìm thấy hồ sơ",
    "unpaid": "Chưa thanh toán",
    "duplicate": "Thanh toán trùng",
    "refunded": "Đã hoàn tiền",
    "orphan_refund": "Hoàn tiền không rõ giao dịch gốc",
    "bad_signature": "Sai chữ ký — không tính",
    "refund": "Giao dịch hoàn / huỷ",
    "failed": "Giao dịch không thành công",
}
FINDING_HEADER = [
    "class",
    "dossier_number",
    "transaction_id",
    "agency_code",
    "procedure_code",
    "amount",
    "fee_due",
    "paid_at",
    "received_date",
    "detail",
]
_BOLD = Font(bold=True, name="Times New Roman", size=11)
_TITLE = Font(bold=True, name="Times New Roman", size=13)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    rec = sub.add_parser("reconcile", help="match gateway payments to dossiers; list exceptions")
    rec.add_argument("--from", dest="start", type=report_cli.parse_date, required=True)
    rec.add_argument("--to", dest="end", type=report_cli.parse_date, required=True)
    rec.add_argument(
        "--as-of", type=report_cli.parse_date, help="judge unpaid dossiers on this day (--to)"
    )
    rec.add_argument(
        "--unpaid-after", type=int, default=5, metavar="N", help="working days to pay (5)"
    )
    rec.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    rec.add_argument("--out", type=Path, help="exceptions file (default: var/reports/...)")
    report_cli.add_strict(rec)


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.db import open_for_reading
    from warehouse.reconciliation import reconcile

    if args.end < args.start:
        raise ValueError("--to is before --from")
    engine = open_for_reading(settings.warehouse_url)
    cov = report_cli.read_coverage(engine, args.start, args.end, covered_streams(payments=True))
    if cov.counted_to is None:  # nothing of the period is synced: nothing to match
        return report_cli.coverage_exit(cov, args.strict)
    # Unpaid is judged on a day the payments are synced to, never past it.
    as_of = min(args.as_of or cov.counted_to, cov.last_day or cov.counted_to)
    result = reconcile(
        engine, args.start, cov.counted_to, unpaid_after=args.unpaid_after, as_of=as_of
    )
    print(reconciliation_table(result))
    name = f"reconciliation_{args.start}_{args.end}.{args.format}"
    out = args.out or settings.reports_dir / name
    if args.format == "xlsx":
        exceptions_xlsx(result, out, cov.form_line())
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(exceptions_csv(result.exceptions), encoding="utf-8")
    print(f"wrote {out} ({len(result.exceptions)} exceptions)")
    return report_cli.coverage_exit(cov, args.strict)


COMMANDS = {"reconcile": cmd_reconcile}


# -- rendering ---------------------------------------------------------------------------------
def reconciliation_table(result: Reconciliation) -> str:
    title = (
        f"Reconciliation — {result.start.isoformat()} .. {result.end.isoformat()}, unpaid after "
        f"{result.unpaid_after} working days as of {result.as_of.isoformat()}"
    )
    rows = [
        [c, LABELS[c], "exception" if c in EXCEPTIONS else "", n] for c, n in result.counts.items()
    ]
    return f"{title}\n{text_table(['class', 'meaning', 'kind', 'count'], rows, 3)}"


def _finding_row(f: Finding) -> list[object]:
    return [
        f.cls,
        f.dossier_number or "",
        f.transaction_id or "",
        f.agency_code or "",
        f.procedure_code or "",
        "" if f.amount is None else f.amount,
        "" if f.fee_due is None else f.fee_due,
        f.paid_at.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if f.paid_at else "",
        f.received_date.isoformat() if f.received_date else "",
        f.detail,
    ]


def exceptions_csv(findings: Sequence[Finding]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FINDING_HEADER)
    writer.writerows(_finding_row(f) for f in findings)
    return buf.getvalue()


def _sheet_title(ws: Worksheet, title: str, period: str, coverage: str = "") -> int:
    lines = [(title, _TITLE), (period, None), (f"Đơn vị báo cáo: {reporting_unit()}", None)]
    if coverage:  # "Số liệu đến hết ngày …": the synced data ends before the period
        lines.append((coverage, _BOLD))
    for row, (value, font) in enumerate(lines, 1):
        cell = ws.cell(row=row, column=1, value=value)
        if font:
            cell.font = font
    return len(lines) + 2


def _table(ws: Worksheet, top: int, header: list[str], rows: list[list[object]]) -> int:
    for col, value in enumerate(header, 1):
        ws.cell(row=top, column=col, value=value).font = _BOLD
    for n, row in enumerate(rows, top + 1):
        for col, value in enumerate(row, 1):
            ws.cell(row=n, column=col, value=value)
    return top + len(rows) + 2


def _period(start: date, end: date) -> str:
    return f"Kỳ báo cáo: từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"


def exceptions_xlsx(result: Reconciliation, path: Path, coverage: str = "") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Doi soat"
    top = _sheet_title(
        ws,
        "ĐỐI SOÁT THANH TOÁN PHÍ, LỆ PHÍ VỚI HỒ SƠ",
        _period(result.start, result.end),
        coverage,
    )
    summary = [[c, LABELS[c], n] for c, n in result.counts.items()]
    top = _table(ws, top, ["Loại", "Ý nghĩa", "Số lượng"], summary)
    rows = [[LABELS[f.cls], *_finding_row(f)[1:]] for f in result.exceptions]
    _table(ws, top, ["Loại ngoại lệ", *FINDING_HEADER[1:]], rows)
    return _save(wb, ws, path)


def _save(wb: Workbook, ws: Worksheet, path: Path) -> Path:
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 40
    for col in "CDEFGHIJ":
        ws.column_dimensions[col].width = 18
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
