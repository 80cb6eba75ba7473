"""A period's dossiers read through three index ranges (scope.scoped_dossiers) are exactly those in
scope: received by the period's end and not ended before its start — carried over from years back,
ended more or less than LONG_RUNNING_DAYS after receipt, bad dates and twins included."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.reports.factories import catalogue, dossier, load
from warehouse import schema
from warehouse.reports.due_dates import computed_due_dates
from warehouse.reports.scope import LONG_RUNNING_DAYS, in_scope, scoped_dossiers

Q1 = (date(2019, 1, 1), date(2019, 3, 31))
FAR = Q1[0] - timedelta(days=LONG_RUNNING_DAYS)  # 2018-10-01: older receipts need the long range

DOSSIERS = [
    # received in the period
    dossier("first-day", "2019-01-01T08:00"),
    dossier("last-day", "2019-03-31T16:00", ended="2019-04-02T08:00"),
    dossier("after", "2019-04-01T08:00"),
    dossier("ended-before-received", "2019-02-01T08:00", ended="2018-12-15T08:00"),
    # received in the LONG_RUNNING_DAYS before it
    dossier("near-open", "2018-12-31T08:00"),
    dossier("near-ended-in", "2018-10-01T08:00", ended="2019-01-01T08:00"),
    dossier("near-ended-before", "2018-10-01T08:00", ended="2018-12-31T16:00"),
    # received earlier: only long-running ones can still be open
    dossier("far-open", "2016-05-01T08:00"),
    dossier("far-ended-in", "2018-06-01T08:00", ended="2019-02-01T08:00"),
    dossier("far-ended-after", "2017-06-01T08:00", ended="2019-07-01T08:00"),
    dossier("far-93-days", "2018-09-30T08:00", ended="2019-01-01T08:00"),
    dossier("far-92-days", "2018-09-30T08:00", ended="2018-12-31T08:00"),
    dossier("far-ended-before", "2017-06-01T08:00", ended="2017-07-01T08:00"),
    dossier("far-bad-dates", "2018-05-01T08:00", ended="2018-04-01T08:00"),
    dossier("refused", "2018-05-01T08:00", status=3),
]
IN_Q1 = {
    "first-day",
    "last-day",
    "near-open",
    "near-ended-in",
    "far-open",
    "far-ended-in",
    "far-ended-after",
    "far-93-days",
}


def _numbers(engine, query) -> set[str]:
    d = schema.dossiers
    ids = query.subquery()
    with engine.connect() as conn:
        return set(
            conn.execute(select(d.c.dossier_number).where(d.c.id.in_(select(ids.c.id)))).scalars()
        )


@pytest.fixture
def warehouse(engine):
    catalogue(engine)
    load(engine, "one_stop", DOSSIERS)
    return engine


def test_the_three_ranges_find_exactly_the_dossiers_in_scope(warehouse):
    scoped = scoped_dossiers(*Q1)
    assert _numbers(warehouse, select(scoped.c.id)) == IN_Q1
    d = schema.dossiers
    assert _numbers(warehouse, select(d.c.id).where(*in_scope(*Q1))) == IN_Q1


@pytest.mark.parametrize(
    "period",
    [
        (date(2018, 1, 1), date(2018, 12, 31)),
        (date(2018, 12, 15), date(2019, 1, 14)),  # a cut-off month across the year end
        (date(2019, 2, 1), date(2019, 2, 28)),
        (date(2019, 7, 1), date(2019, 7, 1)),
        (date(2016, 5, 1), date(2016, 5, 1)),
    ],
)
def test_any_period_reads_what_the_plain_condition_reads(warehouse, period):
    d, scoped = schema.dossiers, scoped_dossiers(*period)
    with warehouse.connect() as conn:
        rows = conn.execute(select(scoped.c.id)).scalars().all()
    assert len(rows) == len(set(rows)), "the ranges overlap"
    plain = select(d.c.id).where(*in_scope(*period))
    assert _numbers(warehouse, select(scoped.c.id)) == _numbers(warehouse, plain)


def test_a_twin_with_a_due_date_spares_its_record_a_computed_one(engine):
    catalogue(engine)
    load(
        engine,
        "criminal_record",
        [
            dossier("M-1", "2019-01-10T08:00", procedure="P1"),
            dossier("M-2", "2019-01-10T08:00", procedure="P1"),
            dossier("M-3", "2019-01-10T08:00", procedure="P1"),
        ],
    )
    load(
        engine,
        "one_stop",
        [
            dossier("M-1", "2019-01-10T07:30", procedure="P1", due="2019-01-24T17:00"),
            dossier("M-2", "2019-01-10T07:30", procedure="P1"),  # a twin without one
        ],
    )
    d = schema.dossiers
    with engine.connect() as conn:
        due = computed_due_dates(conn, *Q1)
        query = select(d.c.dossier_number).where(d.c.id.in_(list(due)))
        numbers = conn.execute(query).scalars().all()
        linked = conn.execute(select(d.c.linked_to).where(d.c.linked_to.is_not(None))).all()
    assert len(linked) == 2
    assert sorted(numbers) == ["M-2", "M-3"]
