"""Both stand-ins over real HTTP -> sync -> warehouse -> fees report and reconciliation, checked
against the stand-ins' own data; forged payments are provably never counted as paid."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from upath import UPath

from connectors import vietinbank as connector_module
from connectors.base import Window
from connectors.rest import RestClient, RetryPolicy
from lienthong.pipeline import extract, load, sync
from lienthong.settings import load as settings
from mappings.common import LOCAL_TZ
from simulators import one_stop
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from simulators.vietinbank import Anomalies, build_dataset, make_app
from tests.fees.builders import SINCE, UNTIL, VIETINBANK, sync_sources, tampering
from tests.helpers import warehouse_digest
from warehouse import schema
from warehouse.calendar import working_calendar
from warehouse.db import make_engine, upgrade
from warehouse.reconciliation import reconcile
from warehouse.reports.fees import fees

SEED = 7
H1 = (date(2019, 1, 1), date(2019, 6, 30))
Q2 = (date(2019, 4, 1), date(2019, 6, 30))
FORGING = Anomalies(bad_signature_rate=0.05, seed=3)
NOT_COUNTED = {"bad_signature", "malformed"}


@pytest.fixture(scope="module")
def dossiers():
    return one_stop.build_dataset("small", SEED)


@pytest.fixture(scope="module")
def payments():
    return build_dataset("small", SEED, anomalies=FORGING)


def stand_ins(dossiers, payments, faults=None):
    return serve(
        PrefixDispatcher(
            {
                "/one_stop": one_stop.make_app(dossiers),
                "/vietinbank": make_app(payments, faults or Faults()),
            }
        )
    )


def fresh(tmp_path, name):
    engine = make_engine(f"sqlite:///{tmp_path / name}.db")
    upgrade(engine)
    return engine


@pytest.fixture
def fast_retries(monkeypatch):
    """The gateway connector's client without real waits between retries."""

    class Fast(RestClient):
        @classmethod
        def for_connection(cls, connection, **kwargs):
            fast = RetryPolicy(max_attempts=8, initial=0, maximum=0, jitter=0)
            return RestClient.for_connection(connection, retry=fast, sleep=lambda _: None)

    monkeypatch.setattr(connector_module.VietinbankConnector, "client_class", Fast)


def local_day(instant):
    return instant.astimezone(LOCAL_TZ).date()


def expected_fees(truth, start, end, key):
    """Collected and refunded per group, counted plainly from the stand-in's truth."""
    rows = defaultdict(Counter)
    for t in truth:
        if t.result_code != "00" or t.expected in NOT_COUNTED:
            continue
        if not start <= local_day(t.paid_at) <= end:
            continue
        for group, amount in key(t):
            if t.kind == "payment":
                rows[group]["payments"] += 1
                rows[group]["collected"] += amount
            else:
                rows[group]["refunds"] += 1
                rows[group]["refunded"] += amount
    return {
        g: (c["payments"], c["collected"], c["refunds"], c["refunded"]) for g, c in rows.items()
    }


def as_rows(report):
    return {r.code: tuple(r.values()[:4]) for r in report.rows}


def test_forged_signatures_are_quarantined_and_never_counted_as_paid(engine, dossiers, payments):
    assert len(payments.forged) >= 5 and set(payments.forged.values()) == {
        "wrong_key",
        "missing",
        "tampered",
    }
    with stand_ins(dossiers, payments) as base_url:
        results = sync_sources(engine, base_url)
    assert all(r.outcome == "succeeded" for r in results)
    transactions = next(r for r in results if r.stream == "transactions")
    assert transactions.counts.rejected == len(payments.forged)
    q, p = schema.rejected_records, schema.payments
    with engine.connect() as conn:
        where = q.c.source == "vietinbank"
        quarantined = dict(conn.execute(select(q.c.source_id, q.c.reason).where(where)).all())
        loaded = set(conn.execute(select(p.c.source_id)).scalars())
    assert set(quarantined) == set(payments.forged)
    for txn, kind in payments.forged.items():
        reason = quarantined[txn]
        assert ("missing signature" if kind == "missing" else "forged signature") in reason
        assert "not counted as paid" in reason
    assert not loaded & set(payments.forged)

    # Absent from the money collected...
    start, end = date(2018, 10, 1), date(2019, 6, 30)
    report = fees(engine, start, end)
    forged_total = sum(t.amount for t in payments.truth if t.expected == "bad_signature")
    genuine = expected_fees(payments.truth, start, end, lambda t: [("all", t.amount)])["all"]
    assert forged_total > 0
    assert (report.total.payments, report.total.collected) == genuine[:2]
    # ... and the dossiers they claim to pay are still unpaid, listed beside the forgeries.
    result = reconcile(engine, start, end, as_of=end)
    unpaid = {f.dossier_number for f in result.findings if f.cls == "unpaid"}
    targets = {t.dossier_number for t in payments.truth if t.expected == "bad_signature"}
    owing = {n for n in targets if payments.dossiers[n].status not in (7, 8)}  # not withdrawn
    old_enough = {n for n in owing if payments.dossiers[n].received_at.date() < date(2019, 6, 1)}
    assert old_enough and old_enough <= unpaid
    flagged = {f.transaction_id for f in result.findings if f.cls == "bad_signature"}
    assert flagged == set(payments.forged)


