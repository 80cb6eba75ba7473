"""One nightly DAG per source of lienthong.registry: `extract` to the landing store, then `load`.

Wiring only; the sync itself is lienthong.pipeline, the same code as `lienthong extract/load`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import (
    Asset,
    CronDataIntervalTimetable,
    ExceptionRetryPolicy,
    ObjectStoragePath,
    Param,
    RetryAction,
    RetryRule,
    dag,
    task,
)

from connectors.base import Window
from lienthong import orchestration
from lienthong.registry import SOURCES, Source

TIMEZONE = orchestration.TIMEZONE

# Retrying cannot fix a wrong setting, credential or Param: fail at once so the operator hears
# about it tonight, not after the backoff. Everything else (network, 5xx, a busy database) retries.
NOT_RETRYABLE = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=[
                "lienthong.settings.SettingsError",
                "lienthong.orchestration.WindowError",
                "connectors.connection.ConnectionNotConfigured",
                "connectors.errors.AuthError",
                "lienthong.landing.LandingError",
            ],
            action=RetryAction.FAIL,
            reason="configuration or input error: fix it, then clear the task",
        )
    ]
)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "lienthong",
    # The base delay is Airflow's [core] default_task_retry_delay (5 minutes unless configured),
    # doubled on each retry.
    "retries": 2,
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(hours=1),
    "retry_policy": NOT_RETRYABLE,
    # A hung source must not hold the DAG's only active run through the next night.
    "execution_timeout": timedelta(hours=3),
}


def _params() -> dict[str, Param]:
    # Fresh objects for each DAG: a Param holds the value a run gave it.
    return {
        "since": Param(
            None,
            type=["null", "string"],
            title="Window start",
            description="ISO date or date-time (local time without a zone); replaces the data "
            "interval's start. Leave empty for the scheduled window.",
        ),
        "until": Param(
            None,
            type=["null", "string"],
            title="Window end (exclusive)",
            description="ISO date or date-time; replaces the data interval's end.",
        ),
    }


def _window(source: Source, context: dict[str, Any]) -> Window:
    params = context["params"]
    return orchestration.sync_window(
        context.get("data_interval_start"),
        context.get("data_interval_end"),
        source.lookback,
        since=params.get("since"),
        until=params.get("until"),
    )


def _run_id(context: dict[str, Any]) -> str:
    ti = context["ti"]
    return orchestration.batch_run_id(ti.dag_id, ti.run_id, ti.task_id, ti.try_number)


def log_failed_batches(context: dict[str, Any]) -> None:
    """Show the operator the audit rows of the failed try, next to its traceback."""
    orchestration.log_audit(_run_id(context))


def build(source: Source) -> None:
    asset = Asset(orchestration.asset_uri(source.key))

    @dag(
        dag_id=f"sync_{source.key}",
        description=f"{source.title}: extract to the landing store, load into the warehouse",
        # The data interval is the night's window: the run at 01:00 covers the 24 hours before.
        schedule=CronDataIntervalTimetable(orchestration.SYNC_CRON, timezone=TIMEZONE),
        start_date=datetime(2018, 10, 1, tzinfo=orchestration.LOCAL_TZ),
        # Missed nights are re-run on purpose with `airflow backfill create` (docs/operations.md),
        # not by turning a DAG on: that would start years of runs.
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params=_params(),
        tags=["lienthong", "sync", source.protocol.lower(), source.key],
        doc_md=(
            f"**{source.title}** ({source.protocol}, connection `{source.conn_id}`).\n\n"
            "`extract` lands the window's pages, `load` writes them to the warehouse from the "
            "landing store. Clear `load` to replay the archive (no call to the source); clear "
            "`extract` to fetch the window again. See docs/operations.md, "
            "'Re-running a failed load'."
        ),
    )
    def sync() -> None:
        @task
        def extract(**context: Any) -> dict[str, int]:
            """Fetch the window from the source into the landing store (replaces that window)."""
            from lienthong.pipeline import extract as extract_window
            from lienthong.settings import load as load_settings

            settings = load_settings()  # the keys; extract does not touch the warehouse
            conn = orchestration.airflow_connection(source.conn_id)
            hosts = settings.demo_plain_http_hosts
            manifest = extract_window(
                source.key,
                _window(source, context),
                settings,
                root=ObjectStoragePath(settings.landing_store_url()),
                # None: the pipeline's own lookup says which variable to set.
                connection=orchestration.source_connection(conn, hosts) if conn else None,
            )
            return {stream: info["records"] for stream, info in manifest["streams"].items()}

        @task(
            outlets=[asset],
            # Each failed try shows its audit rows in its own log, the last one included.
            on_retry_callback=log_failed_batches,
            on_failure_callback=log_failed_batches,
        )
        def load(**context: Any) -> list[str]:
            """Load the window from the landing store; the source is not called."""
            from lienthong.pipeline import load as load_window

            window = _window(source, context)
            # The connection's key verifies signed records here: extract's output is not trusted.
            conn = orchestration.airflow_connection(source.conn_id)
            settings = orchestration.task_settings()
            hosts = settings.demo_plain_http_hosts
            results = load_window(
                source.key,
                window,
                settings,
                root=ObjectStoragePath(settings.landing_store_url()),
                connection=orchestration.source_connection(conn, hosts) if conn else None,
                run_id=_run_id(context),
                # A task runner's child would re-run the `airflow` command that started it and
                # die there (lienthong/mapper.py): map in the task's own process.
                map_workers=0,
            )
            # The report DAG reads the period to refresh from this event.
            context["outlet_events"][asset].extra = {
                "source": source.key,
                "window_start": window.start.isoformat(),
                "window_end": window.end.isoformat(),
            }
            return [result.summary() for result in results]

        extract() >> load()

    sync()


for _source in SOURCES.values():
    build(_source)
