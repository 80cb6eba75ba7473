"""Phụ lục 01, 02, 03 and "4 tại chỗ" against an independent count, with their invariants, on the
stand-in's data and on hand-made dossiers, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from simulators.one_stop import build_dataset
from tests.reports.factories import (
    H1,
    Q1,
    catalogue,
    dossier,
    expected,
    facts_of,
    facts_of_dataset,
    load,
    load_dataset,
)
from warehouse.reports import on_the_spot, phu_luc_01, phu_luc_02, phu_luc_03
from warehouse.reports.grouping import UnknownGrouping
from warehouse.reports.periods import parse_period

P01 = (
    "received_online",
    "received_direct",
    "received_postal",
    "carried_over",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "pending_within_due",
    "pending_overdue",
)
P02 = (
    "received",
    "online_partial",
    "online_full",
    "online_resolved",
    "online_resolved_on_time",
    "fee_bearing",
    "paid_online",
)
P03 = {"received": "received", "received_postal": "received_postal"}
P03 |= {"resolved": "with_result", "returned_by_post": "returned_by_post"}
SPOT = ("received", "on_the_spot")


def counters(report, names, renamed=None) -> dict[str, Counter]:
    renamed = renamed or {n: n for n in names}
    out = {r.code: +Counter({renamed[n]: getattr(r, n) for n in names}) for r in report.rows}
    return {k: v for k, v in out.items() if v}


def want(truth, period, names) -> dict[str, Counter]:
    out = {k: +Counter({n: c[n] for n in names}) for k, c in expected(truth, *period).items()}
    return {k: v for k, v in out.items() if v}


def check_invariants(engine, period) -> None:
    """Totals are the sums of the rows; received = resolved + pending; (3) = (4) + (5) …"""
    for by in ("agency", "field", "procedure"):
        p01 = phu_luc_01.phu_luc_01(engine, *period, by=by)
        for row in [*p01.rows, p01.total]:
            assert row.received_total == row.resolved_total + row.pending_total, (by, row)
        for report in (
            p01,
            phu_luc_02.phu_luc_02(engine, *period, by=by),
            phu_luc_03.phu_luc_03(engine, *period, by=by),
            on_the_spot.four_on_the_spot(engine, *period, by=by),
        ):
            for i in range(len(report.total.values())):
                cells = [row.values()[i] for row in report.rows]
                if all(isinstance(v, int) for v in cells):
                    assert report.total.values()[i] == sum(cells), (type(report), by, i)
        p02 = phu_luc_02.phu_luc_02(engine, *period, by=by)
        for row in [*p02.rows, p02.total]:
            assert row.procedures_online == row.procedures_partial + row.procedures_full
            assert row.online_total == row.online_partial + row.online_full <= row.received
            assert row.paid_online <= row.fee_bearing


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=11)


PERIODS = [H1, (date(2019, 4, 1), date(2019, 6, 30))]
CUTOFF_Q2 = parse_period("2019-Q2", cutoff=True)


def test_the_stand_ins_data_counted_independently(engine, dataset):
    load_dataset(engine, dataset)
    truth = facts_of_dataset(dataset)
    for period in [*PERIODS, (CUTOFF_Q2.start, CUTOFF_Q2.end)]:
        assert counters(phu_luc_01.phu_luc_01(engine, *period), P01) == want(truth, period, P01)
        assert counters(phu_luc_02.phu_luc_02(engine, *period), P02) == want(truth, period, P02)
        got = counters(phu_luc_03.phu_luc_03(engine, *period), tuple(P03), P03)
        assert got == want(truth, period, tuple(P03.values()))
        spot = on_the_spot.four_on_the_spot(engine, *period)
        assert counters(spot, SPOT) == want(truth, period, SPOT)
    check_invariants(engine, H1)


def test_procedures_offered_online_come_from_the_catalogue(engine, dataset):
    load_dataset(engine, dataset)
    report = phu_luc_02.phu_luc_02(engine, *H1)
    counts: dict[str, Counter] = {}
    for p in dataset.procedures:
        level = {"3": "procedures_partial", "4": "procedures_full"}.get(str(p["MucDo"]))
        if level:
            counts.setdefault(p["MaCoQuan"], Counter())[level] += 1
    got = {
        r.code: +Counter(
            {"procedures_partial": r.procedures_partial, "procedures_full": r.procedures_full}
        )
        for r in report.rows
    }
    assert {k: v for k, v in got.items() if v} == counts
    # 2019 is before Decree 42/2022: the columns are levels 3 and 4.
    assert report.level_labels == ("Mức độ 3", "Mức độ 4")


# -- hand-made dossiers, two of them processed in a ministry system -------------------------------

HAND_MADE = [
    dossier(
        "d1",
        "2019-01-10T08:00",
        ended="2019-01-15T09:00",
        due="2019-01-20T17:00",
        channel=2,
        procedure="P1",
        fee=50_000,
        paid=True,
        delivery=1,
    ),
    dossier(
        "d2",
        "2019-02-01T08:00",
        ended="2019-02-12T16:00",
        due="2019-02-12T17:00",
        procedure="P1",
        on_spot=True,
    ),
    dossier(
        "d3",
        "2019-02-01T08:00",
        ended="2019-02-14T08:00",
        due="2019-02-12T17:00",
        channel=3,
        procedure="P1",
        fee=20_000,
        delivery=1,
    ),
    dossier("d4", "2018-12-20T08:00", ended="2019-01-07T10:00", due="2019-01-07T17:00"),
    dossier(
        "d5",
        "2019-03-20T08:00",
        due="2019-04-05T17:00",
        channel=2,
        procedure="P2",
        agency="A2",
        fee=100_000,
    ),
    dossier(
        "d6", "2019-03-01T08:00", due="2019-03-25T17:00", channel=2, procedure="P3", agency="A2"
    ),
    dossier(
        "d7",
        "2019-02-01T08:00",
        ended="2019-02-20T10:00",
        due="2019-02-15T17:00",
        status=7,
        agency="A2",
        procedure="P2",
        delivery=1,
    ),
    dossier("refused", None, status=3),
    dossier("not-accepted", "2019-02-01T08:00", status=1, channel=2),
]
# Ministry records: status and dates from the system that processes them, no intake facts.
MINISTRY = [
    dossier(
        "LLTP-1",
        "2019-02-04T09:00",
        ended="2019-02-11T10:00",
        due="2019-02-12T17:00",
        delivery=None,
        intake="OS-1",
    ),
    dossier(
        "LLTP-2",
        "2019-03-05T09:00",
        ended="2019-03-29T10:00",
        due="2019-03-20T17:00",
        delivery=None,
        applicant_ref="ab" * 32,
    ),
]
# Their one-stop twins: received at the counter, online / by post, with the fee and delivery.
TWINS = [
    dossier(
        "OS-1",
        "2019-02-04T09:00",
        status=4,
        channel=2,
        fee=200_000,
        paid=True,
        delivery=1,
        on_spot=True,
    ),
    dossier("OS-2", "2019-03-05T09:00", status=2, channel=3, applicant_ref="ab" * 32, delivery=1),
]
LEVELS = {"P1": "full", "P2": "partial", "P3": "level_2"}


def hand_made_facts():
    ministry_facts = [
        facts_of(MINISTRY[0], "full", channel=2, fee=200_000, paid=True, delivery=1, on_spot=True),
        facts_of(MINISTRY[1], "full", channel=3, delivery=1),
    ]
    return [facts_of(d, LEVELS.get(d.procedure_code)) for d in HAND_MADE] + ministry_facts


@pytest.fixture
def hand_made(engine):
    catalogue(engine)
    load(engine, "one_stop", HAND_MADE + TWINS)
    load(engine, "criminal_record", MINISTRY)
    return engine


def test_hand_made_dossiers_counted_independently(hand_made):
    truth = hand_made_facts()
    assert counters(phu_luc_01.phu_luc_01(hand_made, *Q1), P01) == want(truth, Q1, P01)
    assert counters(phu_luc_02.phu_luc_02(hand_made, *Q1), P02) == want(truth, Q1, P02)
    got = counters(phu_luc_03.phu_luc_03(hand_made, *Q1), tuple(P03), P03)
    assert got == want(truth, Q1, tuple(P03.values()))
    spot = on_the_spot.four_on_the_spot(hand_made, *Q1)
    assert counters(spot, SPOT) == want(truth, Q1, SPOT)
    check_invariants(hand_made, Q1)


def test_cross_source_dossiers_are_counted_once_with_the_twins_intake_facts(hand_made):
    p01 = phu_luc_01.phu_luc_01(hand_made, *Q1)
    a1 = next(r for r in p01.rows if r.code == "A1")
    # d1, d2, d3, LLTP-1, LLTP-2 received in Q1 (the twins OS-1 / OS-2 are not counted again)
    # plus d4 carried over.
    assert a1.received_total == 6 and a1.carried_over == 1
    # LLTP-1 came in online at the counter, LLTP-2 by post: the twins' channels.
    assert (a1.received_online, a1.received_postal, a1.received_direct) == (2, 2, 1)
    p02 = phu_luc_02.phu_luc_02(hand_made, *Q1)
    a1_02 = next(r for r in p02.rows if r.code == "A1")
    # Fees and online payment of LLTP-1 are on its twin.
    assert (a1_02.fee_bearing, a1_02.paid_online) == (3, 2)
    p03 = phu_luc_03.phu_luc_03(hand_made, *Q1)
    a1_03 = next(r for r in p03.rows if r.code == "A1")
    assert a1_03.returned_by_post == 4  # d1, d3, LLTP-1, LLTP-2 (delivery from the twins)
    spot = on_the_spot.four_on_the_spot(hand_made, *Q1)
    assert next(r for r in spot.rows if r.code == "A1").on_the_spot == 2  # d2 and LLTP-1


def test_online_levels_and_unlisted_procedures(hand_made):
    report = phu_luc_02.phu_luc_02(hand_made, *Q1)
    a2 = next(r for r in report.rows if r.code == "A2")
    # d5 (P2 partial) and d6 (P3 listed at level 2 but submitted online): both partly online.
    assert (a2.online_partial, a2.online_full) == (2, 0)
    assert any("does not list at an online level" in n for n in report.notes)
    # The catalogue holds the new levels (partial/full): a 2019 report says it approximates.
    assert any("approximately" in n for n in report.notes)
    later = phu_luc_02.phu_luc_02(hand_made, date(2023, 1, 1), date(2023, 3, 31))
    assert later.level_labels == ("Một phần", "Toàn trình")


@pytest.mark.parametrize(
    "report", [phu_luc_02.phu_luc_02, phu_luc_03.phu_luc_03, on_the_spot.four_on_the_spot]
)
def test_empty_periods_and_bad_arguments(hand_made, report):
    empty = report(hand_made, date(2015, 1, 1), date(2015, 3, 31))
    assert empty.total.received == 0
    if report is phu_luc_02.phu_luc_02:  # the catalogue's procedures are listed all the same
        assert empty.total.procedures_online == 3 and empty.total.online_total == 0
    else:
        assert all(v == 0 for v in empty.total.values())
    with pytest.raises(UnknownGrouping, match="officer"):
        report(hand_made, *Q1, by="officer")
    with pytest.raises(ValueError, match="ends before it starts"):
        report(hand_made, Q1[1], Q1[0])
