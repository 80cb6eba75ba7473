"""Service-quality forms: satisfaction, "4 tại chỗ", overdue hot spots, Decision 766 scorecard."""

from __future__ import annotations

from lienthong.excel.forms import Cell, Form, Table, cells, numbered
from warehouse.reports.grouping import LABELS
from warehouse.reports.on_the_spot import OnTheSpotReport
from warehouse.reports.overdue import OverdueReport
from warehouse.reports.periods import Period
from warehouse.reports.satisfaction import LEVELS, Satisfaction
from warehouse.reports.scorecard import Scorecard


def _period(report, period: Period | None) -> Period:
    return period or Period(report.start, report.end)


def satisfaction_form(s: Satisfaction, period: Period | None = None) -> Form:
    header = [Cell(0, 1, 1, 1, "STT"), Cell(0, 2, 1, 2, "Đơn vị"), Cell(0, 3, 1, 3, "Tổng số")]
    for i, label in enumerate(LEVELS.values()):
        c = 4 + 2 * i
        header += [Cell(0, c, 0, c + 1, label), Cell(1, c, 1, c, "Số lượng")]
        header.append(Cell(1, c + 1, 1, c + 1, "Tỷ lệ (%)"))
    numbers = ["(1)", "(2)", "(3)=(4)+(6)+(8)", *(f"({n})" for n in range(4, 10))]

    def values(r) -> list[object]:
        shares = r.shares()
        out: list[object] = [r.total]
        for level in LEVELS:
            out += [r.counts.get(level, 0), shares[level]]
        return out

    rows = numbered([(r.code, r.name, values(r)) for r in s.rows], with_code=False)
    table = Table(
        header,
        numbers,
        rows,
        ["", "Tổng cộng", *values(s.total)],
        percent_cols=frozenset({5, 7, 9}),
    )
    return Form(
        "Muc do hai long",
        "KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG",
        "(đánh giá của người dân, doanh nghiệp trong kỳ, theo đơn vị)",
        _period(s, period),
        [table],
    )


def on_the_spot_form(report: OnTheSpotReport, period: Period | None = None) -> Form:
    header = cells(
        (0, 1, 0, 1, "STT"),
        (0, 2, 0, 2, "Đơn vị / Lĩnh vực / Thủ tục"),
        (0, 3, 0, 3, "Số hồ sơ tiếp nhận trong kỳ"),
        (0, 4, 0, 4, 'Giải quyết theo mô hình "4 tại chỗ"'),
        (0, 5, 0, 5, "Tỷ lệ (%)"),
    )
    rows = numbered([(r.code, r.name, r.values()) for r in report.rows])
    table = Table(
        header,
        ["(1)", "(2)", "(3)", "(4)", "(5)=(4)/(3)"],
        rows,
        ["", "Tổng cộng", *report.total.values()],
        percent_cols=frozenset({5}),
    )
    return Form(
        "4 tai cho",
        'KẾT QUẢ GIẢI QUYẾT HỒ SƠ THEO MÔ HÌNH "4 TẠI CHỖ"',
        f"(tiếp nhận, thẩm định, phê duyệt, trả kết quả tại chỗ — theo {LABELS[report.by]})",
        _period(report, period),
        [table],
        notes=list(report.notes),
    )


_HOT_HEADER = [
    "Số hồ sơ phải giải quyết",
    "Đã giải quyết quá hạn",
    "Đang giải quyết quá hạn",
    "Tổng số trễ hạn",
    "Tỷ lệ trễ hạn (%)",
]


def overdue_form(report: OverdueReport, period: Period | None = None) -> Form:
    def hot(caption: str, unit: str, spots, with_agency: bool) -> Table:
        names = ["STT", unit, *(["Đơn vị"] if with_agency else []), *_HOT_HEADER]
        header = [Cell(0, i, 0, i, text) for i, text in enumerate(names, start=1)]
        rows = [
            [n, f"{s.name} ({s.code})", *([s.agency] if with_agency else []), *s.values()]
            for n, s in enumerate(spots, start=1)
        ]
        return Table(header, None, rows, caption=caption, percent_cols=frozenset({len(names)}))

    quiet_names = ["STT", "Đơn vị", "Số TTHC", "Số hồ sơ tiếp nhận", "Số hồ sơ / TTHC"]
    quiet = Table(
        [Cell(0, i, 0, i, text) for i, text in enumerate(quiet_names, start=1)],
        None,
        numbered([(q.code, q.name, q.values()) for q in report.quiet]),
        caption=f"3. Đơn vị tiếp nhận không quá {report.few} hồ sơ trong kỳ",
        percent_cols=frozenset({5}),
    )
    tables = [
        hot(
            f"1. Thủ tục hành chính có nhiều hồ sơ trễ hạn nhất (tối đa {report.top})",
            "Thủ tục hành chính",
            report.procedures,
            True,
        ),
        hot(
            f"2. Đơn vị có nhiều hồ sơ trễ hạn nhất (tối đa {report.top})",
            "Đơn vị",
            report.agencies,
            False,
        ),
        quiet,
    ]
    return Form(
        "Diem nghen",
        "HỒ SƠ TRỄ HẠN, QUÁ HẠN VÀ ĐƠN VỊ CÓ ÍT HỒ SƠ",
        "(trễ hạn = đã giải quyết quá hạn + đang giải quyết quá hạn)",
        _period(report, period),
        tables,
        notes=list(report.notes),
    )


def scorecard_form(card: Scorecard, period: Period | None = None) -> Form:
    scored = card.scored
    header = [Cell(0, 1, 1, 1, "STT"), Cell(0, 2, 1, 2, "Đơn vị")]
    numbers = ["(1)", "(2)"]
    col = 3
    for i in scored:
        header += [
            Cell(0, col, 0, col + 1, f"{i.name} (tối đa {i.weight:g} điểm)"),
            Cell(1, col, 1, col, "Tỷ lệ (%)"),
            Cell(1, col + 1, 1, col + 1, "Điểm"),
        ]
        numbers += [f"({col})", f"({col + 1})"]
        col += 2
    header += [
        Cell(0, col, 1, col, "Tổng điểm"),
        Cell(0, col + 1, 1, col + 1, "Điểm tối đa của các chỉ số tính được"),
    ]
    numbers += [f"({col})", f"({col + 1})"]

    def values(row) -> list[object]:
        out: list[object] = []
        for i in scored:
            s = row.scores[i.key]
            out += [s.percent if s.percent is not None else "—", s.points]
        return [*out, row.points, card.max_points(row)]

    rows = numbered([(r.code, r.name, values(r)) for r in card.rows])
    percent = frozenset(range(3, col + 2))
    table = Table(
        header, numbers, rows, ["", "Toàn Trung tâm", *values(card.total)], percent_cols=percent
    )
    v = card.version
    groups = "; ".join(f"{g.name} {g.weight:g}" for g in v.groups)
    notes = [f"Căn cứ: {v.basis} (áp dụng từ {v.valid_from:%d/%m/%Y}); các nhóm: {groups}"]
    return Form(
        "QD 766",
        "CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP THEO THỜI GIAN THỰC (QUYẾT ĐỊNH 766/QĐ-TTg)",
        "(các chỉ số tính được từ kho dữ liệu)",
        _period(card, period),
        [table],
        notes=notes + list(card.notes),
        name_width=40,
    )
