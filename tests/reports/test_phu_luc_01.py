"""Phụ lục 01 counting rules (docs/domain.md) on hand-made dossiers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from lienthong.render import PHU_LUC_01_CSV_HEADER, phu_luc_01_csv
from mappings.canonical import Agency, Dossier, Procedure, StatusEvent
from mappings.common import LOCAL_TZ
from warehouse.loader import Batch
from warehouse.reports.grouping import UnknownGrouping
from warehouse.reports.phu_luc_01 import COLUMNS, phu_luc_01

Q1 = (date(2019, 1, 1), date(2019, 3, 31))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def d(
    key, received, *, ended=None, due=None, status=None, channel=1, agency="A1", procedure="P1"
) -> Dossier:
    status = status or (9 if ended else 4)
    recv = at(received) if received else None
    history = ((StatusEvent(2, recv),) if recv else ()) + (
        (StatusEvent(status, at(ended)),) if ended else ()
    )
    return Dossier(
        source_id=key,
        dossier_number=key,
        procedure_code=procedure,
        agency_code=agency,
        applicant_type=1,
        applicant_ref=None,
        channel=channel,
        result_delivery=0,
        submitted_at=recv,
        received_at=recv,
        due_at=at(due) if due else None,
        due_extended=False,
        ended_at=at(ended) if ended else None,
        status=status,
        on_the_spot=False,
        paid_online=False,
        fee_amount=0,
        source_updated_at=at(ended or received or "2019-01-01T00:00"),
        history=history,
    )


CASES = [
    d("early", "2019-01-10T08:00", ended="2019-01-15T09:00", due="2019-01-20T17:00", channel=2),
    # Same day, earlier hour: "on the due date" compares dates, not timestamps.
    d("on-time", "2019-02-01T08:00", ended="2019-02-10T16:00", due="2019-02-10T17:00"),
    d("late", "2019-02-01T08:00", ended="2019-02-12T08:00", due="2019-02-10T17:00", channel=3),
    d("carried", "2018-12-20T08:00", ended="2019-01-05T10:00", due="2019-01-07T17:00"),
    d("ended-before", "2018-12-01T08:00", ended="2018-12-30T10:00", due="2019-01-07T17:00"),
    d("pending-in-due", "2019-03-20T08:00", due="2019-04-05T17:00", channel=2),
    d("pending-overdue", "2019-03-01T08:00", due="2019-03-25T17:00"),
    d("due-on-last-day", "2019-03-01T08:00", due="2019-03-31T17:00"),  # not before: within due
    d("ends-after", "2019-03-30T08:00", ended="2019-04-02T10:00", due="2019-04-10T17:00"),
    d("refused", None, status=3),
    d("not-accepted", "2019-02-01T08:00", status=1, channel=2),
    d("next-quarter", "2019-04-01T08:00"),
    d("no-due", "2019-02-01T08:00", ended="2019-02-03T10:00", agency="A2", procedure="P9"),
    d(
        "withdrawn",
        "2019-02-01T08:00",
        ended="2019-02-20T10:00",
        due="2019-02-15T17:00",
        status=7,
        agency="A2",
    ),
    # 23:30 local on 31 March is 16:30 UTC: still Q1. 00:30 local on 1 April is 17:30 UTC on
    # 31 March: Q2. A report in UTC would swap them.
    d("late-evening", "2019-03-31T23:30", agency="A2"),
    d("after-midnight", "2019-04-01T00:30", agency="A2"),
]


@pytest.fixture
def loaded(engine):
    with Batch(engine, source="one_stop", stream="agencies") as b:
        b.load_page([Agency("A1", "Sở Tư pháp", None), Agency("A2", "Sở Y tế", None)])
    with Batch(engine, source="one_stop", stream="procedures") as b:
        b.load_page(
            [Procedure("P1", "Cấp phiếu", "F1", "Lý lịch tư pháp", "A1", 10, "day", "level_3", 0)]
        )
    with Batch(engine, source="one_stop", stream="dossiers") as b:
        b.load_page(CASES)
    return engine


def test_every_counting_rule(loaded):
    report = phu_luc_01(loaded, *Q1)
    a1, a2 = report.rows
    assert (a1.code, a1.name, a2.name) == ("A1", "Sở Tư pháp", "Sở Y tế")
    assert (a1.received_online, a1.received_direct, a1.received_postal, a1.carried_over) == (
        2,
        4,
        1,
        1,
    )
    assert (a1.resolved_early, a1.resolved_on_time, a1.resolved_late) == (2, 1, 1)
    assert (a1.pending_within_due, a1.pending_overdue) == (3, 1)
    # A2: no-due (resolved, counted on time), withdrawn (ended late), late-evening (pending).
    assert (a2.received_direct, a2.resolved_on_time, a2.resolved_late, a2.pending_total) == (
        3,
        1,
        1,
        1,
    )
    assert report.no_due_date == 1 and "no due date" in report.notes[0]
    assert report.total.received_total == a1.received_total + a2.received_total == 11


def test_received_equals_resolved_plus_pending_on_every_row(loaded):
    for by in ("agency", "field", "procedure"):
        report = phu_luc_01(loaded, *Q1, by=by)
        for row in [*report.rows, report.total]:
            assert row.received_total == row.resolved_total + row.pending_total, (by, row)
            assert row.received_total == (
                row.received_online + row.received_direct + row.received_postal + row.carried_over
            )


def test_by_field_uses_the_catalogue(loaded):
    report = phu_luc_01(loaded, *Q1, by="field")
    names = {r.code: r.name for r in report.rows}
    assert names["F1"] == "Lý lịch tư pháp"
    assert "(unknown)" in names  # procedures missing from the catalogue are not dropped


def test_csv_header_is_exact_and_total_row_is_total(loaded):
    text = phu_luc_01_csv(phu_luc_01(loaded, *Q1))
    lines = text.splitlines()
    assert lines[0] == (
        "agency_code,agency_name,received_total,received_online,received_direct,"
        "received_postal,carried_over,resolved_total,resolved_early,"
        "resolved_on_time,resolved_late,pending_total,pending_within_due,"
        "pending_overdue"
    )
    assert lines[0].split(",") == PHU_LUC_01_CSV_HEADER and len(COLUMNS) == 12
    assert lines[-1].startswith("TOTAL,")


def test_an_empty_period_has_a_zero_total(loaded):
    report = phu_luc_01(loaded, date(2015, 1, 1), date(2015, 3, 31))
    assert report.rows == [] and report.total.values() == [0] * 12


def test_bad_arguments_are_clear_errors(loaded):
    with pytest.raises(UnknownGrouping, match="officer") as refused:
        phu_luc_01(loaded, *Q1, by="officer")
    assert refused.value.allowed == ("agency", "field", "procedure")
    with pytest.raises(ValueError, match="ends before it starts"):
        phu_luc_01(loaded, Q1[1], Q1[0])


def test_row_fields_follow_the_column_order():
    from dataclasses import fields

    from warehouse.reports.phu_luc_01 import Row

    assert tuple(f.name for f in fields(Row))[2:] == COLUMNS
