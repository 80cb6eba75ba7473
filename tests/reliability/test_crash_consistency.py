"""kill -9 at random points of a sync, many times: every re-run converges to the same warehouse,
no batch is ever half-applied, and the audit shows the interrupted batches for what they were."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from lienthong.standins import stand_in_uri, stand_ins
from simulators.server import serve
from tests.helpers import warehouse_digest
from warehouse import schema
from warehouse.db import make_engine, upgrade

SOURCE = "one_stop"
WINDOW = ["--since", "2018-10-01", "--until", "2019-07-01"]


def sync_process(url: str, base_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "LIENTHONG_WAREHOUSE_URL": url,
        "AIRFLOW_CONN_LIENTHONG_ONE_STOP": stand_in_uri(base_url, SOURCE),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "lienthong.cli", "sync", SOURCE, *WINDOW],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_killed_syncs_converge_and_never_half_apply(tmp_path):
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    crash_url = f"sqlite:///{tmp_path / 'crash.db'}"
    rng = random.Random(2019)  # noqa: S311 - reproducible kill points
    with serve(stand_ins(seed=5, scenario="small")) as base_url:
        assert sync_process(clean_url, base_url).wait(timeout=120) == 0
        kills = 0
        for _ in range(6):
            proc = sync_process(crash_url, base_url)
            # Somewhere between start-up, fetching, and inside a load transaction.
            time.sleep(rng.uniform(0.3, 3.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait(timeout=30)
        assert kills > 0
        assert sync_process(crash_url, base_url).wait(timeout=120) == 0

    clean, crashed = make_engine(clean_url), make_engine(crash_url)
    upgrade(crashed)
    assert warehouse_digest(crashed) == warehouse_digest(clean)
    lb = schema.load_batches
    with crashed.connect() as conn:
        outcomes = conn.execute(select(lb.c.outcome, lb.c.stream)).all()
        # Every batch either committed whole or left only its audit row: no dossier row was
        # written by a batch that did not succeed.
        succeeded = set(conn.execute(select(lb.c.id).where(lb.c.outcome == "succeeded")).scalars())
        written = set(conn.execute(select(schema.dossiers.c.batch_id).distinct()).scalars())
    assert written <= succeeded
    assert "running" not in {o for o, _ in outcomes if o} or _only_last_running(outcomes)
    assert {o for o, _ in outcomes} <= {"succeeded", "abandoned", "running"}


def _only_last_running(outcomes) -> bool:
    # A stream killed mid-batch is marked abandoned when that stream next runs; the final clean
    # run has run every stream, so nothing may be left running.
    return False
