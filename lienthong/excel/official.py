"""The forms of Phụ lục 01, 02 and 03 (the appendices sent to the Department of Home Affairs)."""

from __future__ import annotations

from lienthong.excel.forms import Form, Table, cells, numbered
from warehouse.reports import phu_luc_01 as p01
from warehouse.reports import phu_luc_02 as p02
from warehouse.reports import phu_luc_03 as p03
from warehouse.reports.grouping import LABELS
from warehouse.reports.periods import Period

_UNIT = "Đơn vị / Lĩnh vực / Thủ tục"


def _period(report, period: Period | None) -> Period:
    return period or Period(report.start, report.end)


# Biểu II.06a. Column 5 is split into direct (5a) and postal (5b) as the center tracks both.
P01_HEADER = cells(
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
)
P01_NUMBERS = [
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


def phu_luc_01_form(report: p01.PhuLuc01Report, period: Period | None = None) -> Form:
    rows = numbered([(r.code, r.name, r.values()) for r in report.rows])
    table = Table(P01_HEADER, P01_NUMBERS, rows, ["", "Tổng cộng", *report.total.values()])
    return Form(
        "Phu luc 01",
        "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        f"(Phụ lục 01 — theo {LABELS[report.by]})",
        _period(report, period),
        [table],
        code="Biểu số II.06a/VPCP/KSTT",
        notes=list(report.notes),
    )


def p02_header(partial: str, full: str) -> list:
    return cells(
        (0, 1, 2, 1, "STT"),
        (0, 2, 2, 2, _UNIT),
        (0, 3, 0, 5, "Số TTHC cung cấp dịch vụ công trực tuyến"),
        (0, 6, 0, 10, "Số hồ sơ tiếp nhận trong kỳ"),
        (0, 11, 0, 12, "Hồ sơ trực tuyến đã giải quyết"),
        (0, 13, 0, 15, "Thanh toán trực tuyến"),
        (1, 3, 2, 3, "Tổng số"),
        (1, 4, 2, 4, partial),
        (1, 5, 2, 5, full),
        (1, 6, 2, 6, "Tổng số (mọi hình thức)"),
        (1, 7, 1, 9, "Nộp trực tuyến"),
        (1, 10, 2, 10, "Tỷ lệ trực tuyến (%)"),
        (1, 11, 2, 11, "Tổng số"),
        (1, 12, 2, 12, "Trước hạn, đúng hạn"),
        (1, 13, 2, 13, "Số hồ sơ có phí, lệ phí"),
        (1, 14, 2, 14, "Đã thanh toán trực tuyến"),
        (1, 15, 2, 15, "Tỷ lệ (%)"),
        (2, 7, 2, 7, "Tổng số"),
        (2, 8, 2, 8, partial),
        (2, 9, 2, 9, full),
    )


P02_NUMBERS = [
    "(1)",
    "(2)",
    "(3)=(4)+(5)",
    "(4)",
    "(5)",
    "(6)",
    "(7)=(8)+(9)",
    "(8)",
    "(9)",
    "(10)=(7)/(6)",
    "(11)",
    "(12)",
    "(13)",
    "(14)",
    "(15)=(14)/(13)",
]


def phu_luc_02_form(report: p02.PhuLuc02Report, period: Period | None = None) -> Form:
    rows = numbered([(r.code, r.name, r.values()) for r in report.rows])
    table = Table(
        p02_header(*report.level_labels),
        P02_NUMBERS,
        rows,
        ["", "Tổng cộng", *report.total.values()],
        percent_cols=frozenset({10, 15}),
    )
    return Form(
        "Phu luc 02",
        "TÌNH HÌNH, KẾT QUẢ CUNG CẤP DỊCH VỤ CÔNG TRỰC TUYẾN",
        f"(Phụ lục 02 — theo {LABELS[report.by]})",
        _period(report, period),
        [table],
        notes=list(report.notes),
    )


P03_HEADER = cells(
    (0, 1, 1, 1, "STT"),
    (0, 2, 1, 2, _UNIT),
    (0, 3, 0, 5, "Tiếp nhận hồ sơ"),
    (0, 6, 0, 8, "Trả kết quả giải quyết"),
    (1, 3, 1, 3, "Tổng số hồ sơ tiếp nhận"),
    (1, 4, 1, 4, "Qua dịch vụ bưu chính công ích"),
    (1, 5, 1, 5, "Tỷ lệ (%)"),
    (1, 6, 1, 6, "Tổng số hồ sơ có kết quả"),
    (1, 7, 1, 7, "Trả qua dịch vụ bưu chính công ích"),
    (1, 8, 1, 8, "Tỷ lệ (%)"),
)
P03_NUMBERS = ["(1)", "(2)", "(3)", "(4)", "(5)=(4)/(3)", "(6)", "(7)", "(8)=(7)/(6)"]


def phu_luc_03_form(report: p03.PhuLuc03Report, period: Period | None = None) -> Form:
    rows = numbered([(r.code, r.name, r.values()) for r in report.rows])
    table = Table(
        P03_HEADER,
        P03_NUMBERS,
        rows,
        ["", "Tổng cộng", *report.total.values()],
        percent_cols=frozenset({5, 8}),
    )
    return Form(
        "Phu luc 03",
        "TÌNH HÌNH, KẾT QUẢ TIẾP NHẬN HỒ SƠ VÀ TRẢ KẾT QUẢ QUA DỊCH VỤ BƯU CHÍNH CÔNG ÍCH",
        f"(Phụ lục 03 — theo {LABELS[report.by]})",
        _period(report, period),
        [table],
        notes=list(report.notes),
    )
