"""Reading commands trust only a warehouse they may read, and count no further than its data:
no warehouse is created or migrated by `report`/`reconcile`, and a period running past the synced
data is counted as of its last covered day and says so (terminal, xlsx, HTML; --strict exits 6)."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from openpyxl import load_workbook

from lienthong.cli import main
from lienthong.report_cli import EXIT_INCOMPLETE, EXIT_NOT_READY
from tests.reports.factories import at, catalogue, load, synced_to
from tests.reports.test_report_cli import NAMES
from tests.reports.test_reports_vs_count import HAND_MADE, MINISTRY, TWINS
from warehouse.db import alembic_config, schema_head
from warehouse.loader import Batch

JULY_1 = "counted as of 30/06/2019, not 31/12/2019"


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def warehouse(engine, tmp_path, monkeypatch):
    """The hand-made dossiers, every source synced to 1 July 2019 (last full day: 30 June)."""
    catalogue(engine)
    load(engine, "one_stop", HAND_MADE + TWINS)
    load(engine, "criminal_record", MINISTRY)
    synced_to(engine, date(2019, 6, 30))
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", url_of(engine))
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    return engine


# -- no warehouse is created or migrated by a read ------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["report", "phu-luc-01", "--period", "2019"],
        ["report", "fees", "--period", "2019"],
        ["reconcile", "--from", "2019-01-01", "--to", "2019-06-30"],
    ],
)
def test_a_mistyped_sqlite_path_is_an_error_and_creates_nothing(
    tmp_path, monkeypatch, capsys, args
):
    typo = tmp_path / "vra" / "warehose.db"
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{typo}")
    monkeypatch.setenv("LIENTHONG_VAR_DIR", str(tmp_path / "var"))
    code, out, err = run(capsys, *args)
    assert code == EXIT_NOT_READY and out == ""
    assert err.count("\n") == 1 and f"no warehouse at {typo}" in err and "lienthong migrate" in err
    assert not typo.parent.exists()


def test_the_cli_reads_the_airflow_warehouse_connection(warehouse, tmp_path, monkeypatch, capsys):
    # What `docker-compose exec airflow-worker lienthong report …` sees: only the connection.
    monkeypatch.delenv("LIENTHONG_WAREHOUSE_URL")
    url = url_of(warehouse)
    if url.startswith("postgresql"):
        url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_WAREHOUSE", url)
    code, out, err = run(capsys, "report", "phu-luc-01", "--period", "2019-H1", "--format", "csv")
    assert code == 0 and err == ""
    assert out.splitlines()[-1].startswith("TOTAL")
    assert not (tmp_path / "var" / "warehouse.db").exists()


def test_an_empty_migrated_warehouse_was_never_synced(engine, monkeypatch, capsys):
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", url_of(engine))
    code, out, err = run(capsys, "report", "phu-luc-01", "--period", "2019-H1")
    assert code == EXIT_NOT_READY and out == ""
    assert "never synced" in err and err.count("\n") == 1


def revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_a_warehouse_behind_the_code_is_refused_and_left_as_it_is(warehouse, capsys):
    cfg = alembic_config()
    with warehouse.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "-1")  # one migration behind alembic's head, whatever it is
    older = revision(warehouse)
    assert older is not None and older != schema_head()
    for args in (
        ["report", "phu-luc-01", "--period", "2019-H1"],
        ["report", "fees", "--period", "2019-H1"],
        ["reconcile", "--from", "2019-01-01", "--to", "2019-06-30"],
    ):
        code, out, err = run(capsys, *args)
        assert code == EXIT_NOT_READY and out == ""
        assert f"at {older}" in err and "run `lienthong migrate`" in err
        assert revision(warehouse) == older
    assert run(capsys, "migrate")[0] == 0 and revision(warehouse) == schema_head()
    assert run(capsys, "report", "phu-luc-01", "--period", "2019-H1")[0] == 0


# -- a report never counts past its data ----------------------------------------------------
def test_a_year_synced_to_1_july_is_counted_as_of_30_june(warehouse, capsys):
    code, whole_year, err = run(
        capsys, "report", "phu-luc-01", "--period", "2019", "--format", "csv"
    )
    assert code == 0 and err.count("\n") == 1 and JULY_1 in err
    for source in ("one_stop", "criminal_record", "business_registration", "driving_licence"):
        assert f"{source} synced to 30/06/2019" in err
    # The same counts as a report that ends on 30 June: no pending dossier judged on 31/12.
    _, first_half, _ = run(
        capsys, "report", "phu-luc-01", "--from", "2019-01-01", "--to", "2019-06-30",
        "--format", "csv",
    )  # fmt: skip
    assert whole_year == first_half
    code, _, err = run(capsys, "report", "phu-luc-01", "--period", "2019", "--strict")
    assert code == EXIT_INCOMPLETE and JULY_1 in err


def test_the_forms_say_where_the_data_ends(warehouse, tmp_path, capsys):
    line = "Số liệu đến hết ngày 30/06/2019"
    code, out, _ = run(capsys, "report", "phu-luc-01", "--period", "2019", "--format", "xlsx")
    assert code == 0
    path = tmp_path / "var" / "reports" / "phu-luc-01_2019-01-01_2019-12-31.xlsx"
    sheet = load_workbook(path).active
    cells = [c.value for row in sheet.iter_rows(max_row=8) for c in row if c.value]
    noted = [v for v in cells if str(v).startswith(line)]
    assert noted and "one_stop đến 30/06/2019" in noted[0]
    assert any("31/12/2019" in str(v) for v in cells)  # the period asked stays the title's
    code, _, _ = run(capsys, "report", "all", "--period", "2019", "--format", "html")
    html = (path.parent / "all_2019-01-01_2019-12-31.html").read_text(encoding="utf-8")
    assert code == 0 and line in html and "criminal_record đến 30/06/2019" in html


def test_a_fully_covered_period_prints_no_warning(warehouse, tmp_path, capsys):
    code, _, err = run(capsys, "report", "phu-luc-01", "--period", "2019-H1", "--strict")
    assert (code, err) == (0, "")
    code, _, err = run(
        capsys, "report", "phu-luc-01", "--period", "2019-H1", "--format", "xlsx", "--strict"
    )
    sheet = load_workbook(tmp_path / "var/reports/phu-luc-01_2019-01-01_2019-06-30.xlsx").active
    assert (code, err) == (0, "")
    assert not any("Số liệu đến" in str(c.value) for row in sheet.iter_rows() for c in row)


@pytest.mark.parametrize("name", [*NAMES, "fees"])
def test_every_report_is_cut_at_its_data(warehouse, capsys, name):
    code, out, err = run(capsys, "report", name, "--period", "2019-Q3")
    assert code == 0 and "no data for 01/07/2019–30/09/2019" in err and out == ""
    code, _, err = run(capsys, "report", name, "--period", "2019", "--strict")
    assert code == EXIT_INCOMPLETE and JULY_1 in err


def test_a_period_after_all_data_writes_nothing(warehouse, tmp_path, capsys):
    code, out, err = run(capsys, "report", "all", "--period", "2030-H1", "--format", "xlsx")
    assert code == 0 and out == "" and err.count("\n") == 1
    assert "no data for 01/01/2030–30/06/2030" in err and "the data ends on 30/06/2019" in err
    assert not (tmp_path / "var" / "reports").exists()
    assert run(capsys, "report", "all", "--period", "2030-H1", "--strict")[0] == EXIT_INCOMPLETE


def test_a_failed_batch_inside_the_period_is_named_until_a_rerun_covers_it(warehouse, capsys):
    window = (at("2019-03-01T00:00"), at("2019-03-02T00:00"))
    with pytest.raises(RuntimeError):
        with Batch(warehouse, source="driving_licence", stream="dossiers", window=window) as b:
            failed = b.batch_id
            raise RuntimeError("the ministry went away")
    code, _, err = run(capsys, "report", "phu-luc-01", "--period", "2019-H1", "--strict")
    assert code == EXIT_INCOMPLETE
    assert f"driving_licence.dossiers batch #{failed} failed (01/03/2019–01/03/2019)" in err
    wider = (at("2019-02-28T22:00"), at("2019-03-03T00:00"))
    with Batch(warehouse, source="driving_licence", stream="dossiers", window=wider):
        pass
    assert run(capsys, "report", "phu-luc-01", "--period", "2019-H1", "--strict")[0] == 0


def test_reconcile_judges_unpaid_no_later_than_the_data(warehouse, capsys):
    code, out, err = run(
        capsys, "reconcile", "--from", "2019-01-01", "--to", "2019-12-31", "--format", "csv"
    )
    assert code == 0 and "counted as of 30/06/2019" in err
    assert "2019-01-01 .. 2019-06-30" in out and "as of 2019-06-30" in out
    args = ["reconcile", "--from", "2019-01-01", "--to", "2019-12-31", "--strict"]
    assert run(capsys, *args)[0] == EXIT_INCOMPLETE
