"""The `make bench` runner: each measurement in its own process, then the table and summary."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import measure

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/lienthong_bench"
_SPAWN = mp.get_context("spawn")  # a fresh interpreter per measurement: its own peak RSS


def _serve(size: int, soap_size: int, ready: Any) -> None:
    from simulators.criminal_record.bench import make_bench_app as criminal_record
    from simulators.one_stop.bench import make_bench_app as one_stop
    from simulators.server import PrefixDispatcher, serve

    apps = PrefixDispatcher(
        {"/one_stop": one_stop(size), "/criminal_record": criminal_record(soap_size)}
    )
    with serve(apps) as url:
        ready.put(url)
        while True:
            time.sleep(3600)


def _child(fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any], out: Any) -> None:
    try:
        out.put(fn(**kwargs))
    except BaseException as exc:  # reported by the parent as the figure's failure
        out.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def run(fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """``fn(**kwargs)`` in a fresh child process."""
    out = _SPAWN.Queue()
    child = _SPAWN.Process(target=_child, args=(fn, kwargs, out))
    child.start()
    result = out.get()
    child.join()
    if "error" in result:
        print(f"  {fn.__name__} failed: {result['error']}", file=sys.stderr)
    return result


def _pg_admin(url: str, action: str) -> bool:
    """Create (fresh) or drop the benchmark's PostgreSQL database; False when unreachable."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            if action == "create":
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        return True
    except Exception as exc:  # no PostgreSQL here: its figures are left out
        print(f"  PostgreSQL unavailable ({type(exc).__name__}); skipping it", file=sys.stderr)
        return False
    finally:
        admin.dispose()


def _grown_report(
    pg: str | None, report_rows: int, years: int, rows: list[tuple[str, str, str, str]]
) -> dict[str, float]:
    """Grow the PostgreSQL dossiers to ``report_rows`` in the server, then time Phụ lục 01."""
    if not report_rows:
        return {}
    if not pg:
        print("  --report-rows needs PostgreSQL; skipping it", file=sys.stderr)
        return {}
    print(f"growing the PostgreSQL dossiers to {report_rows:,} (over {years} years)", flush=True)
    grown = run(measure.grow, db_url=pg, rows=report_rows, years=years)
    rows.append(
        (
            f"grow to {report_rows:,} dossiers (INSERT ... SELECT)",
            f"{_rate(grown):,.0f}",
            f"{grown['seconds']:.1f}",
            f"{grown['peak_rss_mb']:.0f}",
        )
    )
    report = run(measure.report, db_url=pg, runs=3)
    rows.append(
        (
            f"Phụ lục 01, 2019, PostgreSQL, {report['rows']:,} dossiers "
            f"(first run {report['first']:.2f} s)",
            "-",
            f"{report['seconds']:.2f}",
            f"{report['peak_rss_mb']:.0f}",
        )
    )
    return {"grown_report_s": report["seconds"], "grown_report_rows": report["rows"]}


