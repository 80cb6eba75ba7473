"""The DAGs run end to end with `dag.test()` against the stand-ins over HTTP: the warehouse equals a
direct `lienthong.pipeline.sync` of the same window; a failed load leaves `failed` audit rows and
re-running only `load` replays the landing store without calling the source; reports are written.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from lienthong import orchestration
from lienthong.pipeline import sync
from lienthong.registry import SOURCES
from lienthong.settings import load as load_settings
from mappings.common import LOCAL_TZ
from simulators.standins import stand_in_connection, stand_in_uri
from tests.dags.conftest import DAGS_FOLDER, audit, refuse_dossiers
from tests.helpers import warehouse_digest
from warehouse import schema
from warehouse.db import make_engine, upgrade

SINCE, UNTIL = "2018-10-01T00:00:00+07:00", "2019-07-01T00:00:00+07:00"
# A night in the stand-ins' half year: the run at 01:00 on 2 March covers 1 March.
NIGHT = datetime(2019, 3, 2, 1, tzinfo=LOCAL_TZ)
PERIOD = (date(2018, 10, 1), date(2019, 6, 30))
# What clearing `load` does: extract stays as it was, load runs again from the landing store.
LOAD_ONLY = {"mark_success_pattern": "extract"}


@pytest.fixture
def env(stand_in, airflow_db, tmp_path, monkeypatch):
    """Every source's connection on the stand-ins; warehouse, landing and reports in tmp_path."""
    for key, source in SOURCES.items():
        monkeypatch.setenv(source.env_var, stand_in_uri(stand_in.base_url, key))
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    monkeypatch.setenv("LIENTHONG_LANDING_URL", (tmp_path / "landing").as_uri())
    monkeypatch.setenv("LIENTHONG_REPORTS_URL", (tmp_path / "reports").as_uri())
    return tmp_path


def staged_engine(tmp_path):
    return make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")


def direct_digest(stand_in, tmp_path, key: str, window) -> dict[str, str]:
    """The warehouse a plain `sync` of the window makes, for comparison."""
    engine = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    upgrade(engine)
    sync(
        key,
        load_settings(),
        since=window.start,
        until=window.end,
        engine=engine,
        connection=stand_in_connection(stand_in.base_url, key),
    )
    return warehouse_digest(engine)


def stored(engine, table) -> dict[str, object]:
    """source_id -> amount of payments, or -> reason of quarantined records."""
    value = table.c.amount if "amount" in table.c else table.c.reason
    with engine.connect() as conn:
        return dict(conn.execute(select(table.c.source_id, value)).all())


def run(dag_id: str, **kwargs):
    """`dag.test()` on a freshly parsed DAG: a run's conf stays behind in the Param objects of the
    tasks it ran, which a real worker never reuses (it parses the DAG file for every task)."""
    from airflow.dag_processing.dagbag import DagBag

    dag_run = DagBag(dag_folder=str(DAGS_FOLDER)).dags[dag_id].test(**kwargs)
    return dag_run, dag_run.get_task_instances()


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_a_manual_window_equals_a_direct_sync(env, stand_in, key) -> None:
    dag_run, tis = run(f"sync_{key}", logical_date=NIGHT, run_conf={"since": SINCE, "until": UNTIL})
    assert dag_run.state == "success", [(ti.task_id, ti.state) for ti in tis]
    window = orchestration.sync_window(None, None, SOURCES[key].lookback, since=SINCE, until=UNTIL)
    staged = staged_engine(env)
    assert warehouse_digest(staged) == direct_digest(stand_in, env, key, window)
    assert {r.run_id for r in audit(staged)} == {f"sync_{key}/{dag_run.run_id}/load/try1"}


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_a_night_syncs_its_interval_with_the_look_back(env, stand_in, key) -> None:
    dag_run, _ = run(f"sync_{key}", logical_date=NIGHT)
    assert dag_run.state == "success"
    window = orchestration.sync_window(
        dag_run.data_interval_start, dag_run.data_interval_end, SOURCES[key].lookback
    )
    # The run at 01:00 on 2 March covers 1 March from 01:00, and the source's look-back before.
    night_start = datetime(2019, 3, 1, 1, tzinfo=LOCAL_TZ)
    assert (window.start, window.end) == (night_start - SOURCES[key].lookback, NIGHT)
    staged = staged_engine(env)
    # Every windowed stream was loaded over that window (catalogues have none).
    windows = {(r.window_start, r.window_end) for r in audit(staged) if r.window_end}
    assert windows == {(window.start, window.end)}
    assert warehouse_digest(staged) == direct_digest(stand_in, env, key, window)


