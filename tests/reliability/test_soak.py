"""Soak: a thousand consecutive small syncs in one process keep memory flat, and a 30-night
backfill under mixed wire faults completes, to the warehouse a fault-free backfill gives.

Run with `-s` to see the memory curve (it is printed either way when the test fails).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors import one_stop
from connectors.errors import SourceError
from lienthong.pipeline import sync
from lienthong.registry import get
from lienthong.settings import load
from mappings.common import LOCAL_TZ
from simulators.faults import Faults
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import warehouse_digest
from warehouse import schema
from warehouse.db import make_engine, upgrade
from warehouse.loader import read_watermark

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
SYNCS, EVERY = 1000, 100
START = datetime(2019, 1, 1, tzinfo=LOCAL_TZ)


def rss_mb() -> float:
    """Resident set size of this process now (not the peak), in MiB."""
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture
def stand_ins_elsewhere():
    """The stand-ins in their own process: their reply cache must not count as the sync's memory."""
    server = subprocess.Popen(
        [sys.executable, "-m", "lienthong.cli", "simulate", "--port", "0", "--scenario", "small"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        match = re.search(r"serving on (\S+)", server.stdout.readline())
        assert match, "the stand-ins did not start"
        yield match.group(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")
def test_a_thousand_small_syncs_keep_memory_flat(stand_ins_elsewhere, tmp_path, capsys, request):
    """Hourly syncs of the one-stop source, each from the watermark (a handful of dossiers and
    ratings, and the two catalogues re-read), through one engine as a long-lived worker would."""
    engine = make_engine(f"sqlite:///{tmp_path / 'soak.db'}")
    connection = stand_in_connection(stand_ins_elsewhere, "one_stop")
    curve = []
    # The test harness keeps every log record and printed line of a test in memory (pytest's log
    # and output capture): that is the harness growing, not the sync. INFO lines stay out of it.
    logging.disable(logging.INFO)
    request.addfinalizer(lambda: logging.disable(logging.NOTSET))
    for n in range(1, SYNCS + 1):
        results = sync(
            "one_stop",
            load(),
            since=START if n == 1 else None,
            until=START + timedelta(hours=n),
            engine=engine,
            connection=connection,
            root=tmp_path / "landing",
        )
        assert all(r.outcome == "succeeded" for r in results)
        del results
        if n % EVERY == 0:
            gc.collect()
            curve.append((n, rss_mb(), sys.getallocatedblocks(), len(gc.get_objects())))

    table = "\n".join(
        f"  after {n:>5} syncs: RSS {rss:6.1f} MiB, {blocks:>8,} allocated blocks, "
        f"{objects:>7,} objects"
        for n, rss, blocks, objects in curve
    )
    with capsys.disabled():
        print(f"\nmemory over {SYNCS} consecutive one_stop syncs (one process, SQLite):\n{table}")
    assert read_watermark(engine, "one_stop", "dossiers") == START + timedelta(hours=SYNCS)

    # The first hundred syncs warm the caches (compiled statements, imports, pools); after that
    # nothing may grow with the number of syncs. Bounds are generous: a leak of one dossier's
    # worth a sync (~50 blocks) would break them; the measured growth is a small fraction.
    _, rss0, blocks0, objects0 = curve[0]
    _, rss1, blocks1, objects1 = curve[-1]
    assert rss1 - rss0 < 20, table
    assert blocks1 - blocks0 < 25 * (SYNCS - EVERY), table
    assert objects1 - objects0 < 5 * (SYNCS - EVERY), table
    assert max(rss for _, rss, _, _ in curve) - rss0 < 20, table


NIGHTS = 30
FIRST_NIGHT = datetime(2019, 5, 1, 1, tzinfo=LOCAL_TZ)  # nightly runs at 01:00 local time
ATTEMPTS = 6


def mixed_faults(seed: int) -> Faults:
    """Every wire fault the stand-ins know, at once; plus malformed records (also served to
    the fault-free run: they are data, not faults)."""
    knobs = dict(
        error_rate=0.1,
        rate_limit_rate=0.05,
        stall_rate=0.03,
        stall=1.0,
        repeat_rate=0.2,
        session_ttl=5,
        malformed_rate=0.05,
        seed=seed,
    )
    known = {f.name for f in dataclasses.fields(Faults)}
    knobs |= {name: 0.03 for name in ("reset_rate", "truncate_rate") if name in known}
    return Faults(**knobs)


def backfill(engine, app, **extra) -> list[int]:
    """Night after night, like `airflow backfill`: each night its own window (with the source's
    look-back), re-run until it succeeds. Returns the failed runs per night."""
    lookback = get("one_stop").lookback
    failures = []
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:
        connection = stand_in_connection(base_url, "one_stop")
        connection = dataclasses.replace(connection, extra={**connection.extra, **extra})
        for night in range(NIGHTS):
            start = FIRST_NIGHT + timedelta(days=night)
            for attempt in range(ATTEMPTS):
                try:
                    sync(
                        "one_stop",
                        load(),
                        since=start - lookback,
                        until=start + timedelta(days=1),
                        engine=engine,
                        connection=connection,
                        run_id=f"backfill/{night}/try{attempt}",
                    )
                except SourceError as exc:  # retries exhausted: the night is run again
                    log.warning("night %d, run %d failed: %s", night, attempt, exc)
                    continue
                failures.append(attempt)
                break
            else:
                raise AssertionError(f"night {night} never completed in {ATTEMPTS} runs")
    return failures


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without real sleeping, and small pages: many calls, so many faults."""
    import connectors.rest

    quick = functools.partial(connectors.rest.RetryPolicy, initial=0, maximum=0, jitter=0)
    monkeypatch.setattr(connectors.rest, "RetryPolicy", quick)
    monkeypatch.setattr(
        one_stop, "OneStopConnector", functools.partial(one_stop.OneStopConnector, page_size=10)
    )


@pytest.mark.usefixtures("no_backoff")
def test_a_30_night_backfill_under_mixed_faults_completes(tmp_path, caplog):
    dataset = build_dataset("small", seed=17)
    faults = mixed_faults(seed=6)
    clean, faulty = (make_engine(f"sqlite:///{tmp_path / name}.db") for name in ("c", "f"))
    for engine in (clean, faulty):
        upgrade(engine)
    data_only = Faults(malformed_rate=faults.malformed_rate, seed=faults.seed)
    backfill(clean, make_app(dataset, data_only))
    app = make_app(dataset, faults)
    failures = backfill(faulty, app, read_timeout=0.4)

    assert app.injector.calls > 300  # the faults had plenty of calls to hit
    assert "retrying" in caplog.text
    assert read_watermark(faulty, "one_stop", "dossiers") == FIRST_NIGHT + timedelta(days=NIGHTS)
    assert warehouse_digest(faulty) == warehouse_digest(clean)
    lb = schema.load_batches
    with faulty.connect() as conn:
        outcomes = conn.execute(select(lb.c.outcome, lb.c.rejected)).all()
    assert {o for o, _ in outcomes} <= {"succeeded", "failed"}  # nothing left running
    assert sum(r for o, r in outcomes if o == "succeeded") > 0  # malformed records quarantined
    print(f"\n30-night backfill under {faults}: re-runs per night {failures}")
