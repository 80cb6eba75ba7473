"""The DAG files load cleanly, one sync DAG per registered source, with the schedule, retries,
assets and Params the operators rely on; and a scheduled run's window is the previous local day."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from connectors.base import LOCAL_TZ
from lienthong import orchestration
from lienthong.registry import SOURCES
from tests.dags.conftest import DAGS_FOLDER, ROOT

SYNC_DAGS = {f"sync_{key}": key for key in SOURCES}


def local(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=LOCAL_TZ)


def test_the_dag_files_import_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_every_registered_source_has_a_sync_dag_and_nothing_else_does(dagbag) -> None:
    assert set(dagbag.dag_ids) == set(SYNC_DAGS) | {"build_reports"}


@pytest.mark.parametrize("dag_id", sorted(SYNC_DAGS))
def test_a_sync_dag_is_extract_then_load_on_the_nightly_interval(dagbag, dag_id: str) -> None:
    from airflow.sdk import CronDataIntervalTimetable

    dag = dagbag.dags[dag_id]
    key = SYNC_DAGS[dag_id]
    assert {"lienthong", "sync", key} <= set(dag.tags)
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 1 * * *"
    assert str(dag.timetable.timezone) == "Asia/Ho_Chi_Minh"
    assert sorted(dag.task_ids) == ["extract", "load"]
    assert dag.get_task("load").upstream_task_ids == {"extract"}
    assert dag.params["since"] is None and dag.params["until"] is None


@pytest.mark.parametrize("dag_id", sorted(SYNC_DAGS) + ["build_reports"])
def test_every_task_has_an_owner_and_retries_with_backoff(dagbag, dag_id: str) -> None:
    for task in dagbag.dags[dag_id].tasks:
        assert task.owner == "lienthong", task
        assert task.retries >= 2, task
        assert task.retry_exponential_backoff > 1, task
        assert task.execution_timeout is not None, task


@pytest.mark.parametrize("dag_id", sorted(SYNC_DAGS))
def test_load_emits_the_source_asset_and_reports_its_failures(dagbag, dag_id: str) -> None:
    load = dagbag.dags[dag_id].get_task("load")
    assert [a.uri for a in load.outlets] == [orchestration.asset_uri(SYNC_DAGS[dag_id])]
    assert load.on_failure_callback and load.on_retry_callback
    # Configuration errors fail at once instead of waiting through the backoff.
    assert all(t.retry_policy is not None for t in dagbag.dags[dag_id].tasks)


def test_the_reports_are_scheduled_on_any_source_asset(dagbag) -> None:
    from airflow.sdk import AssetAny

    condition = dagbag.dags["build_reports"].timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert {a.uri for a in condition.objects} == {orchestration.asset_uri(k) for k in SOURCES}


def test_a_scheduled_run_covers_the_previous_local_day_plus_the_look_back(dagbag) -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = dagbag.dags["sync_one_stop"]
    timetable = coerce_to_core_timetable(dag.timetable)
    previous = DataInterval(local(2019, 2, 28, 1), local(2019, 3, 1, 1))
    info = timetable.next_dagrun_info(
        last_automated_data_interval=previous,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    # The run at 01:00 on 2 March covers 1 March 01:00 up to 2 March 01:00, local time ...
    assert info.run_after == local(2019, 3, 2, 1)
    assert (info.data_interval.start, info.data_interval.end) == (
        local(2019, 3, 1, 1),
        local(2019, 3, 2, 1),
    )
    # ... and syncs from the look-back before it.
    window = orchestration.sync_window(
        info.data_interval.start, info.data_interval.end, SOURCES["one_stop"].lookback
    )
    assert (window.start, window.end) == (local(2019, 3, 1, 1) - timedelta(hours=2), info.run_after)
    # A run triggered by hand at 05:30 gets the last complete night, not a zero-length interval.
    manual = timetable.infer_manual_data_interval(run_after=local(2019, 3, 2, 5, 30))
    assert (manual.start, manual.end) == (local(2019, 3, 1, 1), local(2019, 3, 2, 1))


def test_a_backfill_enumerates_one_run_per_night(dagbag) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    dag = DagSerialization.deserialize_dag(
        DagSerialization.serialize_dag(dagbag.dags["sync_one_stop"])
    )
    infos = list(dag.iter_dagrun_infos_between(local(2019, 3, 1), local(2019, 3, 3)))
    assert [(i.data_interval.start, i.data_interval.end) for i in infos] == [
        (local(2019, 3, 1, 1), local(2019, 3, 2, 1)),
        (local(2019, 3, 2, 1), local(2019, 3, 3, 1)),
    ]


# Parsing happens on every scheduler host every 30 seconds: it must need no secret, no
# connection and no network. A fresh interpreter, so nothing imported earlier hides a problem.
_PARSE_OFFLINE = """
import json, socket, sys

def refuse(*args, **kwargs):
    raise OSError("network access while parsing DAG files")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"errors": bag.import_errors, "dags": sorted(bag.dag_ids)}))
"""


def test_the_dags_parse_without_secrets_connections_or_network(airflow_home) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AIRFLOW_CONN_", "LIENTHONG_"))
    }
    result = subprocess.run(
        [sys.executable, "-c", _PARSE_OFFLINE, str(DAGS_FOLDER)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert parsed == {"errors": {}, "dags": sorted(set(SYNC_DAGS) | {"build_reports"})}
