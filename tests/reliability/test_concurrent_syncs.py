"""Two syncs of one source at once (a backfill and the nightly run) are serialised by the
per-source lock; the watermark ends at the later window and never moves backwards."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select

from lienthong.pipeline import sync
from lienthong.settings import load
from mappings.common import LOCAL_TZ
from simulators.faults import Faults
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import serial_one_stop_digest, warehouse_digest
from warehouse import schema
from warehouse.loader import read_watermark

BACKFILL = (datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 4, 1, tzinfo=LOCAL_TZ))
NIGHTLY = (datetime(2019, 3, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ))


def test_two_syncs_of_one_source_are_serialised(engine, tmp_path):
    # Latency makes each sync last long enough for the two to collide without the lock.
    app = make_app(build_dataset("small", seed=12), Faults(latency=0.05))
    errors = []
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:

        def run(window):
            try:
                sync(
                    "one_stop",
                    load(),
                    since=window[0],
                    until=window[1],
                    engine=engine,
                    connection=stand_in_connection(base_url, "one_stop"),
                )
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(w,)) for w in (BACKFILL, NIGHTLY)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert errors == []
    lb = schema.load_batches
    with engine.connect() as conn:
        spans = conn.execute(
            select(lb.c.run_id, lb.c.started_at, lb.c.finished_at, lb.c.outcome)
            .where(lb.c.source == "one_stop")
            .order_by(lb.c.started_at)
        ).all()
    assert len(spans) == 8 and {s.outcome for s in spans} == {"succeeded"}
    # The second sync's first batch starts after the first sync's last batch finished.
    first_run, second_run = spans[:4], spans[4:]
    assert max(s.finished_at for s in first_run) <= min(s.started_at for s in second_run)
    assert read_watermark(engine, "one_stop", "dossiers") == NIGHTLY[1]

    # And the result is what the two windows give one after the other.
    assert serial_one_stop_digest(tmp_path, (BACKFILL, NIGHTLY), seed=12) == warehouse_digest(
        engine
    )
