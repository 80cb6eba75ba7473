"""The measurements of `make bench`, each run in a fresh child process so peak RSS is its own."""

from __future__ import annotations

import json
import resource
import time
from datetime import UTC, date, datetime
from typing import Any

HISTORY = (datetime(2018, 1, 1, tzinfo=UTC), datetime(2019, 12, 31, tzinfo=UTC))
DELTA = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 12, 31, tzinfo=UTC))
BENCH_KEY = b"bench-only-key-not-secret-never-use-in-production"


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(source: str, base_url: str, db_url: str, window: str = "history") -> dict[str, Any]:
    """`lienthong.pipeline.sync` of one source from its bench stand-in into ``db_url``."""
    from sqlalchemy import create_engine  # noqa: F401 - imported before timing starts

    from lienthong.pipeline import sync as run_sync
    from lienthong.settings import Settings
    from simulators.standins import stand_in_connection
    from warehouse.db import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    settings = Settings(db_url, var_dir=__import__("pathlib").Path("var"), pseudonym_key=BENCH_KEY)
    since, until = HISTORY if window == "history" else DELTA
    started = time.perf_counter()
    results = run_sync(
        source,
        settings,
        since=since,
        until=until,
        engine=engine,
        connection=stand_in_connection(base_url, source),
    )
    seconds = time.perf_counter() - started
    dossiers = next(r for r in results if r.stream == "dossiers")
    engine.dispose()
    return {
        "records": dossiers.counts.read,
        "seconds": seconds,
        "stream_seconds": dossiers.seconds,
        "counts": dossiers.counts.summary(),
        "peak_rss_mb": peak_rss_mb(),
    }


def ceiling(base_url: str) -> dict[str, Any]:
    """The same dossier pages fetched with `requests` and decoded with the stdlib's `json`."""
    import requests

    from bench.peer import login

    with requests.Session() as http:
        session = login(http, base_url)
        started = time.perf_counter()
        records, page, pages = 0, 1, 1
        while page <= pages:
            reply = json.loads(
                http.post(
                    f"{base_url}/one_stop/api/service",
                    json=_page_body(session, page),
                    timeout=60,
                ).content
            )
            records += len(reply["data"])
            pages = reply["TongSoTrang"]
            page += 1
        seconds = time.perf_counter() - started
    return {"records": records, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def _page_body(session: str, page: int) -> dict[str, Any]:
    return {
        "session": session,
        "madonvi": "000.00.01.H22",
        "service": "LayDanhSachHoSo",
        "TuNgay": "20180101070000",
        "DenNgay": "20191231070000",
        "Trang": page,
        "SoBanGhi": 1000,
    }


def report(db_url: str, year: int = 2019, runs: int = 2) -> dict[str, Any]:
    """Phụ lục 01 by agency for a calendar year over the warehouse; the best of ``runs``.

    The first run also warms the database's cache; it is returned too (``first``).
    """
    from sqlalchemy import func, select

    from warehouse import schema
    from warehouse.db import make_engine
    from warehouse.reports.phu_luc_01 import phu_luc_01

    engine = make_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(schema.dossiers)).scalar_one()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        phu_luc_01(engine, date(year, 1, 1), date(year, 12, 31))
        times.append(time.perf_counter() - started)
    engine.dispose()
    return {"seconds": min(times), "first": times[0], "rows": rows, "peak_rss_mb": peak_rss_mb()}


def grow(db_url: str, rows: int, years: int) -> dict[str, Any]:
    """Copy the loaded dossiers inside PostgreSQL until there are ``rows`` (bench/grow.py)."""
    from bench.grow import grow as grow_dossiers
    from warehouse.db import make_engine

    engine = make_engine(db_url)
    result = grow_dossiers(engine, rows, years)
    engine.dispose()
    return {**result, "records": result["added"], "peak_rss_mb": peak_rss_mb()}


def peer(base_url: str, db_url: str, pipelines_dir: str) -> dict[str, Any]:
    """dlt's REST client and sqlalchemy destination loading the same dossier pages."""
    from bench.peer import load_with_dlt

    started = time.perf_counter()
    records = load_with_dlt(base_url, db_url, pipelines_dir)
    seconds = time.perf_counter() - started
    return {"records": records, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}