def test_a_failed_load_is_audited_and_a_replay_of_load_alone_fixes_it(env, stand_in):
    staged = staged_engine(env)
    upgrade(staged)
    refuse_dossiers(staged)
    conf = {"since": SINCE, "until": UNTIL}
    failed, tis = run("sync_one_stop", logical_date=NIGHT, run_conf=conf)
    assert failed.state == "failed"
    assert {ti.task_id: (ti.state, ti.try_number) for ti in tis} == {
        "extract": ("success", 1),
        "load": ("failed", 3),  # retried twice, with backoff
    }
    rows = audit(staged, stream="dossiers")
    assert [(r.run_id.rsplit("/", 1)[1], r.outcome) for r in rows] == [
        ("try1", "failed"),
        ("try2", "failed"),
        ("try3", "failed"),
    ]
    assert all("warehouse refuses writes" in r.error for r in rows)

    refuse_dossiers(staged, False)  # the operator fixes the warehouse
    calls = stand_in.requests
    # What clearing `load` does: extract stays as it was, load runs again from the landing store.
    replayed, _ = run(
        "sync_one_stop", logical_date=NIGHT, run_conf=conf, mark_success_pattern="extract"
    )
    assert replayed.state == "success"
    assert stand_in.requests == calls
    window = orchestration.sync_window(None, None, SOURCES["one_stop"].lookback, **conf)
    assert warehouse_digest(staged) == direct_digest(stand_in, env, "one_stop", window)


def test_the_reports_dag_writes_the_running_periods(env, stand_in) -> None:
    conf = {"since": SINCE, "until": UNTIL}
    assert run("sync_one_stop", logical_date=NIGHT, run_conf=conf)[0].state == "success"
    dag_run, _ = run("build_reports", run_conf={"as_of": "2019-06-30"})
    assert dag_run.state == "success"
    assert sorted(p.name for p in (env / "reports").iterdir()) == sorted(
        f"{name}_{start}_2019-06-30.xlsx"
        for name in ("phu-luc-01", "satisfaction")
        for start in ("2019-01-01", "2019-04-01", "2019-06-01")
    )


def test_the_reports_dag_neither_creates_nor_migrates_a_warehouse(env, monkeypatch) -> None:
    missing = env / "typo" / "warehouse.db"
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{missing}")
    dag_run, tis = run("build_reports", run_conf={"as_of": "2019-06-30"})
    assert dag_run.state == "failed" and not missing.parent.exists()
    assert not (env / "reports").exists()


def test_a_missing_connection_fails_at_once_without_retries(env, monkeypatch) -> None:
    monkeypatch.delenv(SOURCES["one_stop"].env_var)
    dag_run, tis = run("sync_one_stop", logical_date=NIGHT, run_conf={"since": SINCE})
    assert dag_run.state == "failed"
    assert {ti.task_id: (ti.state, ti.try_number) for ti in tis} == {
        "extract": ("failed", 1),  # a retry cannot conjure a connection: no backoff, no wait
        "load": ("upstream_failed", 0),
    }


def test_a_payment_forged_in_the_landing_store_never_loads_through_the_dag(env, stand_in):
    """The production path, extract -> load under Airflow: a payment appended to a landed page
    with a zero signature, the old verdict and the page's plain SHA-256 recomputed fails `load`
    at once (not retried), audited; re-authenticated with the landing key by an insider, it
    loads only into quarantine. The reconciliation never counts it as paid."""
    from upath import UPath

    from lienthong import landing
    from tests.landing_forgery import FORGED_ID, forge_payment, read_manifest, write_manifest
    from warehouse.reconciliation import reconcile
    from warehouse.reports.fees import fees

    conf = {"since": SINCE, "until": UNTIL}
    first, _ = run("sync_vietinbank", logical_date=NIGHT, run_conf=conf)
    assert first.state == "success"
    staged = staged_engine(env)
    genuine, collected = stored(staged, schema.payments), fees(staged, *PERIOD).total.collected
    assert genuine and FORGED_ID not in genuine
    window = orchestration.sync_window(None, None, SOURCES["vietinbank"].lookback, **conf)
    root = UPath(env / "landing")
    forge_payment(root, window, "000.00.12.H22-190102-0001")
    calls = stand_in.requests

    forged, tis = run("sync_vietinbank", logical_date=NIGHT, run_conf=conf, **LOAD_ONLY)
    assert forged.state == "failed"
    assert {ti.task_id: (ti.state, ti.try_number) for ti in tis} == {
        "extract": ("success", 1),
        "load": ("failed", 1),  # tampering is not something a retry fixes
    }
    last = audit(staged, "sync_vietinbank/%")[-1]
    assert (last.stream, last.outcome) == ("transactions", "failed")
    assert "LandingIntegrityError" in last.error and "does not verify" in last.error
    assert stored(staged, schema.payments) == genuine

    # An insider who also holds LIENTHONG_LANDING_KEY: the pages verify, the payment does not.
    manifest = read_manifest(root, window)
    manifest["mac"] = landing.manifest_mac(landing.landing_key(), manifest)
    write_manifest(root, window, manifest)
    insider, _ = run("sync_vietinbank", logical_date=NIGHT, run_conf=conf, **LOAD_ONLY)
    assert insider.state == "success"
    assert stored(staged, schema.payments) == genuine
    assert "forged signature" in stored(staged, schema.rejected_records)[FORGED_ID]
    assert fees(staged, *PERIOD).total.collected == collected
    findings = reconcile(staged, *PERIOD, as_of=PERIOD[1]).findings
    assert {f.cls for f in findings if f.transaction_id == FORGED_ID} == {"bad_signature"}
    assert stand_in.requests == calls  # load alone: the gateway was not called again
