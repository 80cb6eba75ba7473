"""`lienthong report fees` and `lienthong reconcile` in-process as cli.py will wire them,
against both stand-ins over real HTTP."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from lienthong import cli, fees_cli
from simulators import one_stop
from simulators.server import PrefixDispatcher, serve
from simulators.standins import PASSWORD, stand_in_uri
from simulators.vietinbank import Anomalies, build_dataset, make_app
from warehouse.reconciliation import CLASSES

PERIOD = ["--from", "2019-01-01", "--to", "2019-06-30"]


@pytest.fixture(scope="module")
def stand_ins():
    app = PrefixDispatcher(
        {
            "/one_stop": one_stop.make_app(one_stop.build_dataset("small", 4)),
            "/vietinbank": make_app(
                build_dataset("small", 4, anomalies=Anomalies(bad_signature_rate=0.05))
            ),
        }
    )
    with serve(app) as base_url:
        yield base_url


@pytest.fixture
def synced(stand_ins, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    for key in ("one_stop", "vietinbank"):
        monkeypatch.setenv(f"AIRFLOW_CONN_LIENTHONG_{key.upper()}", stand_in_uri(stand_ins, key))
        assert cli.main(["sync", key, "--since", "2018-10-01", "--until", "2019-07-01"]) == 0
    out = capsys.readouterr().out
    assert "vietinbank.transactions" in out and PASSWORD not in out
    return tmp_path


def test_report_fees_as_a_table(synced, capsys):
    assert cli.main(["report", "fees", *PERIOD]) == 0
    out = capsys.readouterr().out
    assert "Fees — 2019-01-01 .. 2019-06-30 (by agency)" in out
    assert "Tổng cộng" in out and "By fee type" in out and "Lệ phí" in out
    assert "Online payment:" in out and "fee-bearing dossiers" in out


@pytest.mark.parametrize("by", ["agency", "procedure", "fee-type"])
def test_report_fees_as_csv_adds_up(synced, capsys, by):
    assert cli.main(["report", "fees", *PERIOD, "--by", by, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["code", "name", "payments", "collected", "refunds", "refunded", "net"]
    *groups, total = rows
    assert total["code"] == "TOTAL" and int(total["collected"]) > 0
    for column in ("collected", "refunded", "net"):
        assert sum(int(r[column]) for r in groups) == int(total[column])


def test_report_fees_as_xlsx(synced, capsys):
    assert cli.main(["report", "fees", *PERIOD, "--format", "xlsx"]) == 0
    path = synced / "var" / "reports" / "fees_2019-01-01_2019-06-30.xlsx"
    assert f"wrote {path}" in capsys.readouterr().out
    cells = [c for row in load_workbook(path).active.iter_rows(values_only=True) for c in row]
    assert "TỔNG HỢP THU PHÍ, LỆ PHÍ QUA CỔNG THANH TOÁN" in cells and "Tổng cộng" in cells
    assert any(
        isinstance(c, str) and c.startswith("Tỷ lệ hồ sơ thanh toán trực tuyến") for c in cells
    )


def test_the_official_reports_still_work_beside_fees(synced, capsys):
    assert cli.main(["report", "satisfaction", *PERIOD, "--format", "csv"]) == 0
    assert cli.main(["report", "phu-luc-01", *PERIOD, "--by", "field"]) == 0
    assert "Tổng cộng" in capsys.readouterr().out


def test_report_fees_takes_a_named_period(synced, capsys):
    assert cli.main(["report", "fees", "--period", "2019-H1", "--format", "csv"]) == 0
    named = capsys.readouterr().out
    assert cli.main(["report", "fees", *PERIOD, "--format", "csv"]) == 0
    assert capsys.readouterr().out == named


def test_reconcile_prints_the_counts_and_writes_the_exceptions(synced, capsys):
    assert cli.main(["reconcile", *PERIOD]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in CLASSES) and "wrote" in out
    path = synced / "var" / "reports" / "reconciliation_2019-01-01_2019-06-30.xlsx"
    sheet = load_workbook(path).active
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert "ĐỐI SOÁT THANH TOÁN PHÍ, LỆ PHÍ VỚI HỒ SƠ" in cells
    assert "Chưa thanh toán" in cells and "Sai chữ ký — không tính" in cells


def test_reconcile_writes_csv_where_asked(synced, capsys):
    out = synced / "exceptions.csv"
    args = ["reconcile", *PERIOD, "--unpaid-after", "3", "--format", "csv", "--out", str(out)]
    assert cli.main(args) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and list(rows[0]) == fees_cli.FINDING_HEADER
    kinds = {r["class"] for r in rows}
    assert "matched" not in kinds and {"unpaid", "bad_signature"} <= kinds
    assert f"({len(rows)} exceptions)" in capsys.readouterr().out


def test_what_the_fees_report_lacks_is_a_clean_error(synced, capsys):
    assert cli.main(["report", "fees", *PERIOD, "--by", "field"]) == 2
    assert "--by must be one of" in capsys.readouterr().err
    assert cli.main(["report", "fees", *PERIOD, "--format", "html"]) == 2
    assert "table, csv or xlsx" in capsys.readouterr().err


def test_fee_type_grouping_is_for_the_fees_report_only(capsys):
    from lienthong.cli import main

    assert main(["report", "phu-luc-01", *PERIOD, "--by", "fee-type"]) == 2
    assert "fees report only" in capsys.readouterr().err


def test_every_class_has_a_label():
    assert set(fees_cli.LABELS) == set(CLASSES)