def test_fees_report_equals_an_independent_count_of_the_stand_in(engine, dossiers, payments):
    with stand_ins(dossiers, payments) as base_url:
        sync_sources(engine, base_url)
    truth = payments.truth
    for period in (H1, Q2):
        assert as_rows(fees(engine, *period)) == expected_fees(
            truth, *period, lambda t: [(t.agency_code, t.amount)]
        )
        assert as_rows(fees(engine, *period, by="fee-type")) == expected_fees(
            truth, *period, lambda t: [(kind, amount) for kind, amount in t.fee_lines]
        )
        by_procedure = fees(engine, *period, by="procedure")

        def procedure(t):
            known = payments.dossiers.get(t.dossier_number)
            return [(known.procedure_code if known else "(unknown)", t.amount)]

        assert as_rows(by_procedure) == expected_fees(truth, *period, procedure)
        report = fees(engine, *period)
        fee_bearing = [
            (w, t)
            for w, t in zip(dossiers.dossiers, dossiers.truth, strict=True)
            if t.received_at is not None
            and period[0] <= local_day(t.received_at) <= period[1]
            and sum(line["Gia"] for line in w["DanhSachLePhi"]) > 0
        ]
        online = sum(w["DuocThanhToanTrucTuyen"] in ("1", "2") for w, _ in fee_bearing)
        assert (report.paid_online, report.fee_bearing) == (online, len(fee_bearing))
        assert report.fee_bearing > 0 and report.paid_online > 0


def working_days_after(day: date, count: int) -> date:
    """The test's own deadline count over the project's calendar of working days."""
    calendar = working_calendar()
    while count:
        day += timedelta(days=1)
        count -= calendar.is_working_day(day)
    return day


def test_reconciliation_classes_equal_the_stand_in_truth(sqlite_engine, dossiers, payments):
    with stand_ins(dossiers, payments) as base_url:
        sync_sources(sqlite_engine, base_url)
    for (start, end), days in ((H1, 5), (Q2, 10)):
        result = reconcile(sqlite_engine, start, end, unpaid_after=days, as_of=end)
        got = Counter(result.counts)
        expected = Counter(
            t.expected
            for t in payments.truth
            if start <= local_day(t.paid_at) <= end and t.expected != "bad_signature"
        )
        expected["bad_signature"] = len(payments.forged)  # listed by load window: all of them
        expected["unpaid"] = sum(
            1
            for d in payments.dossiers.values()
            if start <= local_day(d.received_at) <= end
            and d.status not in (7, 8)
            and d.paid_on is None
            and working_days_after(local_day(d.received_at), days) < end
        )
        assert +got == +expected
        assert {"matched", "amount_mismatch", "refunded", "unpaid"} <= set(+got)


def test_two_syncs_of_the_same_window_leave_an_identical_warehouse(tmp_path, dossiers, payments):
    engine = fresh(tmp_path, "w")
    with stand_ins(dossiers, payments) as base_url:
        sync_sources(engine, base_url)
        before = warehouse_digest(engine)
        again = sync_sources(engine, base_url)
    assert warehouse_digest(engine) == before
    assert all(r.counts.inserted == r.counts.updated == 0 for r in again)


def test_faults_on_the_wire_converge_to_the_fault_free_warehouse(
    tmp_path, dossiers, payments, fast_retries
):
    clean, faulty = fresh(tmp_path, "clean"), fresh(tmp_path, "faulty")
    with stand_ins(dossiers, payments) as base_url:
        sync_sources(clean, base_url, keys=("vietinbank",))
    faults = Faults(error_rate=0.2, rate_limit_rate=0.05, repeat_rate=0.5, session_ttl=2, seed=5)
    with stand_ins(dossiers, payments, faults) as base_url:
        results = sync_sources(faulty, base_url, keys=("vietinbank",))
    assert all(r.outcome == "succeeded" for r in results)
    assert warehouse_digest(faulty) == warehouse_digest(clean)


