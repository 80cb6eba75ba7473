"""The database keeps newer-wins and the forward-only watermark in the write itself, on SQLite and
PostgreSQL: a transaction that commits between the loader's read and its write (a lost source
lock, a loader outside the pipeline) never makes an older version overwrite a newer one, nor
moves the watermark back, and the batch's counts say what really happened."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from mappings.canonical import Dossier
from tests.helpers import count
from tests.warehouse.test_loader import T0, dossier, load
from warehouse import schema
from warehouse.bulk import BulkWriter
from warehouse.entities import ENTITIES, content_hash
from warehouse.loader import move_watermark, read_watermark

D = schema.dossiers


def stored(engine, source_id: str = "D1"):
    with engine.connect() as conn:
        return conn.execute(
            select(D.c.status, D.c.source_updated_at, D.c.content_hash).where(
                D.c.source_id == source_id
            )
        ).one()


def row_of(record: Dossier) -> dict:
    row = ENTITIES[Dossier].to_row(record, "one_stop")
    row["content_hash"] = content_hash(row)
    row["batch_id"] = None
    return row


def commit_elsewhere(engine, record: Dossier) -> None:
    """Another writer stores `record`'s version of its dossier, and commits."""
    row = row_of(record)
    with engine.begin() as conn:
        exists = conn.execute(select(D.c.id).where(D.c.source_id == row["source_id"])).first()
        if exists:
            conn.execute(D.update().where(D.c.id == exists.id).values(row))
        else:
            conn.execute(insert(D).values(row))


def before(monkeypatch, method: str, action) -> None:
    """Run `action` once, just before the loader's first `BulkWriter.<method>` with rows."""
    real = getattr(BulkWriter, method)
    done = []

    def hooked(self, table, *args, **kwargs):
        rows = args[-1] if method == "insert_new" else args[1]
        if table is D and rows and not done:
            done.append(True)
            action()
        return real(self, table, *args, **kwargs)

    monkeypatch.setattr(BulkWriter, method, hooked)


def test_an_update_is_refused_where_a_newer_version_was_committed_after_the_read(
    engine, monkeypatch
):
    load(engine, [dossier(1, status=4, updated=T0)])
    newest = dossier(1, status=9, updated=T0 + timedelta(hours=3))
    before(monkeypatch, "update", lambda: commit_elsewhere(engine, newest))
    # The loader read T0 and decides to update with T0+1h; T0+3h is committed in between.
    batch = load(engine, [dossier(1, status=5, updated=T0 + timedelta(hours=1))])
    assert stored(engine).status == 9
    assert stored(engine).source_updated_at == T0 + timedelta(hours=3)
    assert (batch.counts.updated, batch.counts.stale) == (0, 1)


@pytest.mark.parametrize("theirs", ["older", "newer"])
def test_a_key_inserted_by_another_transaction_after_the_read_is_compared_not_broken(
    engine, monkeypatch, theirs
):
    offset = timedelta(hours=-1 if theirs == "older" else 3)
    other = dossier(1, status=5, updated=T0 + offset)
    before(monkeypatch, "insert_new", lambda: commit_elsewhere(engine, other))
    # The loader read no D1 and decides to insert it (with D2..D4); D1 is committed in between.
    batch = load(engine, [dossier(1, status=9, updated=T0), *(dossier(n) for n in (2, 3, 4))])
    assert count(engine, D) == 4
    if theirs == "older":
        assert stored(engine).status == 9
        assert (batch.counts.inserted, batch.counts.updated, batch.counts.stale) == (3, 1, 0)
        # Our version replaced theirs, and its status history was recorded.
        h = schema.dossier_status_history
        with engine.connect() as conn:
            statuses = conn.execute(
                select(h.c.status).join(D, D.c.id == h.c.dossier_id).where(D.c.source_id == "D1")
            ).scalars()
            assert 9 in set(statuses)
    else:
        assert stored(engine).status == 5
        assert (batch.counts.inserted, batch.counts.updated, batch.counts.stale) == (3, 0, 1)


def test_the_writes_themselves_refuse_an_older_version(engine):
    """BulkWriter with no read before it: the statements alone keep the newer version."""
    load(engine, [dossier(1, status=9, updated=T0 + timedelta(hours=2))])
    with engine.connect() as conn:
        stored_id = conn.execute(select(D.c.id)).scalar_one()
    older = row_of(dossier(1, status=5, updated=T0)) | {"id": stored_id}
    newer = row_of(dossier(1, status=10, updated=T0 + timedelta(hours=4))) | {"id": stored_id}
    changes = {c: v for c, v in older.items() if c not in ("source", "source_id")}
    with engine.begin() as conn:
        writer = BulkWriter(conn)
        assert writer.update(D, "id", [changes], guard="source_updated_at") == 0
        assert writer.insert_new(D, ("source", "source_id"), [row_of(dossier(1))]) == 0
    assert stored(engine).status == 9
    changes = {c: v for c, v in newer.items() if c not in ("source", "source_id")}
    with engine.begin() as conn:
        assert BulkWriter(conn).update(D, "id", [changes], guard="source_updated_at") == 1
    assert stored(engine).status == 10


def test_newer_then_older_of_one_record_in_one_page_and_across_pages(engine):
    newer = dossier(1, status=9, updated=T0 + timedelta(hours=2))
    older = dossier(1, status=5, updated=T0)
    one_page = load(engine, [newer, older])
    assert stored(engine).status == 9
    assert (one_page.counts.inserted, one_page.counts.unchanged, one_page.counts.stale) == (1, 1, 0)

    newer2 = dossier(2, status=9, updated=T0 + timedelta(hours=2))
    older2 = dossier(2, status=5, updated=T0)
    across = load(engine, [newer2, older2], pages=2)
    assert stored(engine, "D2").status == 9
    assert (across.counts.inserted, across.counts.stale) == (1, 1)


def test_the_watermark_never_moves_back_nor_collides_when_two_move_it_at_once(engine):
    late, early = T0 + timedelta(days=2), T0 - timedelta(days=30)
    errors: list[Exception] = []

    def move_early() -> None:
        try:
            with engine.begin() as conn:
                move_watermark(conn, "one_stop", "dossiers", early, None)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    # One transaction inserts the first watermark and has not committed when another moves it
    # to an earlier value: the second waits, then finds the later value and leaves it.
    with engine.begin() as conn:
        move_watermark(conn, "one_stop", "dossiers", late, None)
        other = threading.Thread(target=move_early)
        other.start()
        time.sleep(0.5)
    other.join(timeout=60)
    assert errors == []
    assert read_watermark(engine, "one_stop", "dossiers") == late
    with engine.begin() as conn:
        move_watermark(conn, "one_stop", "dossiers", early, None)
    assert read_watermark(engine, "one_stop", "dossiers") == late
    with engine.begin() as conn:
        move_watermark(conn, "one_stop", "dossiers", late + timedelta(days=1), None)
    assert read_watermark(engine, "one_stop", "dossiers") == late + timedelta(days=1)
