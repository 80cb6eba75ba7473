"""A real Airflow (scheduler, dag-processor, API server) runs the project's DAGs on the stand-ins.

What an operator does, through the public REST API: trigger `sync_one_stop` over the stand-in's
data while the warehouse refuses writes, see `load` fail (audited `failed`), fix the warehouse,
clear the failed task as the UI's Clear does, and get a run that succeeded without fetching again
and a warehouse equal to a clean sync. Then the reports follow from the asset event, and a
two-night `airflow backfill create` runs one window per night.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from lienthong import orchestration
from lienthong.pipeline import sync
from lienthong.registry import SOURCES
from lienthong.settings import load as load_settings
from simulators.server import serve
from simulators.standins import stand_in_connection, stand_in_uri, stand_ins
from tests.dags.conftest import SEED, audit, refuse_dossiers
from tests.dags.local_airflow import RUN_TIMEOUT, STARTUP_TIMEOUT, LocalAirflow
from tests.helpers import warehouse_digest
from warehouse.db import make_engine, upgrade

pytestmark = pytest.mark.slow

DAG_ID = "sync_one_stop"
RUN_ID = "operator-test"
SINCE, UNTIL = "2018-10-01T00:00:00+07:00", "2019-07-01T00:00:00+07:00"


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, stand_in) -> Iterator[LocalAirflow]:
    home = tmp_path_factory.mktemp("airflow-scheduler")
    settings = {
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # Only the runs the tests ask for: no nightly run of today's interval.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": orchestration.TIMEZONE,
        "LIENTHONG_PSEUDONYM_KEY": os.environ["LIENTHONG_PSEUDONYM_KEY"],
        "LIENTHONG_LANDING_KEY": os.environ["LIENTHONG_LANDING_KEY"],
        "LIENTHONG_VAR_DIR": str(home / "var"),
        # The warehouse through its Airflow connection, as docker-compose configures it.
        "AIRFLOW_CONN_LIENTHONG_WAREHOUSE": f"sqlite:///{home / 'warehouse.db'}",
        # Every stream counts as big: a window past the mapping worker's threshold (a manual
        # window, a backfill) must load inside the task runner too (lienthong/mapper.py).
        "LIENTHONG_MAP_WORKER_FROM": "0",
    }
    for key, source in SOURCES.items():
        settings[source.env_var] = stand_in_uri(stand_in.base_url, key)
    server = LocalAirflow.create(home, settings)
    try:
        server.start()
        server.wait("Airflow to be healthy", server.healthy, STARTUP_TIMEOUT)
        server.wait("the DAGs to be parsed", lambda: _dags_ready(server), STARTUP_TIMEOUT)
        yield server
    finally:
        server.stop()


def _dags_ready(server: LocalAirflow) -> bool:
    assert server.api("GET", "/importErrors")["import_errors"] == []
    dags = server.api("GET", "/dags")["dags"]
    return {d["dag_id"] for d in dags} == {f"sync_{key}" for key in SOURCES} | {"build_reports"}


@pytest.fixture(scope="module")
def warehouse(airflow):
    engine = make_engine(f"sqlite:///{airflow.home / 'warehouse.db'}")
    upgrade(engine)
    return engine


def clean_digest(tmp_path) -> dict[str, str]:
    """A direct sync of the same window from a stand-in of its own (the counter stays exact)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    upgrade(engine)
    window = orchestration.sync_window(
        None, None, SOURCES["one_stop"].lookback, since=SINCE, until=UNTIL
    )
    with serve(stand_ins(scenario="small", seed=SEED)) as base_url:
        sync(
            "one_stop",
            load_settings(),
            since=window.start,
            until=window.end,
            engine=engine,
            connection=stand_in_connection(base_url, "one_stop"),
        )
    return warehouse_digest(engine)