def test_malformed_payments_are_quarantined_and_their_dossiers_unpaid(sqlite_engine, dossiers):
    app = make_app(build_dataset("small", SEED), Faults(malformed_rate=0.1, seed=9))
    malformed = app.dataset.malformed
    assert len(set(malformed.values())) >= 4
    with serve(
        PrefixDispatcher({"/one_stop": one_stop.make_app(dossiers), "/vietinbank": app})
    ) as url:
        results = sync_sources(sqlite_engine, url)
    assert next(r for r in results if r.stream == "transactions").counts.rejected == len(malformed)
    hit = {t.dossier_number for t in app.dataset.truth if t.expected == "malformed"}
    result = reconcile(sqlite_engine, date(2018, 10, 1), date(2019, 6, 30))
    unpaid = {f.dossier_number for f in result.findings if f.cls == "unpaid"}
    old = {n for n in hit if app.dataset.dossiers[n].received_at.date() < date(2019, 6, 1)}
    assert old and old <= unpaid


def test_statements_load_and_agree_with_the_transactions(sqlite_engine, dossiers, payments):
    with stand_ins(dossiers, payments) as base_url:
        sync_sources(sqlite_engine, base_url)
    s, p = schema.fee_statements, schema.payments
    with sqlite_engine.connect() as conn:
        statements = conn.execute(select(s.c.statement_date, s.c.credited, s.c.lines)).all()
        paid = dict(
            conn.execute(select(p.c.source_id, p.c.amount).where(p.c.result_code == "00")).all()
        )
    assert len(statements) == len(payments.statements)
    listed = {line["transaction_id"]: line["amount"] for *_, lines in statements for line in lines}
    assert listed and all(paid[txn] == amount for txn, amount in listed.items())


def test_a_sync_from_the_watermark_starts_one_look_back_before_it(sqlite_engine, payments):
    middle = SINCE + (UNTIL - SINCE) / 2
    with serve(PrefixDispatcher({"/vietinbank": make_app(payments)})) as base_url:
        connection = stand_in_connection(base_url, "vietinbank")
        sync(
            "vietinbank",
            settings(),
            since=SINCE,
            until=middle,
            engine=sqlite_engine,
            connection=connection,
        )
        results = sync(
            "vietinbank", settings(), until=UNTIL, engine=sqlite_engine, connection=connection
        )
    assert {r.window for r in results} == {Window(middle - VIETINBANK.lookback, UNTIL)}


def test_extract_then_load_equals_a_direct_sync(tmp_path, payments):
    direct, staged = fresh(tmp_path, "direct"), fresh(tmp_path, "staged")
    root = UPath(tmp_path / "landing")
    window = Window(SINCE, UNTIL)
    with serve(PrefixDispatcher({"/vietinbank": make_app(payments)})) as base_url:
        connection = stand_in_connection(base_url, "vietinbank")
        sync(
            "vietinbank", settings(), since=SINCE, until=UNTIL, engine=direct, connection=connection
        )
        extract("vietinbank", window, settings(), root=root, connection=connection)
    load("vietinbank", window, settings(), root=root, engine=staged, connection=connection)
    assert warehouse_digest(staged) == warehouse_digest(direct)


def test_a_statement_altered_in_transit_is_quarantined_and_the_rest_loads(sqlite_engine, payments):
    def alter(path, reply):
        for entry in reply.get("DanhSachSaoKe", []):
            if entry["NgaySaoKe"] == "20190104":  # a forged line, with a surplus cell too
                entry["NoiDung"] += "VTB0,THANH_TOAN,,X,Y,1000000,20190104100000,extra\n"

    with serve(PrefixDispatcher({"/vietinbank": tampering(make_app(payments), alter)})) as url:
        results = sync_sources(sqlite_engine, url, keys=("vietinbank",))
    statements = next(r for r in results if r.stream == "statements")
    assert statements.outcome == "succeeded" and statements.counts.rejected == 1
    q = schema.rejected_records
    with sqlite_engine.connect() as conn:
        rejected = conn.execute(
            select(q.c.source_id, q.c.reason).where(q.c.stream == "statements")
        ).all()
    assert [(sid, "forged signature" in reason) for sid, reason in rejected] == [("20190104", True)]
