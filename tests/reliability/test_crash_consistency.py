"""kill -9 of a sync, at random points many times and at chosen points one by one: every re-run
converges to the same warehouse, no batch is ever half-applied, and the audit shows the
interrupted batches for what they were."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from simulators.server import serve
from simulators.standins import stand_in_uri, stand_ins
from tests.helpers import count, warehouse_digest
from warehouse import schema
from warehouse.db import make_engine, upgrade
from warehouse.loader import read_watermark

SOURCE = "one_stop"
WINDOW = ["--since", "2018-10-01", "--until", "2019-07-01"]
ROOT = Path(__file__).resolve().parents[2]


def sync_process(url: str, base_url: str, kill_at: tuple[str, str, int] | None = None):
    """`lienthong sync` in its own process; ``kill_at`` (point, stream, n) plants a SIGKILL
    (see tests/reliability/kill_points.py)."""
    env = {
        **os.environ,
        "LIENTHONG_WAREHOUSE_URL": url,
        "AIRFLOW_CONN_LIENTHONG_ONE_STOP": stand_in_uri(base_url, SOURCE),
    }
    command = ["-m", "lienthong.cli"]
    if kill_at is not None:
        point, stream, n = kill_at
        command = ["-m", "tests.reliability.kill_points", point, stream, str(n), "--"]
    return subprocess.Popen(
        [sys.executable, *command, "sync", SOURCE, *WINDOW],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killed_syncs_converge_and_never_half_apply(tmp_path):
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    crash_url = f"sqlite:///{tmp_path / 'crash.db'}"
    crashed = make_engine(crash_url)
    upgrade(crashed)  # so that the test can look at the audit between the kills
    rng = random.Random(2019)  # noqa: S311 - reproducible kill points
    killed_inside: set[int] = set()  # batches a kill interrupted
    with serve(stand_ins(seed=5, scenario="small")) as base_url:
        assert sync_process(clean_url, base_url).wait(timeout=120) == 0
        kills = 0
        for i in range(6):
            proc = sync_process(crash_url, base_url)
            if i % 2:
                # Somewhere between start-up, fetching, and inside a load transaction.
                time.sleep(rng.uniform(0.3, 3.0))
            else:
                # Inside the dossiers' batch, at a random moment of it.
                _wait_for_running(crashed, "dossiers", proc, killed_inside)
                time.sleep(rng.uniform(0.0, 0.05))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
            killed_inside |= _running(crashed)  # the process is gone: whatever runs is dead
        assert kills > 0
        assert sync_process(crash_url, base_url).wait(timeout=120) == 0

    clean = make_engine(clean_url)
    assert warehouse_digest(crashed) == warehouse_digest(clean)
    lb = schema.load_batches
    with crashed.connect() as conn:
        outcomes = conn.execute(select(lb.c.outcome, lb.c.stream)).all()
        by_id = dict(conn.execute(select(lb.c.id, lb.c.outcome)).all())
        # Every batch either committed whole or left only its audit row: no dossier row was
        # written by a batch that did not succeed.
        succeeded = set(conn.execute(select(lb.c.id).where(lb.c.outcome == "succeeded")).scalars())
        written = set(conn.execute(select(schema.dossiers.c.batch_id).distinct()).scalars())
    assert written <= succeeded
    # The kills landed inside batches, and each such batch is now marked abandoned.
    assert killed_inside
    assert {by_id[b] for b in killed_inside} == {"abandoned"}
    assert {o for o, _ in outcomes} == {"succeeded", "abandoned"}


def _running(engine) -> set[int]:
    lb = schema.load_batches
    with engine.connect() as conn:
        return set(conn.execute(select(lb.c.id).where(lb.c.outcome == "running")).scalars())


def _wait_for_running(engine, stream: str, proc, dead: set[int], timeout: float = 60.0) -> None:
    """Until ``proc`` has a batch of ``stream`` running (``dead``: batches killed before)."""
    lb = schema.load_batches
    deadline = time.monotonic() + timeout
    query = select(lb.c.id).where(lb.c.outcome == "running", lb.c.stream == stream)
    while proc.poll() is None and time.monotonic() < deadline:
        with engine.connect() as conn:
            if set(conn.execute(query).scalars()) - dead:
                return
        time.sleep(0.02)


# (point, stream, n): where the process dies; see tests/reliability/kill_points.py.
KILL_POINTS = {
    # while fetching the first stream, before any page of any batch was loaded
    "fetching": ("fetch", "agencies", 2),
    # inside the dossiers' load transaction, after 3 of its pages were written
    "after_pages": ("pages", "dossiers", 3),
    # in Batch._finish, audit counts and watermark written, just before the commit
    "before_commit": ("finish", "dossiers", 1),
    # after the dossiers' batch committed, before the ratings' batch began
    "between_batches": ("between", "dossiers", 1),
}


@pytest.fixture(scope="module")
def stand_in_url():
    with serve(stand_ins(seed=5, scenario="small")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def clean_digest(stand_in_url, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}"
    assert sync_process(url, stand_in_url).wait(timeout=120) == 0
    return warehouse_digest(make_engine(url))


def rows_of_batch(engine, batch_id: int) -> dict[str, int]:
    """Rows anywhere in the warehouse that name ``batch_id`` (as their batch or first batch)."""
    found = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            if table is schema.load_batches:
                continue
            for column in ("batch_id", "first_batch_id"):
                if column in table.c:
                    n = conn.execute(
                        select(table.c[column]).where(table.c[column] == batch_id)
                    ).all()
                    if n:
                        found[f"{table.name}.{column}"] = len(n)
    return found


@pytest.mark.parametrize("name", sorted(KILL_POINTS))
def test_a_sync_killed_at_a_chosen_point_recovers_to_a_clean_run(
    name, engine, stand_in_url, clean_digest
):
    point, stream, _ = KILL_POINTS[name]
    url = engine.url.render_as_string(hide_password=False)
    killed = sync_process(url, stand_in_url, kill_at=KILL_POINTS[name])
    assert killed.wait(timeout=120) == -signal.SIGKILL

    lb = schema.load_batches
    with engine.connect() as conn:
        audit = conn.execute(select(lb.c.id, lb.c.stream, lb.c.outcome).order_by(lb.c.id)).all()
    running = [row for row in audit if row.outcome == "running"]
    if point == "between":
        # The dossiers committed whole; the ratings' batch never began.
        assert running == [] and [r.stream for r in audit] == ["agencies", "procedures", stream]
        assert count(engine, schema.dossiers) > 0
        assert read_watermark(engine, SOURCE, stream) is not None
        killed_batch = None
    else:
        # Exactly the interrupted batch is left `running`, and nothing it wrote survived.
        assert [r.stream for r in running] == [stream]
        killed_batch = running[0].id
        assert rows_of_batch(engine, killed_batch) == {}
        if stream == "dossiers":
            assert count(engine, schema.dossiers) == 0
            assert count(engine, schema.dossier_status_history) == 0
            assert read_watermark(engine, SOURCE, stream) is None
        if point == "fetch":
            assert [r.stream for r in audit] == [stream]
            assert count(engine, schema.agencies) == 0

    assert sync_process(url, stand_in_url).wait(timeout=120) == 0
    assert warehouse_digest(engine) == clean_digest
    with engine.connect() as conn:
        outcomes = dict(conn.execute(select(lb.c.id, lb.c.outcome)).all())
        written = set(conn.execute(select(schema.dossiers.c.batch_id).distinct()).scalars())
    if killed_batch is not None:
        assert outcomes.pop(killed_batch) == "abandoned"
        assert rows_of_batch(engine, killed_batch) == {}
    assert set(outcomes.values()) == {"succeeded"}
    assert written <= set(outcomes)
