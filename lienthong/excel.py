"""Official-form xlsx reports: Vietnamese headers, merged group cells, the column-number row."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from warehouse.reports.phu_luc_01 import Report
from warehouse.reports.satisfaction import LEVELS, Satisfaction

_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BOLD = Font(bold=True, name="Times New Roman", size=11)
_PLAIN = Font(name="Times New Roman", size=11)


def reporting_unit() -> str:
    return os.environ.get(
        "LIENTHONG_REPORTING_UNIT", "Trung tâm Phục vụ hành chính công tỉnh Lạng Sơn"
    )


def _period(start: date, end: date) -> str:
    return f"Kỳ báo cáo: từ ngày {start:%d/%m/%Y} đến ngày {end:%d/%m/%Y}"


# Header of Biểu II.06a: (first row, first col, last row, last col, text), rows relative to
# the header's top. Column 5 is split into direct (5a) and postal (5b) as the center tracks both.
_P01_HEADER = [
    (0, 1, 3, 1, "STT"),
    (0, 2, 3, 2, "Đơn vị / Lĩnh vực giải quyết"),
    (0, 3, 0, 7, "Số hồ sơ nhận giải quyết"),
    (0, 8, 0, 14, "Kết quả giải quyết"),
    (1, 3, 3, 3, "Tổng số"),
    (1, 4, 1, 7, "Trong đó"),
    (1, 8, 1, 11, "Số hồ sơ đã giải quyết"),
    (1, 12, 1, 14, "Số hồ sơ đang giải quyết"),
    (2, 4, 2, 6, "Số mới tiếp nhận"),
    (2, 7, 3, 7, "Từ kỳ trước chuyển qua"),
    (2, 8, 3, 8, "Tổng số"),
    (2, 9, 3, 9, "Trả trước hạn"),
    (2, 10, 3, 10, "Trả đúng hạn"),
    (2, 11, 3, 11, "Trả quá hạn"),
    (2, 12, 3, 12, "Tổng số"),
    (2, 13, 3, 13, "Chưa đến hạn"),
    (2, 14, 3, 14, "Quá hạn"),
    (3, 4, 3, 4, "Trực tuyến"),
    (3, 5, 3, 5, "Trực tiếp"),
    (3, 6, 3, 6, "Qua dịch vụ bưu chính công ích"),
]
_P01_NUMBERS = [
    "(1)",
    "(2)",
    "(3)=(4)+(5)+(6)",
    "(4)",
    "(5a)",
    "(5b)",
    "(6)",
    "(7)=(8)+(9)+(10)",
    "(8)",
    "(9)",
    "(10)",
    "(11)=(12)+(13)",
    "(12)",
    "(13)",
]


def _title(ws, last_col: int, lines: list[tuple[str, Font]], form: str) -> int:
    ws.cell(row=1, column=last_col - 2, value=form).font = Font(italic=True, name="Times New Roman")
    row = 2
    for text, font in lines:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
        cell = ws.cell(row=row, column=1, value=text)
        cell.font, cell.alignment = font, _CENTER
        row += 1
    return row + 1


def _box(ws, row: int, cols: int, values: list[object], font: Font = _PLAIN) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col, value=value)
        cell.border, cell.font = _BOX, font
        if col != 2:
            cell.alignment = Alignment(horizontal="center" if col == 1 else "right")


def phu_luc_01_xlsx(report: Report, path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Phu luc 01"
    label = {"agency": "đơn vị", "field": "lĩnh vực", "procedure": "thủ tục hành chính"}[report.by]
    top = _title(
        ws,
        14,
        [
            (
                "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
                Font(bold=True, name="Times New Roman", size=13),
            ),
            (f"(Phụ lục 01 — theo {label})", _PLAIN),
            (_period(report.start, report.end), _PLAIN),
            (f"Đơn vị báo cáo: {reporting_unit()} — Đơn vị nhận báo cáo: Sở Nội vụ", _PLAIN),
        ],
        "Biểu số II.06a/VPCP/KSTT",
    )
    for r0, c0, r1, c1, text in _P01_HEADER:
        if (r0, c0) != (r1, c1):
            ws.merge_cells(start_row=top + r0, start_column=c0, end_row=top + r1, end_column=c1)
        cell = ws.cell(row=top + r0, column=c0, value=text)
        cell.font, cell.alignment = _BOLD, _CENTER
    for r in range(top, top + 4):
        for c in range(1, 15):
            ws.cell(row=r, column=c).border = _BOX
    numbers = top + 4
    for col, text in enumerate(_P01_NUMBERS, start=1):
        cell = ws.cell(row=numbers, column=col, value=text)
        cell.font, cell.alignment, cell.border = (
            Font(italic=True, name="Times New Roman"),
            _CENTER,
            _BOX,
        )
    row = numbers + 1
    for n, r in enumerate(report.rows, start=1):
        _box(ws, row, 14, [n, f"{r.name} ({r.code})", *r.values()])
        row += 1
    _box(ws, row, 14, ["", "Tổng cộng", *report.total.values()], _BOLD)
    row += 2
    for note in report.notes:
        ws.cell(row=row, column=2, value=f"Ghi chú: {note}").font = Font(
            italic=True, name="Times New Roman"
        )
        row += 1
    ws.cell(row=row + 1, column=2, value="NGƯỜI LẬP BIỂU").font = _BOLD
    ws.cell(row=row + 1, column=11, value="THỦ TRƯỞNG ĐƠN VỊ").font = _BOLD
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 48
    for col in range(3, 15):
        ws.column_dimensions[get_column_letter(col)].width = 12
    ws.freeze_panes = ws.cell(row=numbers + 1, column=3)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def satisfaction_xlsx(s: Satisfaction, path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Muc do hai long"
    top = _title(
        ws,
        9,
        [
            ("KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG", Font(bold=True, name="Times New Roman", size=13)),
            (_period(s.start, s.end), _PLAIN),
            (f"Đơn vị báo cáo: {reporting_unit()}", _PLAIN),
        ],
        "",
    )
    header = [(0, 1, 1, 1, "STT"), (0, 2, 1, 2, "Đơn vị"), (0, 3, 1, 3, "Tổng số đánh giá")]
    for i, label in enumerate(LEVELS.values()):
        c = 4 + 2 * i
        header += [
            (0, c, 0, c + 1, label),
            (1, c, 1, c, "Số lượng"),
            (1, c + 1, 1, c + 1, "Tỷ lệ (%)"),
        ]
    for r0, c0, r1, c1, text in header:
        if (r0, c0) != (r1, c1):
            ws.merge_cells(start_row=top + r0, start_column=c0, end_row=top + r1, end_column=c1)
        cell = ws.cell(row=top + r0, column=c0, value=text)
        cell.font, cell.alignment = _BOLD, _CENTER
    for r in range(top, top + 2):
        for c in range(1, 10):
            ws.cell(row=r, column=c).border = _BOX
    row = top + 2
    for n, r in enumerate([*s.rows, s.total], start=1):
        shares = r.shares()
        values: list[object] = [n if r is not s.total else "", r.name, r.total]
        for level in LEVELS:
            values += [r.counts.get(level, 0), float(shares[level])]
        _box(ws, row, 9, values, _BOLD if r is s.total else _PLAIN)
        for c in (5, 7, 9):
            ws.cell(row=row, column=c).number_format = "0.00"
        row += 1
    ws.column_dimensions["B"].width = 48
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