def test_an_operator_clears_a_failed_load_and_gets_neither_duplicates_nor_gaps(
    airflow, warehouse, stand_in, tmp_path
) -> None:
    refuse_dossiers(warehouse)
    airflow.api(
        "POST",
        f"/dags/{DAG_ID}/dagRuns",
        json={
            "dag_run_id": RUN_ID,
            "logical_date": UNTIL,
            # The night's interval is the window; the look-back comes on top of it.
            "data_interval_start": (
                orchestration.parse_instant(SINCE) + SOURCES["one_stop"].lookback
            ).isoformat(),
            "data_interval_end": UNTIL,
        },
    )
    assert airflow.wait_run(DAG_ID, RUN_ID) == "failed"
    assert airflow.task_instances(DAG_ID, RUN_ID) == {
        "extract": ("success", 1),
        "load": ("failed", 3),  # two retries with backoff, then failed
    }
    failed = audit(warehouse, f"{DAG_ID}/{RUN_ID}/load/%", "dossiers")
    assert [(r.run_id.rsplit("/", 1)[1], r.outcome) for r in failed] == [
        ("try1", "failed"),
        ("try2", "failed"),
        ("try3", "failed"),
    ]
    assert "warehouse refuses writes" in failed[-1].error
    # The failure callback put the audit row in the task's log, where the operator looks.
    log = airflow.api(
        "GET",
        f"/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances/load/logs/3",
        params={"full_content": "true"},
    )
    assert "one_stop.dossiers [2018-10-01T00:00:00+07:00" in json.dumps(log, ensure_ascii=False)

    fetched = stand_in.requests
    refuse_dossiers(warehouse, False)  # the operator fixes the warehouse ...
    # ... and clears the failed task as the UI's Clear does: this run, failed tasks only.
    clear = {
        "dag_run_id": RUN_ID,
        "task_ids": ["load"],
        "only_failed": True,
        "include_upstream": False,
        "include_downstream": True,
        "include_future": False,
        "include_past": False,
    }
    preview = airflow.api(
        "POST", f"/dags/{DAG_ID}/clearTaskInstances", json=clear | {"dry_run": True}
    )
    assert [t["task_id"] for t in preview["task_instances"]] == ["load"]
    airflow.api("POST", f"/dags/{DAG_ID}/clearTaskInstances", json=clear | {"dry_run": False})

    assert airflow.wait_run(DAG_ID, RUN_ID) == "success"
    assert airflow.task_instances(DAG_ID, RUN_ID) == {
        "extract": ("success", 1),  # not run again ...
        "load": ("success", 4),
    }
    assert stand_in.requests == fetched  # ... and the source was not called: the archive was
    log = airflow.api(
        "GET",
        f"/dags/{DAG_ID}/dagRuns/{RUN_ID}/taskInstances/load/logs/4",
        params={"full_content": "true"},
    )
    assert "mapping worker unavailable" not in json.dumps(log)  # mapped in the task's process
    replayed = audit(warehouse, f"{DAG_ID}/{RUN_ID}/load/try4")
    assert {(r.stream, r.outcome) for r in replayed} == {
        (stream.name, "succeeded") for stream in SOURCES["one_stop"].streams
    }
    assert warehouse_digest(warehouse) == clean_digest(tmp_path)

    # The successful load told Airflow which window the warehouse now holds.
    events = airflow.api(
        "GET", "/assets/events", params={"source_dag_id": DAG_ID, "source_run_id": RUN_ID}
    )
    assert [e["extra"]["window_end"] for e in events["asset_events"]] == [UNTIL]
    assert [e["uri"] for e in events["asset_events"]] == [orchestration.asset_uri("one_stop")]


def test_a_backfill_runs_each_night_with_its_own_window(airflow, warehouse) -> None:
    subprocess.run(
        [
            "airflow",
            "backfill",
            "create",
            "--dag-id",
            DAG_ID,
            "--max-active-runs",
            "1",
            "--from-date",
            "2019-03-01T01:00:00+07:00",
            "--to-date",
            "2019-03-02T01:00:00+07:00",
        ],
        env=airflow.env,
        cwd=airflow.home,
        check=True,
        timeout=120,
        capture_output=True,
    )

    def backfilled():
        runs = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"run_type": "backfill"})
        states = [r["state"] for r in runs["dag_runs"]]
        return len(states) == 2 and all(s in ("success", "failed") for s in states) and runs

    runs = airflow.wait("the backfill's two runs", backfilled, 2 * RUN_TIMEOUT)["dag_runs"]
    assert {r["state"] for r in runs} == {"success"}
    windows = set()
    for run in runs:
        rows = audit(warehouse, f"{DAG_ID}/{run['dag_run_id']}/load/try1", "dossiers")
        assert [r.outcome for r in rows] == ["succeeded"]
        windows.add((rows[0].window_start, rows[0].window_end))
    local = orchestration.parse_instant
    assert windows == {
        (local("2019-02-28T23:00"), local("2019-03-02T01:00")),
        (local("2019-03-01T23:00"), local("2019-03-03T01:00")),
    }


def test_a_load_event_starts_the_reports_of_its_period(airflow) -> None:
    # An event as a load of one_stop emits it (the first test checks that the load does). It
    # waits in build_reports' queue, with any event the tests before emitted: so far the
    # scheduler created only the runs asked for.
    asset = airflow.api("GET", "/assets", params={"uri_pattern": "one_stop"})["assets"][0]
    airflow.api(
        "POST",
        "/assets/events",
        json={"asset_id": asset["id"], "extra": {"source": "one_stop", "window_end": UNTIL}},
    )
    # Now the scheduler creates runs on its own; the sync DAGs are paused first so that only the
    # reports start, in one run for every queued event.
    airflow.api("PATCH", "/dags", params={"dag_id_pattern": "sync_%"}, json={"is_paused": True})
    airflow.restart_scheduler(AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="True")

    def reports_built():
        runs = airflow.api("GET", "/dags/build_reports/dagRuns")["dag_runs"]
        return len(runs) == 1 and runs[0]["state"] in ("success", "failed") and runs[0]

    run = airflow.wait("build_reports to run", reports_built)
    assert (run["state"], run["run_type"]) == ("success", "asset_triggered")
    # The period comes from the event: the window ended on 1 July, the last full day is 30 June.
    assert sorted(p.name for p in (airflow.home / "var" / "reports").iterdir()) == sorted(
        f"{name}_{start}_2019-06-30.xlsx"
        for name in ("phu-luc-01", "satisfaction")
        for start in ("2019-01-01", "2019-04-01", "2019-06-01")
    )
