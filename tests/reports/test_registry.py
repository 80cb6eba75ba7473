"""The report registry (lienthong/reports.py): one builder shape with typed options, the CSV
headers it declares, `all` as every report of a format, the CLI's messages for the warehouse's
domain errors, and the import directions it untangled."""

from __future__ import annotations

import ast
import csv
import inspect
import io
from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from lienthong.cli import main
from lienthong.reports import REPORTS, build, defaults, in_format
from tests.reports.factories import Q1, catalogue, load, synced_to
from tests.reports.test_reports_vs_count import HAND_MADE, MINISTRY, TWINS
from warehouse.reports.grouping import GROUPINGS, UnknownGrouping
from warehouse.reports.options import FeesGrouped, Grouped, HotSpots
from warehouse.reports.periods import Period

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_builder_takes_a_counting_and_its_options_fields(name):
    entry = REPORTS[name]
    first, *keywords = inspect.signature(entry.build).parameters.values()
    assert first.name == "report" and first.annotation in ("Counting", "base.Counting")
    assert [p.name for p in keywords] == [f.name for f in fields(entry.options)]
    # The defaults are the builder's own: `all` and the DAG build what a bare call builds.
    assert [p.default for p in keywords] == [f.default for f in fields(entry.options)]


@pytest.fixture
def warehouse(engine):
    catalogue(engine)
    load(engine, "one_stop", HAND_MADE + TWINS)
    load(engine, "criminal_record", MINISTRY)
    return engine


def test_every_report_builds_in_one_snapshot_with_its_declared_header(warehouse):
    built = build(warehouse, Period(*Q1), defaults(REPORTS))
    assert list(built) == list(REPORTS)
    for name, report in built.items():
        header, rows = REPORTS[name].csv(report)
        assert rows and {len(r) for r in rows} == {len(header)}, name
        assert header[-len(REPORTS[name].columns) :] == list(REPORTS[name].columns), name
    # The contracts with the staff's spreadsheets, word for word.
    assert REPORTS["phu-luc-01"].csv(built["phu-luc-01"])[0][:3] == [
        "agency_code", "agency_name", "received_total",
    ]  # fmt: skip
    assert REPORTS["fees"].csv(built["fees"])[0] == [
        "code", "name", "payments", "collected", "refunds", "refunded", "net",
    ]  # fmt: skip
    assert REPORTS["satisfaction"].csv(built["satisfaction"])[0][:5] == [
        "agency_code", "agency_name", "ratings", "level_1", "level_1_pct",
    ]  # fmt: skip


def test_phu_luc_01_keeps_its_csv_header_by_any_grouping(warehouse):
    by_field = build(warehouse, Period(*Q1), {"phu-luc-01": Grouped("field")})["phu-luc-01"]
    assert by_field.by == "field"
    assert REPORTS["phu-luc-01"].csv(by_field)[0][:2] == ["agency_code", "agency_name"]


def test_a_builder_takes_only_its_own_options(warehouse):
    with pytest.raises(TypeError, match="phu-luc-01 takes Grouped"):
        build(warehouse, Period(*Q1), {"phu-luc-01": HotSpots()})


def test_options_refuse_a_grouping_with_a_domain_error():
    with pytest.raises(UnknownGrouping) as refused:
        Grouped("fee-type")
    assert (refused.value.value, refused.value.allowed) == ("fee-type", GROUPINGS)
    assert "--by" not in str(refused.value)  # the warehouse does not speak the CLI's flags
    with pytest.raises(UnknownGrouping):
        FeesGrouped("field")


def test_all_is_every_report_that_comes_in_the_format():
    assert in_format("xlsx") == list(REPORTS) and "fees" in in_format("table")
    assert in_format("html") == [n for n in REPORTS if n != "fees"]


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    from warehouse.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    catalogue(engine)
    load(engine, "one_stop", HAND_MADE + TWINS)
    synced_to(engine, date(2019, 12, 31))
    engine.dispose()
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", url)
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(tmp_path / "var"))
    return tmp_path / "var" / "reports"


def test_report_all_holds_the_fees_in_xlsx_and_table(cli_env, capsys):
    assert main(["report", "all", "--period", "2019-Q1", "--format", "xlsx"]) == 0
    sheets = load_workbook(cli_env / "all_2019-01-01_2019-03-31.xlsx").sheetnames
    assert sheets[-1] == "Phi le phi" and len(sheets) == len(REPORTS)
    assert main(["report", "all", "--period", "2019-Q1"]) == 0
    assert "Fees — 2019-01-01 .. 2019-03-31 (by agency)" in capsys.readouterr().out


def test_report_all_by_field_leaves_the_fees_by_agency(cli_env, capsys):
    assert main(["report", "all", "--period", "2019-Q1", "--by", "field"]) == 0
    out = capsys.readouterr().out
    assert "Phụ lục 01 — 2019-01-01 .. 2019-03-31 (by field)" in out
    assert "Fees — 2019-01-01 .. 2019-03-31 (by agency)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["phu-luc-02", "--by", "fee-type"], "--by fee-type applies to the fees report only"),
        (["all", "--by", "fee-type"], "--by fee-type applies to the fees report only"),
        (["fees", "--by", "field"], "--by must be one of agency, procedure, fee-type"),
    ],
)
def test_the_cli_words_the_domain_errors(cli_env, capsys, args, message):
    assert main(["report", *args, "--period", "2019-Q1"]) == 2
    err = capsys.readouterr().err
    assert err == f"lienthong: error: {message}\n"


def test_the_fees_report_as_a_form_in_xlsx(cli_env, capsys):
    assert main(["report", "fees", "--period", "2019-Q1", "--format", "xlsx"]) == 0
    sheet = load_workbook(cli_env / "fees_2019-01-01_2019-03-31.xlsx").active
    texts = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "Kỳ báo cáo: quý I năm 2019 (từ ngày 01/01/2019 đến ngày 31/03/2019)" in texts
    assert "(7)=(4)-(6)" in texts and "Theo loại phí, lệ phí" in texts
    assert main(["report", "fees", "--period", "2019-Q1", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[-1] == ["TOTAL", "Tổng cộng", "0", "0", "0", "0", "0"]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("lienthong/fees_cli.py", "lienthong.report_cli"),
        ("warehouse/reports/base.py", "warehouse.reports.due_dates"),
    ],
)
def test_the_untangled_imports_run_one_way(importer, imported):
    module = importer.removesuffix(".py").replace("/", ".")
    back = ROOT / (imported.replace(".", "/") + ".py")
    assert imported in _imports(ROOT / importer)
    assert module not in _imports(back)


@pytest.mark.parametrize("bad", [{"top": 0}, {"top": -1}, {"min_late": -1}, {"few": -2}])
def test_hot_spot_options_refuse_what_would_cut_the_lists_silently(bad) -> None:
    from warehouse.reports.options import HotSpots

    with pytest.raises(ValueError, match="top must be"):
        HotSpots(**bad)
