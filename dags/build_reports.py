"""Refresh the period reports whenever a source's load has updated the warehouse.

Scheduled on the assets the sync DAGs emit (any of them): Phụ lục 01 and satisfaction for the
running month, quarter and year, as xlsx in the report store. Wiring only; see
lienthong.orchestration.refresh_reports.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, AssetAny, ObjectStoragePath, Param, dag, task

from lienthong import orchestration
from lienthong.registry import SOURCES


@dag(
    dag_id="build_reports",
    description="Phụ lục 01 and satisfaction (month, quarter, year to date) as xlsx",
    schedule=AssetAny(*(Asset(orchestration.asset_uri(key)) for key in SOURCES)),
    start_date=datetime(2018, 10, 1, tzinfo=orchestration.LOCAL_TZ),
    catchup=False,
    # Each run rewrites the files from the whole warehouse: one at a time is enough.
    max_active_runs=1,
    default_args={
        "owner": "lienthong",
        "retries": 2,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(hours=1),
        "execution_timeout": timedelta(hours=1),
    },
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            title="Report date",
            description="YYYY-MM-DD: the last day the reports cover. Empty: the last day the "
            "triggering loads synced completely.",
        )
    },
    tags=["lienthong", "reports"],
    doc_md=__doc__,
)
def build_reports() -> None:
    @task
    def refresh(**context: Any) -> list[str]:
        events = context["triggering_asset_events"]
        as_of = orchestration.report_date(
            context["params"].get("as_of"),
            [event.extra for asset_events in events.values() for event in asset_events],
            context.get("data_interval_end") or context["dag_run"].run_after,
        )
        # A reading task: a missing, unmigrated or never-synced warehouse fails it with the fix
        # in its log; only the sync DAGs' loads create and migrate.
        engine = orchestration.open_warehouse()
        store = ObjectStoragePath(orchestration.reports_url())
        return [str(path) for path in orchestration.refresh_reports(engine, as_of, store)]

    refresh()


build_reports()
