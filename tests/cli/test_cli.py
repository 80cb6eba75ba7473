"""The `lienthong` command line, run in-process against a stand-in over real HTTP."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from lienthong.cli import main
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_uri


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def stand_in():
    app = PrefixDispatcher({"/one_stop": make_app(build_dataset("small", seed=5))})
    with serve(app) as base_url:
        yield base_url


def test_sources_lists_the_registry(capsys):
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    assert "one_stop" in out and "lienthong_one_stop" in out and "REST" in out


def test_sync_then_report_through_the_connection_variable(env, stand_in, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", stand_in_uri(stand_in, "one_stop"))
    assert main(["sync", "one_stop", "--since", "2018-10-01", "--until", "2019-07-01"]) == 0
    out = capsys.readouterr().out
    assert "one_stop.dossiers" in out and "succeeded" in out and "inserted=" in out
    assert "demo-secret" not in out

    # Without a window the sync starts from the watermark: nothing new, nothing changed.
    assert main(["sync", "one_stop"]) == 0
    assert "inserted=0 updated=0" in capsys.readouterr().out

    assert (
        main(
            [
                "report",
                "phu-luc-01",
                "--from",
                "2019-01-01",
                "--to",
                "2019-06-30",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[-1]["agency_code"] == "TOTAL" and int(rows[-1]["received_total"]) > 0
    for row in rows:
        assert int(row["received_total"]) == int(row["resolved_total"]) + int(row["pending_total"])

    assert (
        main(
            ["report", "phu-luc-01", "--from", "2019-01-01", "--to", "2019-06-30", "--by", "field"]
        )
        == 0
    )
    assert "(by field)" in capsys.readouterr().out

    assert main(["report", "satisfaction", "--from", "2019-01-01", "--to", "2019-06-30"]) == 0
    assert "Rất hài lòng" in capsys.readouterr().out

    assert (
        main(
            [
                "report",
                "phu-luc-01",
                "--from",
                "2019-01-01",
                "--to",
                "2019-06-30",
                "--format",
                "xlsx",
            ]
        )
        == 0
    )
    path = env / "var" / "reports" / "phu-luc-01_2019-01-01_2019-06-30.xlsx"
    assert f"wrote {path.relative_to(env)}" in capsys.readouterr().out or path.exists()
    ws = load_workbook(path).active
    texts = {c.value for row in ws.iter_rows() for c in row if c.value}
    assert {
        "Số hồ sơ nhận giải quyết",
        "Kết quả giải quyết",
        "Trả đúng hạn",
        "Tổng cộng",
        "(3)=(4)+(5)+(6)",
        "(11)=(12)+(13)",
    } <= texts
    assert "Kỳ báo cáo: từ ngày 01/01/2019 đến ngày 30/06/2019" in texts
    top = next(c.row for c in ws["A"] if c.value == "STT")
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {f"A{top}:A{top + 3}", f"C{top}:G{top}", f"H{top}:N{top}"} <= merged
    numbers = [c.value for c in ws[top + 4]][:3]
    assert numbers == ["(1)", "(2)", "(3)=(4)+(5)+(6)"]
    total = next(r for r in ws.iter_rows(min_row=top + 5) if r[1].value == "Tổng cộng")
    assert total[2].value == int(rows[-1]["received_total"])


def test_a_sync_without_a_connection_says_which_variable_to_set(env, monkeypatch, capsys):
    monkeypatch.delenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", raising=False)
    assert main(["sync", "one_stop", "--since", "2019-01-01"]) == 2
    assert "AIRFLOW_CONN_LIENTHONG_ONE_STOP" in capsys.readouterr().err


def test_a_first_sync_without_since_is_a_clear_error(env, stand_in, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", stand_in_uri(stand_in, "one_stop"))
    assert main(["sync", "one_stop"]) == 2
    assert "give --since for the first run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("window", "connection", "says"),
    [
        (("--since", "2019-07-01", "--until", "2019-01-01"), None, "must be before"),
        (
            ("--since", "2019-01-01"),
            "http://u:p@motcua.example.gov.vn:80/?protocol=http&dstcode=000.00.01.H22",
            "plain http",
        ),
    ],
    ids=["reversed-window", "plain-http-to-a-remote-host"],
)
def test_a_sync_refused_for_its_arguments_writes_nothing(
    env, stand_in, monkeypatch, capsys, window, connection, says
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_LIENTHONG_ONE_STOP", connection or stand_in_uri(stand_in, "one_stop")
    )
    assert main(["sync", "one_stop", *window]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
    assert not (env / "w.db").exists()  # no warehouse made, no batch of the catalogues committed


def test_simulate_on_a_port_in_use_is_one_line(env, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["simulate", "--port", str(port), "--scenario", "small"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lienthong: error: cannot serve the stand-ins on") and "\n" not in err


def test_loading_without_a_pseudonym_key_is_refused(env, stand_in, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", stand_in_uri(stand_in, "one_stop"))
    monkeypatch.delenv("LIENTHONG_PSEUDONYM_KEY")
    assert main(["sync", "one_stop", "--since", "2019-01-01"]) == 2
    assert "LIENTHONG_PSEUDONYM_KEY is not set" in capsys.readouterr().err


def test_bad_dates_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "phu-luc-01", "--from", "2019-13-01", "--to", "2019-06-30"])
    assert exit_.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_migrate_is_idempotent(env, capsys):
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.splitlines() == ["schema upgraded", "schema already up to date"]


def test_extract_then_load_from_the_landing_store(env, stand_in, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", stand_in_uri(stand_in, "one_stop"))
    window = ["--since", "2018-10-01", "--until", "2019-07-01", "--landing", str(env / "land")]
    assert main(["load", "one_stop", *window]) == 2
    assert "run extract first" in capsys.readouterr().err
    assert main(["extract", "one_stop", *window]) == 0
    assert "one_stop.dossiers:" in capsys.readouterr().out
    monkeypatch.delenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP")  # the load needs no connection
    assert main(["load", "one_stop", *window]) == 0
    assert "one_stop.dossiers" in capsys.readouterr().out
