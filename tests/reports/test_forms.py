"""The official-form xlsx files: title block, merged header groups, column numbers, agency rows,
a total row equal to the sum of the rows — for every report, on hand-made dossiers."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import load_workbook

from lienthong import excel
from lienthong.excel import official, quality
from tests.reports.factories import Q1, catalogue, load
from tests.reports.test_reports_vs_count import HAND_MADE, MINISTRY, TWINS
from warehouse.reports.base import counting
from warehouse.reports.on_the_spot import four_on_the_spot_in
from warehouse.reports.overdue import overdue_hot_spots_in
from warehouse.reports.periods import parse_period
from warehouse.reports.phu_luc_01 import phu_luc_01_in
from warehouse.reports.phu_luc_02 import phu_luc_02_in
from warehouse.reports.phu_luc_03 import phu_luc_03_in
from warehouse.reports.satisfaction import satisfaction_in
from warehouse.reports.scorecard import scorecard_in

PERIOD = parse_period("2019-Q1")


@pytest.fixture
def reports(sqlite_engine):
    catalogue(sqlite_engine)
    load(sqlite_engine, "one_stop", HAND_MADE + TWINS)
    load(sqlite_engine, "criminal_record", MINISTRY)
    with counting(sqlite_engine, *Q1) as r:
        return {
            "phu_luc_01": phu_luc_01_in(r),
            "phu_luc_02": phu_luc_02_in(r),
            "phu_luc_03": phu_luc_03_in(r),
            "satisfaction": satisfaction_in(r),
            "on_the_spot": four_on_the_spot_in(r),
            "overdue": overdue_hot_spots_in(r),
            "scorecard": scorecard_in(r),
        }


def sheet(path):
    ws = load_workbook(path).active
    texts = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    top = next(c.row for c in ws["A"] if c.value == "STT")
    merged = {str(r) for r in ws.merged_cells.ranges}
    return ws, texts, top, merged


def body(ws, first: int, width: int):
    """Rows from `first` down to the total row: (numbered rows, total row) as values."""
    rows, total = [], None
    for row in ws.iter_rows(min_row=first, max_col=width, values_only=True):
        if row[1] in ("Tổng cộng", "Toàn Trung tâm"):
            total = list(row)
            break
        rows.append(list(row))
    return rows, total


def check_total_is_the_sum(rows, total, percent_cols):
    for i in range(2, len(total)):
        if i + 1 in percent_cols:
            continue
        assert total[i] == sum(r[i] for r in rows), i


def test_phu_luc_02_form(reports, tmp_path, monkeypatch):
    monkeypatch.setenv("LIENTHONG_REPORTING_UNIT", "Trung tâm PVHCC tỉnh Thử nghiệm")
    path = excel.save(
        [official.phu_luc_02_form(reports["phu_luc_02"], PERIOD)], tmp_path / "p02.xlsx"
    )
    ws, texts, top, merged = sheet(path)
    assert "TÌNH HÌNH, KẾT QUẢ CUNG CẤP DỊCH VỤ CÔNG TRỰC TUYẾN" in texts
    assert "Kỳ báo cáo: quý I năm 2019 (từ ngày 01/01/2019 đến ngày 31/03/2019)" in texts
    assert any("Trung tâm PVHCC tỉnh Thử nghiệm" in str(t) for t in texts)
    assert {"Mức độ 3", "Mức độ 4", "Nộp trực tuyến", "Thanh toán trực tuyến"} <= set(texts)
    assert {f"A{top}:A{top + 2}", f"C{top}:E{top}", f"F{top}:J{top}", f"M{top}:O{top}"} <= merged
    assert f"G{top + 1}:I{top + 1}" in merged
    numbers = [c.value for c in ws[top + 3]]
    assert numbers[:3] == ["(1)", "(2)", "(3)=(4)+(5)"]
    assert numbers[6] == "(7)=(8)+(9)" and numbers[9] == "(10)=(7)/(6)"
    rows, total = body(ws, top + 4, 15)
    assert len(rows) == len(reports["phu_luc_02"].rows) and rows[0][0] == 1
    check_total_is_the_sum(rows, total, {10, 15})
    assert ws.cell(row=top + 4, column=10).number_format == "0.00"


def test_phu_luc_03_form(reports, tmp_path):
    path = excel.save(
        [official.phu_luc_03_form(reports["phu_luc_03"], PERIOD)], tmp_path / "p03.xlsx"
    )
    ws, texts, top, merged = sheet(path)
    assert any("BƯU CHÍNH CÔNG ÍCH" in str(t) for t in texts)
    assert {f"C{top}:E{top}", f"F{top}:H{top}", f"A{top}:A{top + 1}"} <= merged
    assert [c.value for c in ws[top + 2]] == [
        "(1)", "(2)", "(3)", "(4)", "(5)=(4)/(3)", "(6)", "(7)", "(8)=(7)/(6)",
    ]  # fmt: skip
    rows, total = body(ws, top + 3, 8)
    check_total_is_the_sum(rows, total, {5, 8})
    assert total[3] == reports["phu_luc_03"].total.received_postal


def test_phu_luc_01_form_keeps_its_layout(reports, tmp_path):
    path = excel.save([official.phu_luc_01_form(reports["phu_luc_01"])], tmp_path / "p01.xlsx")
    ws, texts, top, merged = sheet(path)
    assert top == 7 and "Biểu số II.06a/VPCP/KSTT" in texts
    assert "Kỳ báo cáo: từ ngày 01/01/2019 đến ngày 31/03/2019" in texts  # no named period
    assert {f"A{top}:A{top + 3}", f"C{top}:G{top}", f"H{top}:N{top}"} <= merged
    rows, total = body(ws, top + 5, 14)
    check_total_is_the_sum(rows, total, set())
    assert total[2] == total[7] + total[11]  # col 3 = col 7 + col 11
    assert {"NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ"} <= set(texts)


@pytest.mark.parametrize(
    ("name", "form", "marker"),
    [
        ("satisfaction", quality.satisfaction_form, "KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG"),
        ("on_the_spot", quality.on_the_spot_form, 'Giải quyết theo mô hình "4 tại chỗ"'),
        ("scorecard", quality.scorecard_form, "Tổng điểm"),
    ],
)
def test_single_table_forms(reports, tmp_path, name, form, marker):
    path = excel.save([form(reports[name], PERIOD)], tmp_path / f"{name}.xlsx")
    ws, texts, top, merged = sheet(path)
    assert marker in texts and PERIOD.title in texts
    depth = 1 if name == "on_the_spot" else 2
    assert ws.cell(row=top + depth, column=1).value == "(1)"
    rows, total = body(ws, top + depth + 1, ws.max_column)
    assert total is not None and len(rows) == len(reports[name].rows)
    if name != "scorecard":
        percent = {5, 7, 9} if name == "satisfaction" else {5}
        check_total_is_the_sum(rows, total, percent)


def test_overdue_form_has_three_captioned_tables(reports, tmp_path):
    path = excel.save([quality.overdue_form(reports["overdue"], PERIOD)], tmp_path / "overdue.xlsx")
    _, texts, _, _ = sheet(path)
    captions = [t for t in texts if isinstance(t, str) and t[:2] in ("1.", "2.", "3.")]
    assert len(captions) == 3
    assert "Tổng số trễ hạn" in texts


def test_all_reports_in_one_workbook(reports, tmp_path):
    forms = [
        official.phu_luc_01_form(reports["phu_luc_01"], PERIOD),
        official.phu_luc_02_form(reports["phu_luc_02"], PERIOD),
        official.phu_luc_03_form(reports["phu_luc_03"], PERIOD),
        quality.satisfaction_form(reports["satisfaction"], PERIOD),
        quality.on_the_spot_form(reports["on_the_spot"], PERIOD),
        quality.overdue_form(reports["overdue"], PERIOD),
        quality.scorecard_form(reports["scorecard"], PERIOD),
    ]
    wb = load_workbook(excel.save(forms, tmp_path / "all.xlsx"))
    assert len(wb.sheetnames) == 7 and wb.sheetnames[0] == "Phu luc 01"


def test_levels_are_named_after_decree_42_from_15_august_2022(reports, tmp_path):
    from warehouse.reports.phu_luc_02 import level_labels

    assert level_labels(date(2022, 8, 14)) == ("Mức độ 3", "Mức độ 4")
    assert level_labels(date(2022, 8, 15)) == ("Một phần", "Toàn trình")
