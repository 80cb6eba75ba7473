"""A sync whose source lock is lost mid-load (its PostgreSQL backend terminated: an idle timeout,
a failover, a pooler restart) while a second sync of the same source runs: the loading
transactions still take turns and the warehouse equals the two syncs run one after the other."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import select, text

from lienthong.pipeline import sync
from lienthong.settings import load
from mappings.common import LOCAL_TZ
from simulators.faults import Faults
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import serial_one_stop_digest, warehouse_digest
from warehouse import schema
from warehouse.db import upgrade
from warehouse.loader import Batch, read_watermark
from warehouse.locks import _lock_id

pytestmark = pytest.mark.pg

BACKFILL = (datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 4, 1, tzinfo=LOCAL_TZ))
NIGHTLY = (datetime(2019, 3, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ))
LB = schema.load_batches


def holders(engine, name: str) -> list[int]:
    """Backends holding the advisory lock of `name` (a bigint key: high and low 32 bits)."""
    key = _lock_id(name) & 0xFFFFFFFFFFFFFFFF
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid = :hi AND objid = :lo AND objsubid = 1"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            ).scalars()
        )


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def waiting_for(engine, name: str) -> bool:
    """Some backend waits for the advisory lock of `name`."""
    key = _lock_id(name) & 0xFFFFFFFFFFFFFFFF
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND classid = :hi AND objid = :lo AND objsubid = 1"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            ).scalar()
        )


def test_a_lost_session_lock_never_lets_two_loads_of_a_source_overlap(
    pg_engine, tmp_path, caplog, monkeypatch
):
    engine = pg_engine
    upgrade(engine)
    caplog.set_level(logging.WARNING, logger="warehouse.locks")
    mid_load, second_waits = threading.Event(), threading.Event()
    load_prepared = Batch.load_prepared

    def loading(self, page):
        # The first sync stays inside its dossiers' load transaction, a page written, until
        # the second sync's first batch is waiting: the overlap happens on every run.
        counts = load_prepared(self, page)
        if self.run_id == "first" and self.stream == "dossiers" and not mid_load.is_set():
            mid_load.set()
            second_waits.wait(timeout=60)
        return counts

    monkeypatch.setattr(Batch, "load_prepared", loading)
    app = make_app(build_dataset("small", seed=12), Faults(latency=0.02))
    errors: list[Exception] = []
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:

        def run(window, run_id):
            try:
                sync(
                    "one_stop",
                    load(),
                    since=window[0],
                    until=window[1],
                    engine=engine,
                    connection=stand_in_connection(base_url, "one_stop"),
                    run_id=run_id,
                )
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        first = threading.Thread(target=run, args=(BACKFILL, "first"))
        first.start()
        assert mid_load.wait(timeout=60)
        # The session lock's backend is terminated, as an idle timeout or a failover would.
        [session] = holders(engine, "one_stop")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": session}).scalar()
        wait_for(lambda: holders(engine, "one_stop") == [])

        second = threading.Thread(target=run, args=(NIGHTLY, "second"))
        second.start()
        # The second sync took the free session lock; its first batch waits for the first
        # sync's loading transaction.
        wait_for(lambda: waiting_for(engine, "one_stop:load"))
        second_waits.set()
        first.join(timeout=180)
        second.join(timeout=180)
    assert errors == []
    assert "the one_stop session lock was lost" in caplog.text

    with engine.connect() as conn:
        spans = conn.execute(
            select(
                LB.c.run_id, LB.c.stream, LB.c.started_at, LB.c.finished_at, LB.c.outcome
            ).order_by(LB.c.started_at)
        ).all()
    assert len(spans) == 8 and {s.outcome for s in spans} == {"succeeded"}
    by_run = {(s.run_id, s.stream): s for s in spans}
    first_dossiers, second_agencies = by_run["first", "dossiers"], by_run["second", "agencies"]
    # The second began while the first was loading, and committed only after it.
    assert first_dossiers.started_at < second_agencies.started_at < first_dossiers.finished_at
    assert second_agencies.finished_at > first_dossiers.finished_at
    assert read_watermark(engine, "one_stop", "dossiers") == NIGHTLY[1]

    assert serial_one_stop_digest(tmp_path, (BACKFILL, NIGHTLY), seed=12) == warehouse_digest(
        engine
    )
