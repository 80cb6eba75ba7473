"""The driver-level bulk writer stores exactly what SQLAlchemy Core statements store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from warehouse import schema
from warehouse.bulk import BulkWriter, _sqlite_instant

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _dossier(source_id: str, **changes) -> dict:
    row = {
        "source": "one_stop",
        "source_id": source_id,
        "dossier_number": source_id,
        "procedure_code": "1.001612",
        "agency_code": "000.00.12.H22",
        "applicant_type": 1,
        "applicant_ref": "ab" * 32,
        "channel": 2,
        "result_delivery": None,
        "submitted_at": datetime(2019, 2, 28, 7, 0, tzinfo=LOCAL),
        "received_at": datetime(2019, 2, 28, 8, 0, 0, 123456, tzinfo=LOCAL),
        "due_at": None,
        "due_extended": False,
        "ended_at": datetime(2019, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5))),
        "status": 9,
        "on_the_spot": True,
        "paid_online": False,
        "fee_amount": 50_000,
        "received_date": date(2019, 2, 28),
        "due_date": None,
        "ended_date": date(2019, 3, 1),
        "intake_number": None,
        "attributes": {"z": 1, "a": ["x", 2]},
        "quality_flags": None,
        "source_updated_at": datetime(2019, 3, 1, 9, 0, tzinfo=UTC),
        "content_hash": "0" * 32,
        "batch_id": 7,
    }
    return row | changes


def _stored(engine, table) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.source_id))]


def test_rows_written_in_bulk_equal_rows_written_by_core(engine):
    rows = [_dossier("A"), _dossier("B", attributes=None, received_at=None, channel=1)]
    with engine.begin() as conn:
        conn.execute(insert(schema.dossiers), [r | {"source": "core"} for r in rows])
        BulkWriter(conn).insert(schema.dossiers, rows)
    core = [r[2:] for r in _stored(engine, schema.dossiers) if r[1] == "core"]
    bulk = [r[2:] for r in _stored(engine, schema.dossiers) if r[1] == "one_stop"]
    assert bulk == core and len(bulk) == 2


def test_update_sets_every_given_column_of_the_matching_rows_only(engine):
    with engine.begin() as conn:
        BulkWriter(conn).insert(schema.dossiers, [_dossier("A"), _dossier("B"), _dossier("C")])
    with engine.connect() as conn:
        ids = dict(conn.execute(select(schema.dossiers.c.source_id, schema.dossiers.c.id)).all())
    with engine.begin() as conn:
        writer = BulkWriter(conn)
        for _ in range(2):  # twice in one transaction: PostgreSQL reuses its staging table
            writer.update(
                schema.dossiers,
                "id",
                [
                    {"id": ids["A"], "status": 10, "ended_at": datetime(2019, 3, 2, tzinfo=UTC)},
                    {"id": ids["C"], "status": 7, "ended_at": None},
                ],
            )
    with engine.connect() as conn:
        got = {
            sid: (status, ended)
            for sid, status, ended in conn.execute(
                select(
                    schema.dossiers.c.source_id,
                    schema.dossiers.c.status,
                    schema.dossiers.c.ended_at,
                )
            )
        }
    assert got == {
        "A": (10, datetime(2019, 3, 2, tzinfo=UTC)),
        "B": (9, datetime(2019, 3, 1, 5, 30, tzinfo=UTC)),
        "C": (7, None),
    }


def test_a_naive_instant_is_refused(engine):
    with engine.begin() as conn, pytest.raises(ValueError, match="naive datetime"):
        BulkWriter(conn).insert(schema.dossiers, [_dossier("A", received_at=datetime(2019, 1, 1))])


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2019, 1, 1, tzinfo=LOCAL),
        datetime(1960, 6, 1, 12, 0, 0, 1, tzinfo=LOCAL),  # an older offset of the zone
        datetime(2019, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2020, 2, 29, 1, 0, tzinfo=timezone(timedelta(hours=14))),
    ],
)
def test_sqlite_instants_use_sqlalchemys_storage_format(sqlite_engine, instant):
    core = schema.dossiers.c.received_at.type
    process = core.dialect_impl(sqlite_engine.dialect).bind_processor(sqlite_engine.dialect)
    assert _sqlite_instant(instant) == process(instant)


@pytest.mark.parametrize("day", [date(2019, 1, 1), date(999, 12, 31), None])
def test_sqlite_dates_use_sqlalchemys_storage_format(sqlite_engine, day):
    from warehouse.bulk import _sqlite_date

    core = schema.dossiers.c.received_date.type
    process = core.dialect_impl(sqlite_engine.dialect).bind_processor(sqlite_engine.dialect)
    assert _sqlite_date(day) == process(day)


def test_an_instant_shared_by_rows_is_converted_once_and_right(sqlite_engine):
    shared = datetime(2019, 2, 28, 8, 0, tzinfo=LOCAL)
    with sqlite_engine.connect() as conn:
        writer = BulkWriter(conn)
        first = writer._sqlite_instant(shared)
        again = writer._sqlite_instant(shared)
        other = writer._sqlite_instant(datetime(2019, 2, 28, 9, 0, tzinfo=LOCAL))
    assert first is again and first == "2019-02-28 01:00:00.000000"
    assert other == "2019-02-28 02:00:00.000000"
