"""Loader semantics on SQLite and PostgreSQL: idempotence, newer-wins, history, atomic batches."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from mappings.canonical import Agency, Dossier, Rating, Rejection, StatusEvent
from mappings.common import LOCAL_TZ
from tests.helpers import count, warehouse_digest
from warehouse import schema
from warehouse.loader import Batch, read_watermark

T0 = datetime(2019, 3, 1, 8, 0, tzinfo=LOCAL_TZ)


def dossier(n: int, status: int = 4, updated: datetime = T0, **over) -> Dossier:
    history = [StatusEvent(2, T0 - timedelta(days=1)), StatusEvent(status, updated)]
    base = dict(
        source_id=f"D{n}",
        dossier_number=f"D{n}",
        procedure_code="1.001612",
        agency_code="000.00.12.H22",
        applicant_type=1,
        applicant_ref="ab" * 32,
        channel=2,
        result_delivery=0,
        submitted_at=T0 - timedelta(days=1, hours=1),
        received_at=T0 - timedelta(days=1),
        due_at=T0 + timedelta(days=5),
        due_extended=False,
        ended_at=updated if status in (7, 8, 9, 10) else None,
        status=status,
        on_the_spot=False,
        paid_online=True,
        fee_amount=50000,
        source_updated_at=updated,
        history=tuple(history),
    )
    base.update(over)
    return Dossier(**base)


def load(
    engine, records, rejections=(), *, window=None, stream="dossiers", pages=1, stale_after=600.0
):
    with Batch(
        engine, source="one_stop", stream=stream, window=window, stale_after=stale_after
    ) as batch:
        size = max(1, len(records) // pages)
        for i in range(0, max(len(records), 1), size):
            batch.load_page(records[i : i + size], rejections if i == 0 else ())
        if window:
            batch.set_watermark(window[1])
    return batch


def history(engine, source_id):
    d, h = schema.dossiers, schema.dossier_status_history
    with engine.connect() as conn:
        rows = conn.execute(
            select(h.c.status, h.c.changed_at)
            .join(d, d.c.id == h.c.dossier_id)
            .where(d.c.source_id == source_id)
            .order_by(h.c.changed_at, h.c.status)
        ).all()
    return [(s, at) for s, at in rows]


def test_loading_the_same_window_twice_leaves_the_warehouse_identical(engine):
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    records = [dossier(n, status=9 if n % 3 else 4) for n in range(1200)]
    rejections = [(Rejection("unknown status code TrangThaiHoSo='42'", "BAD1"), {"MaHoSo": "BAD1"})]
    first = load(engine, records, rejections, window=window, pages=5)
    before = warehouse_digest(engine)
    second = load(engine, records, rejections, window=window, pages=3)
    assert warehouse_digest(engine) == before
    assert (first.counts.inserted, first.counts.rejected) == (1200, 1)
    assert (second.counts.inserted, second.counts.updated, second.counts.unchanged) == (0, 0, 1200)
    assert count(engine, schema.rejected_records) == 1


def test_a_newer_version_updates_and_an_older_one_never_overwrites(engine):
    load(engine, [dossier(1, status=4, updated=T0)])
    newer = load(engine, [dossier(1, status=9, updated=T0 + timedelta(hours=3))])
    older = load(engine, [dossier(1, status=5, updated=T0 + timedelta(hours=1))])
    assert newer.counts.updated == 1
    assert (older.counts.stale, older.counts.updated) == (1, 0)
    with engine.connect() as conn:
        status, updated = conn.execute(
            select(schema.dossiers.c.status, schema.dossiers.c.source_updated_at)
        ).one()
    assert status == 9 and updated == T0 + timedelta(hours=3)


def test_each_status_change_is_appended_exactly_once(engine):
    v1 = dossier(1, status=4, updated=T0)
    v2 = dossier(
        1,
        status=9,
        updated=T0 + timedelta(hours=2),
        history=v1.history + (StatusEvent(9, T0 + timedelta(hours=2)),),
    )
    for version in (v1, v1, v2, v2, v1):
        load(engine, [version])
    assert [s for s, _ in history(engine, "D1")] == [2, 4, 9]
    times = [at for _, at in history(engine, "D1")]
    assert times[-1] == T0 + timedelta(hours=2) and times[-1].tzinfo is not None


def test_a_record_repeated_within_a_page_or_across_pages_is_counted_once(engine):
    records = [dossier(1), dossier(2), dossier(1), dossier(2, updated=T0 + timedelta(minutes=5))]
    batch = load(engine, records, pages=2)
    assert count(engine, schema.dossiers) == 2
    assert batch.counts.read == 4 and batch.counts.inserted == 2


def test_a_failing_batch_commits_nothing_and_its_audit_row_says_why(engine):
    window = (T0 - timedelta(days=1), T0)
    load(engine, [dossier(0)], window=window)
    mark = read_watermark(engine, "one_stop", "dossiers")
    before = warehouse_digest(engine)
    with pytest.raises(RuntimeError, match="remote went away"):
        with Batch(
            engine, source="one_stop", stream="dossiers", window=(T0, T0 + timedelta(days=1))
        ) as batch:
            batch.load_page(
                [dossier(n) for n in range(1, 50)],
                [(Rejection("missing dossier number (MaHoSo)"), {"x": 1})],
            )
            batch.set_watermark(T0 + timedelta(days=1))
            raise RuntimeError("remote went away")
    assert warehouse_digest(engine) == before  # no dossiers, no quarantine, no watermark
    assert read_watermark(engine, "one_stop", "dossiers") == mark
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(schema.load_batches).where(schema.load_batches.c.id == batch.batch_id)
            )
            .mappings()
            .one()
        )
    assert row["outcome"] == "failed" and "remote went away" in row["error"]
    assert row["finished_at"] is not None


def test_the_audit_row_counts_the_batch(engine):
    window = (T0, T0 + timedelta(days=1))
    batch = load(engine, [dossier(1), dossier(2)], [(Rejection("bad"), {"a": 1})], window=window)
    with engine.connect() as conn:
        row = conn.execute(select(schema.load_batches)).mappings().one()
    assert row["outcome"] == "succeeded"
    assert (row["records_read"], row["inserted"], row["rejected"]) == (3, 2, 1)
    assert (row["window_start"], row["window_end"]) == window
    assert row["id"] == batch.batch_id
    assert read_watermark(engine, "one_stop", "dossiers") == window[1]


def test_the_watermark_never_moves_backwards(engine):
    late, early = (T0, T0 + timedelta(days=2)), (T0 - timedelta(days=30), T0 - timedelta(days=29))
    load(engine, [dossier(1)], window=late)
    load(engine, [dossier(2)], window=early)  # a backfill of an old window
    assert read_watermark(engine, "one_stop", "dossiers") == late[1]


def test_quarantine_keeps_each_rejected_record_once_with_its_reason(engine):
    rej = [
        (Rejection("unparseable date NgayTiepNhan='2019'", "D9"), {"MaHoSo": "D9"}),
        (Rejection("missing dossier number (MaHoSo)"), {"MaTTHC": "1"}),
    ]
    first = load(engine, [], rej)
    second = load(engine, [], rej)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(schema.rejected_records).order_by(schema.rejected_records.c.source_id)
            )
            .mappings()
            .all()
        )
    assert len(rows) == 2
    by_id = {r["source_id"]: r for r in rows}
    assert by_id["D9"]["reason"].startswith("unparseable date")
    assert by_id["D9"]["first_batch_id"] == first.batch_id
    assert by_id["D9"]["batch_id"] == second.batch_id
    assert '"MaHoSo": "D9"' in by_id["D9"]["payload"]


def test_a_run_killed_mid_batch_is_later_marked_abandoned(engine):
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    import socket

    with engine.begin() as conn:
        conn.execute(
            insert(schema.load_batches).values(
                source="one_stop",
                stream="dossiers",
                started_at=datetime.now(UTC),
                outcome="running",
                pid=dead_pid,
                host=socket.gethostname(),
            )
        )
    load(engine, [dossier(1)])
    with engine.connect() as conn:
        outcomes = conn.execute(
            select(schema.load_batches.c.pid, schema.load_batches.c.outcome).order_by(
                schema.load_batches.c.id
            )
        ).all()
    assert outcomes == [(dead_pid, "abandoned"), (os.getpid(), "succeeded")]


def test_times_come_back_timezone_aware_and_local_dates_are_local(engine):
    late_evening = datetime(2019, 3, 1, 23, 30, tzinfo=LOCAL_TZ)  # 16:30 UTC, same local day
    load(engine, [dossier(1, received_at=late_evening, due_at=late_evening + timedelta(days=1))])
    with engine.connect() as conn:
        received_at, received_date = conn.execute(
            select(schema.dossiers.c.received_at, schema.dossiers.c.received_date)
        ).one()
    assert received_at == late_evening and received_at.tzinfo is not None
    assert received_date.isoformat() == "2019-03-01"


def test_naive_datetimes_are_refused(engine):
    """A naive instant never reaches a column: the record is quarantined (the loader's rules),
    and the column type refuses one written past the loader."""
    naive = dataclasses.replace(dossier(1), source_updated_at=datetime(2019, 3, 1, 8, 0))
    batch = load(engine, [naive, dossier(2)])
    assert batch.counts.rejected == 1 and count(engine, schema.dossiers) == 1
    with engine.connect() as conn:
        reason = conn.execute(select(schema.rejected_records.c.reason)).scalar_one()
    assert reason == "source_updated_at: no time zone (a naive date-time)"
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            insert(schema.watermarks).values(
                source="s", stream="s", value=datetime(2019, 3, 1), updated_at=T0
            )
        )


def test_catalogues_and_ratings_upsert_by_key(engine):
    load(engine, [Agency("A1", "Sở Tư pháp", None)], stream="agencies")
    batch = load(engine, [Agency("A1", "Sở Tư pháp tỉnh Lạng Sơn", None)], stream="agencies")
    assert batch.counts.updated == 1
    rating = Rating("R1", "D1", "A1", 1, T0)
    load(engine, [rating, rating], stream="ratings")
    load(engine, [dataclasses.replace(rating, level=2)], stream="ratings")
    with engine.connect() as conn:
        assert (
            conn.execute(select(schema.agencies.c.name)).scalar_one() == "Sở Tư pháp tỉnh Lạng Sơn"
        )
        assert conn.execute(select(schema.ratings.c.level)).scalar_one() == 2


def test_updates_change_only_the_rows_that_changed(engine):
    load(engine, [dossier(n) for n in range(10)])
    changed = [
        dossier(n, status=9, updated=T0 + timedelta(hours=1)) if n < 3 else dossier(n)
        for n in range(10)
    ]
    batch = load(engine, changed)
    assert (batch.counts.updated, batch.counts.unchanged) == (3, 7)
    with engine.begin() as conn:  # the stored batch id says which load last changed a row
        ids = dict(
            conn.execute(select(schema.dossiers.c.source_id, schema.dossiers.c.batch_id)).all()
        )
        conn.execute(update(schema.dossiers).values(batch_id=None))
    assert ids["D0"] == batch.batch_id and ids["D9"] != batch.batch_id


def test_an_event_listed_twice_by_the_source_is_one_event(engine):
    twice = dossier(1, status=9, updated=T0)
    twice = dataclasses.replace(twice, history=(*twice.history, StatusEvent(9, T0)))
    load(engine, [twice])
    assert [s for s, _ in history(engine, "D1")] == [2, 9]


def test_a_rejected_record_with_odd_keys_is_still_quarantined(engine):
    payload = {None: "x", 1: "y", "MaHoSo": "D1", "nested": {None: [1, {2: 3}]}}
    load(engine, [], [(Rejection("record is not an object"), payload)])
    with engine.connect() as conn:
        stored = conn.execute(select(schema.rejected_records.c.payload)).scalar_one()
    assert '"null": "x"' in stored or '"None": "x"' in stored