def _rate(result: dict[str, Any]) -> float:
    return result["records"] / result["seconds"] if result.get("seconds") else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", type=int, default=50_000, help="dossiers in the stand-in")
    parser.add_argument("--soap-size", type=int, help="LLTP requests (default: min(size, 200k))")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--skip-peer", action="store_true", help="leave dlt out")
    parser.add_argument(
        "--report-rows",
        type=int,
        default=0,
        help="also time Phụ lục 01 after growing the PostgreSQL dossiers to N rows in the server "
        "(bench/grow.py); 0: only over the loaded ones",
    )
    parser.add_argument(
        "--report-years", type=int, default=10, help="years the grown dossiers spread over"
    )
    args = parser.parse_args(argv)
    size, soap_size = args.size, args.soap_size or min(args.size, 200_000)

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; size={size:,}")
    ready = _SPAWN.Queue()
    server = _SPAWN.Process(target=_serve, args=(size, soap_size, ready), daemon=True)
    server.start()
    url = ready.get(timeout=300)
    rows: list[tuple[str, str, str, str]] = []
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="lienthong-bench-") as tmp:
        sqlite = f"sqlite:///{Path(tmp) / 'rest.db'}"
        pg = args.pg if _pg_admin(args.pg, "create") else None
        try:
            ceiling = run(measure.ceiling, base_url=url)
            rows.append(
                (
                    "ceiling: requests + json",
                    f"{_rate(ceiling):,.0f}",
                    "-",
                    f"{ceiling['peak_rss_mb']:.0f}",
                )
            )
            rest = run(measure.sync, source="one_stop", base_url=url, db_url=sqlite)
            rows.append(
                (
                    "one_stop REST -> SQLite",
                    f"{_rate(rest):,.0f}",
                    f"{rest['seconds']:.1f}",
                    f"{rest['peak_rss_mb']:.0f}",
                )
            )
            rest_pg = None
            if pg:
                rest_pg = run(measure.sync, source="one_stop", base_url=url, db_url=pg)
                rows.append(
                    (
                        "one_stop REST -> PostgreSQL",
                        f"{_rate(rest_pg):,.0f}",
                        f"{rest_pg['seconds']:.1f}",
                        f"{rest_pg['peak_rss_mb']:.0f}",
                    )
                )
            soap = run(
                measure.sync,
                source="criminal_record",
                base_url=url,
                db_url=f"sqlite:///{Path(tmp) / 'soap.db'}",
            )
            rows.append(
                (
                    f"criminal_record SOAP -> SQLite ({soap_size:,})",
                    f"{_rate(soap):,.0f}",
                    f"{soap['seconds']:.1f}",
                    f"{soap['peak_rss_mb']:.0f}",
                )
            )
            peer = None
            if not args.skip_peer:
                peer = run(
                    measure.peer,
                    base_url=url,
                    db_url=f"sqlite:///{Path(tmp) / 'dlt.db'}",
                    pipelines_dir=str(Path(tmp) / "dlt"),
                )
                rows.append(
                    (
                        "peer: dlt rest_client -> SQLite",
                        f"{_rate(peer):,.0f}",
                        f"{peer['seconds']:.1f}",
                        f"{peer['peak_rss_mb']:.0f}",
                    )
                )
            report_db = pg or sqlite
            report = run(measure.report, db_url=report_db)
            rows.append(
                (
                    f"Phụ lục 01, 2019, {'PostgreSQL' if pg else 'SQLite'}, "
                    f"{report['rows']:,} dossiers",
                    "-",
                    f"{report['seconds']:.2f}",
                    f"{report['peak_rss_mb']:.0f}",
                )
            )
            delta_db = f"sqlite:///{Path(tmp) / 'delta.db'}"
            if pg:
                empty_db = pg.rsplit("/", 1)[0] + "/lienthong_bench_empty"
                _pg_admin(empty_db, "create")
            else:
                empty_db = delta_db
            on_history = run(
                measure.sync, source="one_stop", base_url=url, db_url=report_db, window="delta"
            )
            on_empty = run(
                measure.sync, source="one_stop", base_url=url, db_url=empty_db, window="delta"
            )
            if pg:
                _pg_admin(empty_db, "drop")
            rows.append(
                (
                    f"delta 10k over {size:,} history",
                    f"{_rate(on_history):,.0f}",
                    f"{on_history['stream_seconds']:.2f}",
                    f"{on_history['peak_rss_mb']:.0f}",
                )
            )
            rows.append(
                (
                    "delta 10k into empty warehouse",
                    f"{_rate(on_empty):,.0f}",
                    f"{on_empty['stream_seconds']:.2f}",
                    f"{on_empty['peak_rss_mb']:.0f}",
                )
            )
            # Last, as it changes the warehouse the figures above were measured on.
            grown = _grown_report(pg, args.report_rows, args.report_years, rows)
            figures = {
                "rest_rps": _rate(rest),
                "soap_rps": _rate(soap),
                "ratio_vs_dlt": _rate(rest) / _rate(peer) if peer and _rate(peer) else 0.0,
                "ratio_vs_ceiling": _rate(rest) / _rate(ceiling),
                "peak_rss_mb": max(rest["peak_rss_mb"], rest_pg["peak_rss_mb"] if rest_pg else 0),
                "report_s": report["seconds"],
                "report_rows": report["rows"],
                **grown,
                "delta_ratio": on_history["stream_seconds"] / on_empty["stream_seconds"],
            }
        finally:
            if pg:
                _pg_admin(pg, "drop")
            server.terminate()
            server.join()
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measurement':<{width}}  {'records/s':>10}  {'seconds':>8}  {'peak RSS MB':>11}")
    for name, rate, seconds, rss in rows:
        print(f"{name:<{width}}  {rate:>10}  {seconds:>8}  {rss:>11}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"rest_rps={figures['rest_rps']:.0f} soap_rps={figures['soap_rps']:.0f} "
        f"ratio_vs_dlt={figures['ratio_vs_dlt']:.2f} "
        f"ratio_vs_ceiling={figures['ratio_vs_ceiling']:.2f} "
        f"peak_rss_mb={figures['peak_rss_mb']:.0f} report_s={figures['report_s']:.2f} "
        f"report_rows={figures['report_rows']} delta_ratio={figures['delta_ratio']:.2f}"
        + (
            f" grown_report_s={figures['grown_report_s']:.2f}"
            f" grown_report_rows={figures['grown_report_rows']}"
            if "grown_report_s" in figures
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
