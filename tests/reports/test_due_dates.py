"""Due dates at report time: the source's is kept; a missing one is computed from the legal duration
and the working-day calendar, and counted, while the warehouse keeps what the source said."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect, select

from tests.reports.factories import Q1, catalogue, dossier, load
from warehouse import schema
from warehouse.reports.base import counting
from warehouse.reports.phu_luc_01 import phu_luc_01

FEB = (date(2019, 2, 1), date(2019, 2, 28))


def test_a_missing_due_date_is_computed_over_tet_and_counted(engine):
    catalogue(engine)  # P4: 1 working day
    load(
        engine,
        "one_stop",
        [
            # Received the Friday before Tết 2019, 1 working day: due Monday 11/02 (not 04/02,
            # which a weekdays-only calendar would give).
            dossier("tet-on-time", "2019-02-01T10:00", ended="2019-02-11T16:00", procedure="P4"),
            dossier("tet-late", "2019-02-01T10:00", ended="2019-02-12T08:00", procedure="P4"),
            dossier("tet-early", "2019-02-01T10:00", ended="2019-02-01T16:00", procedure="P4"),
        ],
    )
    report = phu_luc_01(engine, *FEB)
    (row,) = report.rows
    assert (row.resolved_early, row.resolved_on_time, row.resolved_late) == (1, 1, 1)
    assert report.due_computed == 3 and report.no_due_date == 0
    assert any("computed from the procedure's legal duration" in n for n in report.notes)
    with engine.connect() as conn:  # the warehouse still says what the source said
        stored = conn.execute(select(schema.dossiers.c.due_date)).scalars().all()
    assert stored == [None, None, None]


def test_the_sources_due_date_wins_over_the_legal_duration(engine):
    catalogue(engine)
    load(
        engine,
        "one_stop",
        # P4 is 1 working day, but the source promised 15/02: on time by the source.
        [dossier("kept", "2019-02-11T08:00", ended="2019-02-15T10:00", due="2019-02-15T17:00")],
    )
    report = phu_luc_01(engine, *FEB)
    assert report.total.resolved_on_time == 1 and report.due_computed == 0


def test_an_hour_duration_received_after_17_counts_from_the_next_morning(engine):
    catalogue(engine)  # P3: 4 working hours
    load(
        engine,
        "one_stop",
        [
            # Received Friday 01/03 17:30: counts from Monday 04/03 07:00, due 11:00 that day;
            # resolved at 15:00 the same day is on the due date (dates are compared).
            dossier("evening", "2019-03-01T17:30", ended="2019-03-04T15:00", procedure="P3"),
            # Received Friday 01/03 09:00: 2.5 hours before lunch, 1.5 after: due 15:00 that day.
            dossier("morning", "2019-03-01T09:00", ended="2019-03-04T08:00", procedure="P3"),
            # Still pending on 31/03 and long past its due date.
            dossier("pending", "2019-03-01T09:00", procedure="P3", agency="A2"),
        ],
    )
    report = phu_luc_01(engine, *Q1)
    totals = report.total
    assert (totals.resolved_on_time, totals.resolved_late, totals.pending_overdue) == (1, 1, 1)


def test_no_procedure_duration_means_on_time_and_a_data_quality_note(engine):
    catalogue(engine)
    load(
        engine,
        "one_stop",
        [dossier("unknown", "2019-02-11T08:00", ended="2019-03-20T10:00", procedure="9.999999")],
    )
    report = phu_luc_01(engine, *Q1)
    assert report.total.resolved_on_time == 1 and report.no_due_date == 1
    assert report.due_computed == 0 and "no due date" in report.notes[0]


def test_a_ministry_record_without_due_date_takes_its_counter_receipts(engine):
    catalogue(engine)
    # The ministry record gives no due date; the one-stop receipt promised 13/02.
    load(engine, "criminal_record", [dossier("M-1", "2019-02-11T08:00", ended="2019-02-14T09:00")])
    load(
        engine,
        "one_stop",
        [dossier("M-1", "2019-02-11T08:00", due="2019-02-13T17:00", status=4, channel=2)],
    )
    report = phu_luc_01(engine, *FEB)
    totals = report.total
    assert (totals.received_total, totals.received_online, totals.resolved_late) == (1, 1, 1)
    assert report.due_computed == 0


def test_the_computed_due_table_does_not_outlive_the_report(engine):
    catalogue(engine)
    load(engine, "one_stop", [dossier("x", "2019-02-01T10:00", procedure="P4")])
    for _ in range(2):  # the same pooled connection can open a report again
        with counting(engine, *FEB) as report:
            rows = report.conn.execute(select(report.rules.c.c.due_date)).scalars().all()
            assert rows == [date(2019, 2, 11)]
    with engine.connect() as conn:
        assert "report_computed_due" not in inspect(conn).get_table_names()
        assert "report_computed_due" not in (
            inspect(conn).get_temp_table_names() if conn.dialect.name == "sqlite" else []
        )
