"""What the Airflow DAGs need besides Airflow: sync windows, stores, connections, audit, reports.

The DAG files in `dags/` only wire these to Airflow. Everything here takes plain values (an
Airflow connection is read through its attributes), so it runs and is tested without Airflow;
the one function that calls Airflow imports it when called.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from connectors.base import LOCAL_TZ, Window
from connectors.connection import Connection
from lienthong import settings as lienthong_settings
from lienthong.settings import Settings
from lienthong.warehouse_url import WAREHOUSE_CONN_ID as WAREHOUSE_CONN_ID
from lienthong.warehouse_url import resolve_warehouse_url
from lienthong.warehouse_url import warehouse_url_from_connection as warehouse_url_from_connection
from warehouse.reports.periods import Period

log = logging.getLogger(__name__)

# The nightly schedule: data interval [01:00 yesterday, 01:00 today) local time.
SYNC_CRON = "0 1 * * *"
TIMEZONE = LOCAL_TZ.key  # Airflow's name of the zone (connectors.base defines it)


class WindowError(ValueError):
    """A run's window cannot be made (bad or missing Params): retrying will not fix it."""


# -- windows -------------------------------------------------------------------------------------
def parse_instant(text: str) -> datetime:
    """An ISO date or date-time; without a zone it is local time (as in the CLI)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise WindowError(f"not an ISO date or date-time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


def _local(instant: datetime) -> datetime:
    # Airflow hands out pendulum instants in UTC; the landing keys and logs read better in the
    # local zone, and a plain datetime keeps pendulum out of everything downstream.
    return datetime.fromisoformat(instant.isoformat()).astimezone(LOCAL_TZ)


def sync_window(
    interval_start: datetime | None,
    interval_end: datetime | None,
    lookback: timedelta,
    *,
    since: str | None = None,
    until: str | None = None,
) -> Window:
    """The window a run syncs: [interval start − lookback, interval end).

    The look-back overlaps the previous night's window, so a record committed late at the source
    (its update time inside the previous window) is not lost at the boundary; the loader's upsert
    makes the overlap harmless. `since` / `until` (the run's Params) replace either end as given.
    """
    start = parse_instant(since) if since else None
    end = parse_instant(until) if until else None
    if start is None and interval_start is not None:
        start = _local(interval_start) - lookback
    if end is None and interval_end is not None:
        end = _local(interval_end)
    if start is None or end is None:
        raise WindowError("this run has no data interval: give both the since and until params")
    try:
        return Window(_local(start), _local(end))
    except ValueError as exc:
        raise WindowError(str(exc)) from None


def batch_run_id(dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    """What the load audit records as its run: the Airflow run, task and try."""
    return f"{dag_id}/{run_id}/{task_id}/try{try_number}"


def asset_uri(source_key: str) -> str:
    """The Airflow asset a source's load updates (the reports are scheduled on these)."""
    return f"lienthong://warehouse/{source_key}"


# -- stores --------------------------------------------------------------------------------------
def landing_url(environ: Mapping[str, str] = os.environ) -> str:
    """LIENTHONG_LANDING_URL (any fsspec URL), else the folder `landing` in LIENTHONG_VAR_DIR."""
    return lienthong_settings.load(environ).landing_store_url()


def reports_url(environ: Mapping[str, str] = os.environ) -> str:
    """LIENTHONG_REPORTS_URL (any fsspec URL), else the folder `reports` in LIENTHONG_VAR_DIR."""
    return lienthong_settings.load(environ).reports_store_url()


# -- connections ---------------------------------------------------------------------------------
def airflow_connection(conn_id: str) -> Any | None:
    """The Airflow connection `conn_id` (env var, secrets backend or metadata DB), None if unset.

    Only callable inside a running Airflow task.
    """
    from airflow.sdk import Connection as AirflowConnection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return AirflowConnection.get(conn_id)
    except AirflowNotFoundException:
        return None


def source_connection(
    airflow_conn: Any, plain_http_hosts: frozenset[str] = frozenset()
) -> Connection:
    """An Airflow connection as the connectors' own `Connection` (same fields, same meaning);
    ``plain_http_hosts``: the demo's, from the settings (Settings.demo_plain_http_hosts)."""
    return Connection(
        conn_id=airflow_conn.conn_id,
        conn_type=airflow_conn.conn_type or "http",
        host=airflow_conn.host or None,
        port=airflow_conn.port,
        login=airflow_conn.login or None,
        password=airflow_conn.password or None,
        schema=airflow_conn.schema or None,
        extra=dict(airflow_conn.extra_dejson),
        plain_http_hosts=plain_http_hosts,
    )


def task_settings(
    lookup: Callable[[str], Any | None] = airflow_connection,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """The CLI's settings, the warehouse found in the CLI's order (lienthong/warehouse_url.py)
    with Airflow's own connections (secrets backend, metadata DB) as one more place to look."""
    settings = lienthong_settings.load(environ)
    return replace(settings, warehouse_url=resolve_warehouse_url(environ, lookup))


# -- audit ---------------------------------------------------------------------------------------
def batches_of_run(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """The audit rows (`load_batches`) a run wrote, in order."""
    from warehouse import schema

    lb = schema.load_batches
    query = select(lb).where(lb.c.run_id == run_id[:250]).order_by(lb.c.id)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def log_audit(run_id: str, settings: Callable[[], Settings] = task_settings) -> list[str]:
    """Log the audit rows of a run, e.g. of a failed try, for the operator reading its log."""
    from warehouse.db import make_engine

    try:
        rows = batches_of_run(make_engine(settings().warehouse_url), run_id)
    except Exception as exc:  # the warehouse may be what failed: say so, don't mask the error
        log.warning("could not read the load audit of %s: %s", run_id, exc)
        return []
    if not rows:
        log.warning("no load batch was started by %s", run_id)
    lines = [describe_batch(row) for row in rows]
    for line in lines:
        log.warning("%s", line)
    return lines


def describe_batch(row: Mapping[str, Any]) -> str:
    """One line an operator reads: which batch, which window, what happened."""
    window = ""
    start, end = row.get("window_start"), row.get("window_end")
    if start is not None and end is not None:
        window = f" [{_local(start).isoformat()}, {_local(end).isoformat()})"
    text = (
        f"load_batches #{row['id']} {row['source']}.{row['stream']}{window} "
        f"outcome={row['outcome']} read={row.get('records_read') or 0}"
    )
    if row.get("error"):
        text += f" error={row['error']}"
    return text


# -- reports -------------------------------------------------------------------------------------
def report_as_of(window_end: datetime) -> date:
    """The last local day fully synced by a window ending at `window_end`."""
    return _local(window_end).date() - timedelta(days=1)


def report_date(
    as_of: str | None, event_extras: Iterable[Mapping[str, Any]], run_end: datetime | None
) -> date:
    """The day the reports run to: the `as_of` Param, else the latest window end among the
    triggering asset events, else the end of the run's own interval. Never the clock."""
    if as_of:
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise WindowError(f"as_of is not a date (YYYY-MM-DD): {as_of!r}") from None
    ends = [parse_instant(e["window_end"]) for e in event_extras if e.get("window_end")]
    if ends:
        return report_as_of(max(ends))
    if run_end is None:
        raise WindowError("no asset event and no data interval: give the as_of param")
    return report_as_of(run_end)


def running_periods(as_of: date) -> list[tuple[str, Period]]:
    """The month, quarter and year running on `as_of` (named so), each up to and including
    that day."""
    quarter_month = 3 * ((as_of.month - 1) // 3) + 1
    return [
        ("month", Period(as_of.replace(day=1), as_of)),
        ("quarter", Period(date(as_of.year, quarter_month, 1), as_of)),
        ("year", Period(date(as_of.year, 1, 1), as_of)),
    ]


# The reports the build_reports DAG keeps current (lienthong/reports.py names them).
DAG_REPORTS = ("phu-luc-01", "satisfaction")


def refresh_reports(engine: Engine, as_of: date, store: Any) -> list[Any]:
    """Phụ lục 01 (by agency) and satisfaction for each running period, as xlsx in `store`.

    `store` is any pathlib-like folder (a Path, a UPath, Airflow's ObjectStoragePath). Files are
    named like the CLI's (`phu-luc-01_<from>_<to>.xlsx`), so a file never changes its period.
    A report never counts past the synced data: `as_of` moves back to the last day every dossier
    source covers, and a form whose sources are incomplete says so under its period.
    """
    # Imported when run: parsing the DAG files stays free of the report stack.
    from lienthong import reports
    from warehouse.reports import periods
    from warehouse.reports.coverage import coverage

    streams = reports.streams_of(DAG_REPORTS)
    with engine.connect() as conn:
        last_day = coverage(conn, as_of, as_of, streams).last_day
    if last_day is None:
        log.warning("no dossier source has synced a window yet: no report written")
        return []
    if last_day < as_of:
        log.warning("the synced data ends on %s: reports as of that day, not %s", last_day, as_of)
        as_of = last_day
    store.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="lienthong-reports-") as scratch:
        for _, period in running_periods(as_of):
            with engine.connect() as conn:
                note = coverage(conn, period.start, period.end, streams).form_line()
            if note:
                log.warning("%s to %s: %s", period.start, period.end, note)
            span = periods.Period(period.start, period.end)
            for name, report in reports.build(engine, span, reports.defaults(DAG_REPORTS)).items():
                filename = f"{name}_{period.start}_{period.end}.xlsx"
                # openpyxl writes local files only: render there, then copy to the store.
                local = reports.save_xlsx({name: report}, None, Path(scratch) / filename, note)
                target = store / filename
                target.write_bytes(local.read_bytes())
                written.append(target)
                log.info("wrote %s (%s to %s)", target, period.start, period.end)
    return written


def open_warehouse(settings: Callable[[], Settings] = task_settings) -> Engine:
    """The warehouse a reading task uses: opened as the CLI's reading commands do — never
    created, never migrated (warehouse.db.open_for_reading)."""
    from warehouse.db import open_for_reading

    return open_for_reading(settings().warehouse_url)
