"""The form of the fees report: fees collected through the payment gateway, refunded and net, by
agency, procedure or fee type, then by fee type, and the share of dossiers paid online."""

from __future__ import annotations

from lienthong.excel.forms import Form, Table, cells, numbered
from warehouse.reports.fees import FeeRow, FeesReport
from warehouse.reports.periods import Period

_UNITS = {"agency": "Đơn vị", "procedure": "Thủ tục hành chính", "fee-type": "Loại phí, lệ phí"}
_NUMBERS = ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)=(4)-(6)"]


def _header(unit: str) -> list:
    return cells(
        (0, 1, 0, 1, "STT"),
        (0, 2, 0, 2, unit),
        (0, 3, 0, 3, "Số giao dịch thu"),
        (0, 4, 0, 4, "Đã thu (VND)"),
        (0, 5, 0, 5, "Số giao dịch hoàn"),
        (0, 6, 0, 6, "Đã hoàn (VND)"),
        (0, 7, 0, 7, "Thực thu (VND)"),
    )


def _table(unit: str, rows: list[FeeRow], total: FeeRow | None, caption: str | None) -> Table:
    body = numbered([(r.code, r.name, r.values()) for r in rows])
    last = ["", "Tổng cộng", *total.values()] if total else None
    return Table(_header(unit), _NUMBERS, body, last, caption=caption)


def fees_form(report: FeesReport, period: Period | None = None) -> Form:
    tables = [_table(_UNITS[report.by], report.rows, report.total, None)]
    if report.by != "fee-type":
        tables.append(_table(_UNITS["fee-type"], report.by_fee_type, None, "Theo loại phí, lệ phí"))
    return Form(
        "Phi le phi",
        "TỔNG HỢP THU PHÍ, LỆ PHÍ QUA CỔNG THANH TOÁN",
        f"(theo {_UNITS[report.by].lower()})",
        period or Period(report.start, report.end),
        tables,
        summary=[
            f"Tỷ lệ hồ sơ thanh toán trực tuyến: {report.paid_online} / {report.fee_bearing} "
            f"hồ sơ có phí, lệ phí ({report.online_ratio:.2f}%)"
        ],
    )
