"""Stand-in over real HTTP -> sync -> warehouse -> report, checked against its own data."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import select

from lienthong.pipeline import sync
from lienthong.settings import load
from mappings.common import LOCAL_TZ
from simulators.faults import Faults
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import count, warehouse_digest
from warehouse import schema
from warehouse.reports.phu_luc_01 import phu_luc_01
from warehouse.reports.satisfaction import satisfaction

SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
H1 = (date(2019, 1, 1), date(2019, 6, 30))
Q2 = (date(2019, 4, 1), date(2019, 6, 30))


def expected_phu_luc_01(truth, start: date, end: date) -> dict[str, Counter]:
    """The counting rules re-implemented plainly over the stand-in's ground truth."""
    rows: dict[str, Counter] = defaultdict(Counter)

    def day(instant):
        return instant.astimezone(LOCAL_TZ).date() if instant else None

    for t in truth:
        received, ended, due = day(t.received_at), day(t.ended_at), day(t.due_at)
        if t.malformed_reason or received is None or t.status in (1, 3):
            continue
        if received > end or (ended is not None and ended < start):
            continue
        c = rows[t.agency_code]
        if received >= start:
            c[{1: "received_direct", 2: "received_online", 3: "received_postal"}[t.channel]] += 1
        else:
            c["carried_over"] += 1
        if ended is not None and ended <= end:
            if due is None or ended == due:
                c["resolved_on_time"] += 1
            else:
                c["resolved_early" if ended < due else "resolved_late"] += 1
        elif due is not None and due < end:
            c["pending_overdue"] += 1
        else:
            c["pending_within_due"] += 1
    return rows


def as_counters(report) -> dict[str, Counter]:
    names = (
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
    return {
        r.code: Counter({n: getattr(r, n) for n in names if getattr(r, n)}) for r in report.rows
    }


def run_sync(engine, base_url):
    return sync(
        "one_stop",
        load(),
        since=SINCE,
        until=UNTIL,
        engine=engine,
        connection=stand_in_connection(base_url, "one_stop"),
        run_id="test",
    )


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=7)


def serve_dataset(dataset, faults=None):
    return serve(PrefixDispatcher({"/one_stop": make_app(dataset, faults or Faults())}))


def test_report_equals_an_independent_count_of_the_stand_in(engine, dataset):
    with serve_dataset(dataset) as base_url:
        results = run_sync(engine, base_url)
    assert [r.stream for r in results] == ["agencies", "procedures", "dossiers", "ratings"]
    assert all(r.outcome == "succeeded" for r in results)
    for period in (H1, Q2):
        report = phu_luc_01(engine, *period)
        assert as_counters(report) == {
            k: v for k, v in expected_phu_luc_01(dataset.truth, *period).items()
        }
        for row in [*report.rows, report.total]:
            assert row.received_total == row.resolved_total + row.pending_total
    ratings = [
        r
        for r in dataset.ratings
        if H1[0] <= datetime.strptime(r["NgayDanhGia"], "%Y%m%d%H%M%S").date() <= H1[1]
    ]
    levels = Counter(int(r["MucDoHaiLong"]) for r in ratings)
    assert satisfaction(engine, *H1).total.counts == {lv: levels[lv] for lv in (1, 2, 3)}


def test_syncing_the_same_window_twice_changes_nothing(engine, dataset):
    with serve_dataset(dataset) as base_url:
        run_sync(engine, base_url)
        before = warehouse_digest(engine)
        again = run_sync(engine, base_url)
    assert warehouse_digest(engine) == before
    assert all(r.counts.inserted == r.counts.updated == 0 for r in again)


REASONS = {  # the stand-in's corruption -> the mapping's rejection reason
    "missing_key": "missing dossier number (MaHoSo)",
    "bad_date": "unparseable date",
    "unknown_status": "unknown status code",
    "due_before_received": "due date before receive date",
    "unknown_channel": "unknown channel code",
}


def test_malformed_records_are_quarantined_with_their_reason_and_the_rest_loads(engine, dataset):
    corrupted = dataset.with_malformed(0.05, seed=3)
    assert set(corrupted.malformed.values()) == {*REASONS, "unknown_procedure"}
    # A dossier naming an unknown procedure still counts: it is loaded and flagged.
    flagged = {k for k, v in corrupted.malformed.items() if v == "unknown_procedure"}
    truth = [
        replace(t, malformed_reason=None) if t.number in flagged else t for t in corrupted.truth
    ]
    rejected = {k: v for k, v in corrupted.malformed.items() if k not in flagged}
    with serve_dataset(corrupted) as base_url:
        results = run_sync(engine, base_url)
    dossiers = next(r for r in results if r.stream == "dossiers")
    assert dossiers.counts.rejected == len(rejected)
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema.rejected_records.c.source_id, schema.rejected_records.c.reason)
        ).all()
        flagged_rows = conn.execute(
            select(schema.dossiers.c.source_id).where(
                schema.dossiers.c.quality_flags == "unknown_procedure"
            )
        ).scalars()
        assert set(flagged_rows) == flagged
    assert len(rows) == len(rejected)
    got = Counter(next(k for k, v in REASONS.items() if v in reason) for _, reason in rows)
    assert got == Counter(rejected.values())
    for source_id, reason in rows:
        if source_id is not None:
            assert REASONS[rejected[source_id]] in reason
    assert count(engine, schema.dossiers) == len(corrupted.dossiers) - len(rejected)
    # The report counts the valid records only, exactly.
    expected = expected_phu_luc_01(truth, *H1)
    assert as_counters(phu_luc_01(engine, *H1)) == dict(expected)


def test_faults_on_the_wire_converge_to_the_fault_free_warehouse(tmp_path, dataset):
    from warehouse.db import make_engine, upgrade

    clean, faulty = (make_engine(f"sqlite:///{tmp_path / n}.db") for n in ("clean", "faulty"))
    for e in (clean, faulty):
        upgrade(e)
    with serve_dataset(dataset) as base_url:
        run_sync(clean, base_url)
    faults = Faults(error_rate=0.15, rate_limit_rate=0.05, repeat_rate=0.3, session_ttl=5, seed=11)
    with serve_dataset(dataset, faults) as base_url:
        results = run_sync(faulty, base_url)
    assert all(r.outcome == "succeeded" for r in results)
    assert warehouse_digest(faulty) == warehouse_digest(clean)
