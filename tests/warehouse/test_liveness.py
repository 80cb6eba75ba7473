"""Abandoned batches are found from any host: a `running` batch that stopped beating for
`LIENTHONG_BATCH_STALE_AFTER` is marked `abandoned` by the next run of its stream, while a live
one, from whatever host, is left alone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from lienthong.settings import load as load_settings
from tests.warehouse.test_loader import dossier, load
from warehouse import liveness, schema
from warehouse.loader import Batch

LB = schema.load_batches


def running_row(engine, *, host: str, pid: int, started: datetime, beat: datetime | None) -> int:
    with engine.begin() as conn:
        return conn.execute(
            insert(LB)
            .values(
                source="one_stop",
                stream="dossiers",
                started_at=started,
                heartbeat_at=beat,
                outcome="running",
                pid=pid,
                host=host,
            )
            .returning(LB.c.id)
        ).scalar_one()


def outcome(engine, batch_id: int) -> tuple[str, str | None]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(LB.c.outcome, LB.c.error).where(LB.c.id == batch_id)).one()
        )


def test_a_batch_of_another_host_that_stopped_beating_is_marked_abandoned(engine):
    stale_after = load_settings({"LIENTHONG_BATCH_STALE_AFTER": "300"}).batch_stale_after
    now = datetime.now(UTC)
    hour_ago = now - timedelta(hours=1)
    # pid 1 is alive on every host: only the heartbeat can tell.
    silent = running_row(engine, host="worker-2", pid=1, started=hour_ago, beat=hour_ago)
    never_beat = running_row(engine, host="worker-2", pid=1, started=hour_ago, beat=None)
    beating = running_row(engine, host="worker-3", pid=1, started=hour_ago, beat=now)
    other_stream = running_row(engine, host="worker-2", pid=1, started=hour_ago, beat=hour_ago)
    with engine.begin() as conn:
        conn.execute(LB.update().where(LB.c.id == other_stream).values(stream="ratings"))

    batch = load(engine, [dossier(1)], stale_after=stale_after)

    assert batch.outcome == "succeeded"
    for dead in (silent, never_beat):
        state, error = outcome(engine, dead)
        assert state == "abandoned"
        assert "no heartbeat for over 300s (LIENTHONG_BATCH_STALE_AFTER)" in error
    assert outcome(engine, beating) == ("running", None)
    assert outcome(engine, other_stream) == ("running", None)  # its own stream's next run


def test_the_stale_after_setting_is_checked():
    assert load_settings({}).batch_stale_after == 600
    assert load_settings({"LIENTHONG_BATCH_STALE_AFTER": "90"}).batch_stale_after == 90
    for bad in ("soon", "0", "-5", "inf"):
        with pytest.raises(ValueError, match="LIENTHONG_BATCH_STALE_AFTER must be a number"):
            load_settings({"LIENTHONG_BATCH_STALE_AFTER": bad})


@pytest.mark.pg
def test_a_loading_batch_beats_and_another_host_leaves_it_alone(pg_engine, monkeypatch):
    from warehouse.db import upgrade

    upgrade(pg_engine)
    stale_after = load_settings({"LIENTHONG_BATCH_STALE_AFTER": "1"}).batch_stale_after
    # a beat every 0.2 s
    with Batch(pg_engine, source="one_stop", stream="dossiers", stale_after=stale_after) as batch:
        batch.load_page([dossier(1)])
        with pg_engine.connect() as conn:
            first = conn.execute(select(LB.c.heartbeat_at).where(LB.c.id == batch.batch_id))
            first = first.scalar_one()
        time.sleep(1.5)  # longer than the stale-after: only the beats keep it alive
        monkeypatch.setattr(liveness, "host_name", lambda: "worker-2")
        assert liveness.mark_abandoned(pg_engine, "one_stop", "dossiers", 1.0) == []
        with pg_engine.connect() as conn:
            last = conn.execute(select(LB.c.heartbeat_at).where(LB.c.id == batch.batch_id))
            last = last.scalar_one()
        assert last > first + timedelta(seconds=0.5)
    assert outcome(pg_engine, batch.batch_id) == ("succeeded", None)
