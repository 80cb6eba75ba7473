"""The helpers behind the DAGs, without Airflow: windows, stores, connections, audit, reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from upath import UPath

from connectors.connection import get_connection
from lienthong import orchestration
from lienthong.orchestration import WindowError, sync_window
from lienthong.settings import DEFAULT_WAREHOUSE_URL
from mappings.common import LOCAL_TZ
from tests.reports.factories import synced_to
from warehouse.loader import Batch

TWO_HOURS = timedelta(hours=2)


def local(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=LOCAL_TZ)


def airflow_conn(**fields):
    """Something shaped like an Airflow connection (what the tasks get from Airflow)."""
    extra = fields.pop("extra", {})
    base = dict(conn_id="c", conn_type=None, host=None, port=None, login=None, password=None)
    return SimpleNamespace(**{**base, "schema": None, **fields}, extra_dejson=extra)


# -- windows -------------------------------------------------------------------------------------
def test_the_window_is_the_interval_with_the_look_back_in_local_time() -> None:
    # Airflow hands the interval over in UTC.
    start, end = datetime(2019, 2, 28, 18, tzinfo=UTC), datetime(2019, 3, 1, 18, tzinfo=UTC)
    window = sync_window(start, end, TWO_HOURS)
    assert (window.start, window.end) == (local(2019, 2, 28, 23), local(2019, 3, 2, 1))
    assert window.start.tzinfo is LOCAL_TZ and window.end.tzinfo is LOCAL_TZ


def test_params_replace_the_interval_as_given() -> None:
    start, end = local(2019, 3, 1, 1), local(2019, 3, 2, 1)
    window = sync_window(start, end, TWO_HOURS, since="2018-10-01", until="2019-07-01T00:00+07:00")
    assert (window.start, window.end) == (local(2018, 10, 1), local(2019, 7, 1))
    # One end alone replaces only that end; the look-back applies to the interval's start only.
    assert sync_window(start, end, TWO_HOURS, since="2019-02-01").start == local(2019, 2, 1)
    assert sync_window(start, end, TWO_HOURS, until="2019-03-05").end == local(2019, 3, 5)


def test_a_run_without_interval_needs_both_params() -> None:
    assert sync_window(None, None, TWO_HOURS, since="2019-01-01", until="2019-01-02").end == (
        local(2019, 1, 2)
    )
    with pytest.raises(WindowError, match="since and until"):
        sync_window(None, None, TWO_HOURS, since="2019-01-01")


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [("yesterday", None, "not an ISO date"), ("2019-03-05", "2019-03-01", "before end")],
)
def test_bad_params_are_a_window_error(since, until, message) -> None:
    with pytest.raises(WindowError, match=message):
        sync_window(local(2019, 3, 1, 1), local(2019, 3, 2, 1), TWO_HOURS, since=since, until=until)


def test_the_audit_names_the_airflow_run_task_and_try() -> None:
    assert orchestration.batch_run_id("sync_one_stop", "manual__x", "load", 3) == (
        "sync_one_stop/manual__x/load/try3"
    )


# -- stores and connections ----------------------------------------------------------------------
def test_stores_default_to_folders_in_the_var_dir(tmp_path) -> None:
    env = {"LIENTHONG_VAR_DIR": str(tmp_path)}
    assert orchestration.landing_url(env) == (tmp_path / "landing").as_uri()
    assert orchestration.reports_url(env) == (tmp_path / "reports").as_uri()
    env |= {"LIENTHONG_LANDING_URL": "s3://bucket/landing", "LIENTHONG_REPORTS_URL": "memory://r"}
    assert orchestration.landing_url(env) == "s3://bucket/landing"
    assert orchestration.reports_url(env) == "memory://r"


def test_the_warehouse_variable_wins_then_the_connection_then_the_default() -> None:
    pg = airflow_conn(
        conn_type="postgres",
        host="warehouse",
        port=5432,
        login="lt",
        password="p@ss/word",
        schema="lienthong",
        extra={"sslmode": "require"},
    )

    def settings(environ, conn):
        return orchestration.task_settings(lambda conn_id: conn, environ).warehouse_url

    assert settings({"LIENTHONG_WAREHOUSE_URL": "sqlite:///w.db"}, pg) == "sqlite:///w.db"
    assert settings({}, pg) == (
        "postgresql+psycopg://lt:p%40ss%2Fword@warehouse:5432/lienthong?sslmode=require"
    )
    assert settings({}, None) == DEFAULT_WAREHOUSE_URL


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        ({"conn_type": "sqlite", "host": "/data/warehouse.db"}, "sqlite:////data/warehouse.db"),
        ({"conn_type": "sqlite", "schema": "/data/warehouse.db"}, "sqlite:////data/warehouse.db"),
        ({"conn_type": "postgresql", "host": "db"}, "postgresql+psycopg://db"),
    ],
)
def test_warehouse_urls_from_connections(fields, url) -> None:
    assert orchestration.warehouse_url_from_connection(airflow_conn(**fields)) == url


def test_a_warehouse_connection_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="postgres or sqlite"):
        orchestration.warehouse_url_from_connection(airflow_conn(conn_type="http", host="x"))


def test_a_source_connection_keeps_every_field(monkeypatch) -> None:
    uri = "http://demo:s%40cret@motcua.example.vn:8443/api?protocol=https&dstcode=000.00.01.H22"
    monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", uri)
    expected = get_connection("lienthong_one_stop")
    converted = orchestration.source_connection(
        airflow_conn(
            conn_id="lienthong_one_stop",
            conn_type="http",
            host="motcua.example.vn",
            port=8443,
            login="demo",
            password="s@cret",
            schema="api",
            extra={"protocol": "https", "dstcode": "000.00.01.H22"},
        )
    )
    assert converted == expected
    assert (
        converted.password == "s@cret"
        and converted.base_url == "https://motcua.example.vn:8443/api"
    )


# -- audit ---------------------------------------------------------------------------------------
def test_the_audit_rows_of_a_failed_try_are_logged(sqlite_engine, caplog) -> None:
    run_id = orchestration.batch_run_id("sync_one_stop", "manual__1", "load", 2)
    window = (local(2019, 3, 1), local(2019, 3, 2))
    with (
        pytest.raises(RuntimeError),
        Batch(sqlite_engine, source="one_stop", stream="dossiers", window=window, run_id=run_id),
    ):
        raise RuntimeError("disk full")
    with Batch(sqlite_engine, source="one_stop", stream="dossiers", run_id="another run"):
        pass
    settings = SimpleNamespace(warehouse_url=sqlite_engine.url.render_as_string())
    with caplog.at_level("WARNING", logger="lienthong.orchestration"):
        lines = orchestration.log_audit(run_id, lambda: settings)
    assert len(lines) == 1 and lines[0] in caplog.text
    assert "one_stop.dossiers [2019-03-01T00:00:00+07:00, 2019-03-02T00:00:00+07:00)" in lines[0]
    assert "outcome=failed" in lines[0] and "error=RuntimeError: disk full" in lines[0]


def test_an_unreadable_audit_is_reported_not_raised(tmp_path, caplog) -> None:
    # The callback runs after a failure that may be the warehouse's own: it must not add another.
    settings = SimpleNamespace(warehouse_url=f"sqlite:///{tmp_path}/x/warehouse.db")
    (tmp_path / "x").write_text("a file where the database's folder should be")
    with caplog.at_level("WARNING", logger="lienthong.orchestration"):
        assert orchestration.log_audit("some/run/load/try1", lambda: settings) == []
    assert "could not read the load audit of some/run/load/try1" in caplog.text


# -- reports -------------------------------------------------------------------------------------
def test_the_report_date_is_the_last_day_fully_synced() -> None:
    events = [
        {"window_end": "2019-03-02T01:00:00+07:00"},
        {"window_end": "2019-07-01T00:00:00+07:00"},
    ]
    assert orchestration.report_date(None, events, None) == date(2019, 6, 30)
    assert orchestration.report_date("2019-03-31", events, None) == date(2019, 3, 31)
    # A run with no event (triggered by hand) uses its own interval's end.
    assert orchestration.report_date(None, [], datetime(2019, 4, 1, 18, tzinfo=UTC)) == (
        date(2019, 4, 1)
    )
    with pytest.raises(WindowError, match="as_of"):
        orchestration.report_date(None, [], None)


@pytest.mark.parametrize(
    ("as_of", "starts"),
    [
        (date(2019, 6, 30), [date(2019, 6, 1), date(2019, 4, 1), date(2019, 1, 1)]),
        (date(2019, 1, 1), [date(2019, 1, 1)] * 3),
        (date(2019, 11, 15), [date(2019, 11, 1), date(2019, 10, 1), date(2019, 1, 1)]),
    ],
)
def test_running_periods_are_month_quarter_and_year_to_date(as_of, starts) -> None:
    periods = orchestration.running_periods(as_of)
    assert [name for name, _ in periods] == ["month", "quarter", "year"]
    assert [p.start for _, p in periods] == starts
    assert {p.end for _, p in periods} == {as_of}


def test_reports_are_written_to_any_store(sqlite_engine) -> None:
    synced_to(sqlite_engine, date(2019, 6, 30))
    store = UPath("memory://lienthong-test/reports")
    written = orchestration.refresh_reports(sqlite_engine, date(2019, 6, 30), store)
    assert sorted(p.name for p in written) == sorted(
        f"{name}_{start}_2019-06-30.xlsx"
        for name in ("phu-luc-01", "satisfaction")
        for start in ("2019-06-01", "2019-04-01", "2019-01-01")
    )
    with (store / "phu-luc-01_2019-04-01_2019-06-30.xlsx").open("rb") as f:
        sheet = load_workbook(f).active
    cells = [c.value for row in sheet.iter_rows(max_row=8) for c in row if c.value]
    assert any("01/04/2019" in str(v) and "30/06/2019" in str(v) for v in cells)


def test_the_dag_reports_never_count_past_the_synced_data(sqlite_engine) -> None:
    # One source's load triggered the run for 30 June; another is synced to 20 June only, a
    # third never: the reports are as of 20 June and their forms say what lags.
    synced_to(sqlite_engine, date(2019, 6, 30), ["one_stop", "business_registration"])
    synced_to(sqlite_engine, date(2019, 6, 20), ["driving_licence"])
    store = UPath("memory://lienthong-test/lagging")
    written = orchestration.refresh_reports(sqlite_engine, date(2019, 6, 30), store)
    assert {p.name.rsplit("_", 1)[1] for p in written} == {"2019-06-20.xlsx"}
    with (store / "phu-luc-01_2019-06-01_2019-06-20.xlsx").open("rb") as f:
        cells = [c.value for row in load_workbook(f).active.iter_rows(max_row=8) for c in row]
    line = next(v for v in cells if isinstance(v, str) and v.startswith("Số liệu đến hết ngày"))
    assert "20/06/2019" in line and "criminal_record chưa đồng bộ" in line


def test_the_dag_opens_the_warehouse_without_creating_or_migrating_it(tmp_path) -> None:
    from warehouse.db import WarehouseNotReady

    missing = tmp_path / "typo" / "warehouse.db"
    settings = SimpleNamespace(warehouse_url=f"sqlite:///{missing}")
    with pytest.raises(WarehouseNotReady, match="lienthong migrate"):
        orchestration.open_warehouse(lambda: settings)
    assert not missing.parent.exists()


# -- one way to find the warehouse ---------------------------------------------------------
PG_URI = "postgresql://lt:p%40ss%2Fword@warehouse:5432/lienthong?sslmode=require"
PG_URL = "postgresql+psycopg://lt:p%40ss%2Fword@warehouse:5432/lienthong?sslmode=require"
PG_JSON = (
    '{"conn_type": "postgres", "host": "warehouse", "port": 5432, "login": "lt", '
    '"password": "p@ss/word", "schema": "lienthong", "extra": {"sslmode": "require"}}'
)


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        (
            {
                "LIENTHONG_WAREHOUSE_URL": "sqlite:///w.db",
                "AIRFLOW_CONN_LIENTHONG_WAREHOUSE": PG_URI,
            },
            "sqlite:///w.db",
        ),  # noqa: E501
        ({"AIRFLOW_CONN_LIENTHONG_WAREHOUSE": PG_URI}, PG_URL),
        ({"AIRFLOW_CONN_LIENTHONG_WAREHOUSE": PG_JSON}, PG_URL),
        ({"AIRFLOW_CONN_LIENTHONG_WAREHOUSE": "sqlite:////data/w.db"}, "sqlite:////data/w.db"),
        (
            {"AIRFLOW_CONN_LIENTHONG_WAREHOUSE": '{"conn_type": "sqlite", "host": "/data/w.db"}'},
            "sqlite:////data/w.db",
        ),  # noqa: E501
        ({}, DEFAULT_WAREHOUSE_URL),
    ],
)
def test_the_cli_and_the_dags_find_the_warehouse_in_one_order(environ, url) -> None:
    from lienthong import settings

    from_airflow = airflow_conn(conn_type="sqlite", host="/metadata-db/w.db")
    assert settings.load(environ).warehouse_url == url
    # A task sees the same, and looks in Airflow's own connections only where the CLI would
    # fall back to the default.
    expected = "sqlite:////metadata-db/w.db" if url == DEFAULT_WAREHOUSE_URL else url
    assert orchestration.task_settings(lambda conn_id: from_airflow, environ).warehouse_url == (
        expected
    )
    assert orchestration.task_settings(lambda conn_id: None, environ).warehouse_url == url


def test_a_malformed_warehouse_connection_is_a_clear_error() -> None:
    from connectors.connection import ConnectionNotConfigured
    from lienthong import settings

    with pytest.raises(ConnectionNotConfigured, match="AIRFLOW_CONN_LIENTHONG_WAREHOUSE"):
        settings.load({"AIRFLOW_CONN_LIENTHONG_WAREHOUSE": '{"conn_type": "postgres", "pwd": 1}'})
    with pytest.raises(ValueError, match="postgres or sqlite"):
        settings.load({"AIRFLOW_CONN_LIENTHONG_WAREHOUSE": "http://host/db"})
