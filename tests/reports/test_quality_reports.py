"""Satisfaction (the seed's figures), overdue hot spots and the Decision 766 scorecard."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from mappings import one_stop
from mappings.canonical import Agency, Rating
from mappings.common import MappingContext
from simulators.one_stop import build_dataset
from tests.conftest import TEST_KEY
from tests.reports.factories import Q1, at, catalogue, dossier, expected, facts_of, load
from tests.reports.test_reports_vs_count import HAND_MADE, MINISTRY, TWINS, hand_made_facts
from warehouse.reports import scorecard as sc
from warehouse.reports.overdue import overdue_hot_spots
from warehouse.reports.phu_luc_01 import phu_luc_01
from warehouse.reports.satisfaction import satisfaction

H1 = (date(2019, 1, 1), date(2019, 6, 30))


@pytest.fixture(scope="module")
def seed():
    return build_dataset("langson-2019h1", seed=2019)


def test_the_seed_scenario_gives_the_seed_reports_satisfaction_figures(engine, seed):
    ctx = MappingContext(TEST_KEY)
    load(engine, "one_stop", [one_stop.map_agency(a, ctx) for a in seed.agencies], "agencies")
    load(engine, "one_stop", [one_stop.map_rating(r, ctx) for r in seed.ratings], "ratings")
    s = satisfaction(engine, *H1)
    assert s.total.total == 2427
    assert s.total.counts == {1: 2291, 2: 136, 3: 0}
    assert s.total.shares() == {1: Decimal("94.40"), 2: Decimal("5.60"), 3: Decimal("0.00")}
    in_h1 = [r for r in seed.ratings if "20190101" <= r["NgayDanhGia"][:8] <= "20190630"]
    by_agency = Counter(r["MaCoQuan"] for r in in_h1)
    assert {r.code: r.total for r in s.rows} == dict(by_agency)
    for row in s.rows:
        assert sum(row.shares().values()) in (
            Decimal("100.00"),
            Decimal("99.99"),
            Decimal("100.01"),
        )


def test_shares_round_half_up():
    from warehouse.reports.base import share

    assert share(1, 8) == Decimal("12.50")  # 12.5 exactly
    assert share(1, 16) == Decimal("6.25")
    assert share(1, 800) == Decimal("0.13")  # 0.125 -> 0.13, not banker's 0.12
    assert share(0, 0) == Decimal("0.00")


# -- overdue hot spots ---------------------------------------------------------------------------


@pytest.fixture
def busy(engine):
    """A1/P1 with the most late dossiers, A2/P2 with some, A3 in the catalogue with none."""
    catalogue(engine, agencies=[*_agencies(), Agency("A3", "Sở Tài chính", None)])
    records = [
        dossier(f"late-{n}", "2019-01-07T08:00", ended="2019-02-20T10:00", due="2019-02-01T17:00")
        for n in range(4)
    ]
    records += [
        dossier(f"overdue-{n}", "2019-03-01T08:00", due="2019-03-15T17:00") for n in range(2)
    ]
    records += [
        dossier(
            f"a2-{n}",
            "2019-01-07T08:00",
            ended="2019-01-10T10:00" if n else "2019-03-01T10:00",
            due="2019-01-20T17:00",
            agency="A2",
            procedure="P2",
        )
        for n in range(3)
    ]
    records += [
        dossier(
            "a1-ok",
            "2019-01-07T08:00",
            ended="2019-01-08T10:00",
            due="2019-01-20T17:00",
            procedure="P4",
        )
    ]
    load(engine, "one_stop", records)
    return engine, records


def _agencies():
    return [Agency("A1", "Sở Tư pháp", None), Agency("A2", "Sở Y tế", None)]


def test_hot_spots_against_an_independent_count(busy):
    engine, records = busy
    report = overdue_hot_spots(engine, *Q1, top=10, min_late=1, few=3)
    facts = [facts_of(d) for d in records]
    by_procedure = expected([replace(f, agency=f.procedure) for f in facts], *Q1)
    late = {k: c["resolved_late"] + c["pending_overdue"] for k, c in by_procedure.items()}
    assert {s.code: s.late_total for s in report.procedures} == {k: v for k, v in late.items() if v}
    assert [s.code for s in report.procedures] == ["P1", "P2"]  # most late first
    p1 = report.procedures[0]
    assert (p1.resolved_late, p1.pending_overdue, p1.handled, p1.agency) == (4, 2, 6, "Sở Tư pháp")
    assert p1.late_share == Decimal("100.00")
    assert [(s.code, s.late_total, s.handled) for s in report.agencies] == [
        ("A1", 6, 7),
        ("A2", 1, 3),
    ]
    # Very few dossiers: A2 received 3 (at the threshold), A3 none at all; A1 received 7.
    assert [(q.code, q.received, q.procedures) for q in report.quiet] == [
        ("A3", 0, 0),
        ("A2", 3, 2),
    ]


def test_hot_spot_thresholds_are_parameters(busy):
    engine, _ = busy
    report = overdue_hot_spots(engine, *Q1, top=1, min_late=2, few=0)
    assert [s.code for s in report.procedures] == ["P1"] and [s.code for s in report.agencies] == [
        "A1"
    ]
    assert [q.code for q in report.quiet] == ["A3"]
    assert overdue_hot_spots(engine, *Q1, min_late=7).agencies == []
    with pytest.raises(ValueError, match="top"):
        overdue_hot_spots(engine, *Q1, top=0)


# -- Decision 766 scorecard ----------------------------------------------------------------------


def test_scoring_is_proportional_below_the_threshold():
    indicator = sc.Indicator("x", "progress", "x", Decimal(20), Decimal("0.8"), "on_time")
    assert sc.score(indicator, 40, 100).points == Decimal("10.00")
    assert sc.score(indicator, 80, 100).points == Decimal("20.00")
    assert sc.score(indicator, 95, 100).points == Decimal("20.00")
    assert sc.score(indicator, 1, 3).points == Decimal("8.33")
    assert sc.score(indicator, 0, 0).points is None


def test_the_version_in_force_on_the_last_day_applies(tmp_path):
    versions = sc.load_versions()
    first = versions[0]
    assert first.valid_from == date(2022, 6, 23) and sum(g.weight for g in first.groups) == 100
    assert sc.version_for(date(2019, 6, 30)) == (first, False)
    assert sc.version_for(date(2023, 6, 30)) == (first, True)
    later = replace(first, valid_from=date(2026, 1, 1), basis="corrected weights")
    assert sc.version_for(date(2026, 3, 31), (first, later)) == (later, True)
    assert sc.version_for(date(2025, 12, 31), (first, later)) == (first, True)


def test_a_scorecard_file_that_does_not_add_up_is_refused(tmp_path):
    text = sc.DATA_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("weight = 22", "weight = 21"), encoding="utf-8")
    with pytest.raises(ValueError, match="add up to 100"):
        sc.load_versions(bad)
    bad.write_text(text.replace('measure = "on_time"', 'measure = "speed"'), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown measure"):
        sc.load_versions(bad)


@pytest.fixture
def rated(engine):
    catalogue(engine)
    load(engine, "one_stop", HAND_MADE + TWINS)
    load(engine, "criminal_record", MINISTRY)
    ratings = [
        Rating("r1", "d1", "A1", 3, at("2019-01-16T10:00")),
        Rating("r2", "d2", "A1", 1, at("2019-02-13T10:00")),
        Rating("r3", "d7", "A2", 3, at("2019-02-21T10:00")),
        Rating("r4", "d7", "A2", 3, at("2019-04-21T10:00")),  # after the period
    ]
    load(engine, "one_stop", ratings, "ratings")
    return engine


def test_scorecard_measures_against_an_independent_count(rated):
    card = sc.scorecard(rated, *Q1)
    truth = expected(hand_made_facts(), *Q1)
    unsatisfied = {"A1": 1, "A2": 1}
    for row in card.rows:
        c = truth[row.code]
        handled = sum(c[k] for k in ("received", "carried_over"))
        on_time = c["resolved_early"] + c["resolved_on_time"] + c["pending_within_due"]
        late = c["resolved_late"] + c["pending_overdue"]
        s = row.scores
        assert (s["on_time"].numerator, s["on_time"].denominator) == (on_time, handled)
        assert (s["online_submission"].numerator, s["online_submission"].denominator) == (
            c["received_online"],
            c["received"],
        )
        assert (s["online_payment"].numerator, s["online_payment"].denominator) == (
            c["paid_online"],
            c["fee_bearing"],
        )
        assert s["satisfaction"].numerator == handled - unsatisfied[row.code] - late
        assert s["portal_sync"].points is None
    total = card.total.scores
    assert total["on_time"].denominator == sum(r.scores["on_time"].denominator for r in card.rows)
    assert card.max_points(card.total) == 60  # the four computable indicators
    assert card.total.points == sum(
        (s.points for s in card.total.scores.values() if s.points is not None), Decimal(0)
    )
    assert any("not yet in force" in n for n in card.notes)
    assert any("Cổng Dịch vụ công quốc gia" in n for n in card.notes)


def test_satisfaction_ratio_follows_decision_766(rated):
    card = sc.scorecard(rated, *Q1)
    a2 = next(r for r in card.rows if r.code == "A2")
    p01 = next(r for r in phu_luc_01(rated, *Q1).rows if r.code == "A2")
    # (all − rated unsatisfied − late or overdue) / all
    assert a2.scores["satisfaction"].numerator == p01.received_total - 1 - p01.late_total
