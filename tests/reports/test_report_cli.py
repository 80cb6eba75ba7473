"""`lienthong report NAME`: periods (named, cut-off, from–to), every report in every format."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from lienthong.cli import main
from tests.reports.factories import catalogue, load, synced_to
from tests.reports.rendering import in_ci, tool
from tests.reports.test_reports_vs_count import HAND_MADE, MINISTRY, TWINS

NAMES = [
    "phu-luc-01",
    "phu-luc-02",
    "phu-luc-03",
    "satisfaction",
    "four-on-the-spot",
    "overdue",
    "scorecard-766",
]


@pytest.fixture
def env(tmp_path, monkeypatch):
    from warehouse.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    upgrade(engine)
    catalogue(engine)
    load(engine, "one_stop", HAND_MADE + TWINS)
    load(engine, "criminal_record", MINISTRY)
    synced_to(engine, date(2019, 12, 31))
    engine.dispose()
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", url)
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(tmp_path / "var"))
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_named_period_equals_its_from_to(env, capsys):
    _, named, _ = run(capsys, "phu-luc-01", "--period", "2019-Q1", "--format", "csv")
    _, dated, _ = run(
        capsys, "phu-luc-01", "--from", "2019-01-01", "--to", "2019-03-31", "--format", "csv"
    )
    assert named == dated
    rows = list(csv.DictReader(io.StringIO(named)))
    assert rows[-1]["agency_code"] == "TOTAL" and int(rows[-1]["received_total"]) == 9


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_every_report_as_table_and_csv(env, capsys, name, fmt):
    code, out, err = run(capsys, name, "--period", "2019-Q1", "--format", fmt)
    assert code == 0, err
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out)))
        assert len(rows) >= 2 and len({len(r) for r in rows}) == 1
    else:
        assert "2019-01-01 .. 2019-03-31" in out


@pytest.mark.parametrize("name", [*NAMES, "all"])
def test_every_report_as_xlsx_and_html(env, capsys, name):
    for fmt, suffix in (("xlsx", "xlsx"), ("html", "html")):
        code, out, err = run(capsys, name, "--period", "2019-Q1", "--format", fmt)
        assert code == 0, err
        path = env / "var" / "reports" / f"{name}_2019-01-01_2019-03-31.{suffix}"
        assert f"wrote {path}" in out and path.stat().st_size > 0
    sheets = load_workbook(path.with_suffix(".xlsx")).sheetnames
    assert len(sheets) == (8 if name == "all" else 1)  # all: the seven and the fees


def test_cutoff_periods_name_their_days(env, capsys):
    code, out, _ = run(capsys, "phu-luc-02", "--period", "2019-Q1", "--cutoff", "--format", "xlsx")
    assert code == 0
    path = env / "var" / "reports" / "phu-luc-02_2018-12-15_2019-03-14.xlsx"
    texts = {c.value for row in load_workbook(path).active.iter_rows() for c in row if c.value}
    assert any(str(t).startswith("Kỳ báo cáo: quý I năm 2019 (từ ngày 15/12/2018") for t in texts)


def test_out_and_overdue_thresholds(env, capsys, tmp_path):
    out_file = tmp_path / "hot.csv"
    code, out, _ = run(
        capsys, "overdue", "--period", "2019-Q1", "--format", "csv", "--top", "1",
        "--few", "0", "--out", str(out_file),
    )  # fmt: skip
    assert code == 0 and f"wrote {out_file}" in out
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert sum(r["list"] == "procedure" for r in rows) <= 1
    assert all(r["list"] != "few_dossiers" or r["received"] == "0" for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2019-Q1", "--from", "2019-01-01"], "either --period or --from/--to"),
        (["--from", "2019-01-01", "--to", "2019-03-31", "--cutoff"], "--cutoff applies"),
        ([], "give --period"),
        (["--from", "2019-01-01"], "give --period"),
        (["--period", "2019-Q5"], "not a period"),
        (["--from", "2019-03-01", "--to", "2019-01-01"], "ends before it starts"),
    ],
)
def test_bad_periods_are_clear_errors(env, capsys, args, message):
    code, _, err = run(capsys, "phu-luc-01", *args)
    assert code == 2 and message in err


def test_all_reports_do_not_fit_one_csv(env, capsys):
    code, _, err = run(capsys, "all", "--period", "2019-Q1", "--format", "csv")
    assert code == 2 and "one report" in err


def test_a_missing_tool_skips_outside_ci_and_fails_in_ci(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("CI", raising=False)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception):
        tool("chromium", install="apt-get install -y chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        tool("chromium", install="apt-get install -y chromium")


def test_write_reports_writes_every_report_once(env, tmp_path):
    import os

    from lienthong.reports import write_reports
    from warehouse.db import make_engine
    from warehouse.reports.periods import parse_period

    engine = make_engine(os.environ["LIENTHONG_WAREHOUSE_URL"])
    paths = write_reports(engine, parse_period("2019-Q1"), tmp_path / "out")
    assert [p.name for p in paths] == [
        "all_2019-01-01_2019-03-31.xlsx",
        "all_2019-01-01_2019-03-31.html",
    ]
    assert len(load_workbook(paths[0]).sheetnames) == 8  # the seven and the fees
