"""Reconciliation classes, one by one, on hand-built warehouses (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from mappings.canonical import Procedure, Rejection
from mappings.common import LOCAL_TZ
from tests.fees.builders import T0, dossier, payment, put, refund
from warehouse.calendar import Overrides, WorkingCalendar
from warehouse.loader import Batch
from warehouse.reconciliation import EXCEPTIONS, reconcile

MARCH = (date(2019, 3, 1), date(2019, 3, 31))
LATE = date(2019, 4, 30)  # as-of far past every deadline


def classes(result) -> dict[str, str]:
    """Class by transaction id, or by dossier number for dossier findings."""
    return {f.transaction_id or f.dossier_number: f.cls for f in result.findings}


def run(engine, *, as_of=LATE, days=5, period=MARCH):
    return reconcile(engine, *period, unpaid_after=days, as_of=as_of)


def test_matched(engine):
    put(engine, [dossier("D1")], "one_stop")
    put(engine, [payment("T1", "D1")], "vietinbank")
    result = run(engine)
    assert classes(result) == {"T1": "matched"}
    assert result.exceptions == []


def test_amount_mismatch(engine):
    put(engine, [dossier("D1", fee=50_000)], "one_stop")
    put(engine, [payment("T1", "D1", amount=40_000)], "vietinbank")
    result = run(engine)
    assert classes(result) == {"T1": "amount_mismatch"}
    assert "paid 40,000 VND, due 50,000 VND" in result.findings[0].detail


def test_the_fee_due_falls_back_to_the_procedure_catalogue(engine):
    procedure = Procedure("1.001612", "Cấp phiếu", None, None, None, 5, "day", None, 30_000)
    put(engine, [procedure, dossier("D1", fee=0)], "one_stop")
    put(engine, [payment("T1", "D1", amount=30_000)], "vietinbank")
    assert classes(run(engine)) == {"T1": "matched"}


def test_payment_without_a_known_dossier(engine):
    put(engine, [dossier("D1")], "one_stop")
    put(engine, [payment("T1", "D1"), payment("T2", "NO-SUCH-DOSSIER")], "vietinbank")
    result = run(engine)
    assert classes(result) == {"T1": "matched", "T2": "unknown_dossier"}


def test_duplicate_payment_even_when_the_first_was_before_the_period(engine):
    put(engine, [dossier("D1", received=T0 - timedelta(days=5))], "one_stop")
    first = payment("T1", "D1", at=datetime(2019, 2, 28, 10, tzinfo=LOCAL_TZ))
    put(engine, [first, payment("T2", "D1"), payment("T3", "D1")], "vietinbank")
    result = run(engine)
    assert classes(result) == {"T2": "duplicate", "T3": "duplicate"}
    assert "already paid by T1 on 2019-02-28" in result.findings[0].detail


def test_refunded_payment_and_its_refund(engine):
    put(engine, [dossier("D1"), dossier("D2")], "one_stop")
    paid = payment("T1", "D1")
    again = payment("T2", "D2")
    doubled = payment("T3", "D2", at=again.paid_at + timedelta(hours=2))
    records = [
        paid,
        refund("R1", paid, paid.paid_at + timedelta(days=2)),
        again,
        doubled,
        refund("R2", doubled, doubled.paid_at + timedelta(minutes=5), kind="reversal"),
    ]
    put(engine, records, "vietinbank")
    got = classes(run(engine))
    # D1's only payment was refunded: the fee is owed again. D2's double payment was reversed.
    assert got == {
        "T1": "refunded",
        "R1": "refund",
        "D1": "unpaid",
        "T2": "matched",
        "T3": "refunded",
        "R2": "refund",
    }


def test_a_refund_after_the_as_of_day_is_not_seen_yet(engine):
    put(engine, [dossier("D1")], "one_stop")
    paid = payment("T1", "D1")
    put(engine, [paid, refund("R1", paid, datetime(2019, 4, 2, tzinfo=LOCAL_TZ))], "vietinbank")
    assert classes(run(engine, as_of=date(2019, 3, 31))) == {"T1": "matched"}
    assert classes(run(engine, as_of=date(2019, 4, 2)))["T1"] == "refunded"


def test_orphan_refund(engine):
    put(engine, [dossier("D1")], "one_stop")
    paid = payment("T0", "D1", at=datetime(2018, 1, 1, tzinfo=LOCAL_TZ))  # never loaded
    put(engine, [payment("T1", "D1"), refund("R9", paid, T0 + timedelta(days=1))], "vietinbank")
    got = run(engine)
    assert classes(got) == {"T1": "matched", "R9": "orphan_refund"}
    assert [f.cls for f in got.exceptions] == ["orphan_refund"]


def test_a_failed_attempt_moves_no_money(engine):
    put(engine, [dossier("D1")], "one_stop")
    put(engine, [payment("T1", "D1", result_code="51")], "vietinbank")
    assert classes(run(engine)) == {"T1": "failed", "D1": "unpaid"}


def test_an_unverified_payment_is_never_counted(engine):
    put(engine, [dossier("D1")], "one_stop")
    put(engine, [payment("T1", "D1", verified=False)], "vietinbank")
    assert classes(run(engine)) == {"D1": "unpaid"}


def test_unpaid_after_n_working_days(engine):
    put(engine, [dossier("D1")], "one_stop")  # received Monday 4 March 2019
    assert classes(run(engine, as_of=date(2019, 3, 11), days=5)) == {}  # deadline: Monday 11
    assert classes(run(engine, as_of=date(2019, 3, 12), days=5)) == {"D1": "unpaid"}
    assert classes(run(engine, as_of=date(2019, 3, 12), days=6)) == {}


def test_unpaid_working_days_skip_tet(engine):
    friday = datetime(2019, 2, 1, 9, tzinfo=LOCAL_TZ)  # Tết 2019: 4..8 February
    put(engine, [dossier("D1", received=friday)], "one_stop")
    february = (date(2019, 2, 1), date(2019, 2, 28))
    assert classes(run(engine, as_of=date(2019, 2, 11), days=1, period=february)) == {}
    assert classes(run(engine, as_of=date(2019, 2, 12), days=1, period=february)) == {
        "D1": "unpaid"
    }


@pytest.mark.parametrize("status", [1, 3, 7, 8])
def test_dossiers_not_accepted_or_withdrawn_owe_nothing(engine, status):
    received = None if status in (1, 3) else T0
    put(engine, [dossier("D1", status=status, received=received)], "one_stop")
    assert classes(run(engine)) == {}


def test_a_dossier_without_a_fee_owes_nothing(engine):
    put(engine, [dossier("D1", fee=0)], "one_stop")
    assert classes(run(engine)) == {}


def test_a_payment_of_the_one_stop_number_reaches_its_ministry_twin(engine):
    one_stop = dossier("000.00.12.H22-190304-0001", fee=200_000)
    ministry = dossier("LLTP-1", fee=0, intake_number=one_stop.dossier_number)
    put(engine, [one_stop], "one_stop")
    put(engine, [ministry], "criminal_record")
    put(engine, [payment("T1", one_stop.dossier_number, amount=200_000)], "vietinbank")
    got = run(engine)
    assert classes(got) == {"T1": "matched"}
    # One real dossier, paid: nothing unpaid on either record.
    put(engine, [payment("T2", "LLTP-1", amount=200_000)], "vietinbank")
    assert classes(run(engine)) == {"T1": "matched", "T2": "duplicate"}


def test_records_quarantined_for_their_signature_are_listed(engine):
    window = (
        datetime(2019, 3, 1, tzinfo=LOCAL_TZ),
        datetime(2019, 4, 1, tzinfo=LOCAL_TZ),
    )
    put(engine, [payment("T1", "D1")], "vietinbank")
    with Batch(engine, source="vietinbank", stream="transactions", window=window) as batch:
        batch.load_page(
            [],
            [
                (Rejection("forged signature: ChuKy does not match", "T9"), {"MaGiaoDich": "T9"}),
                (Rejection("invalid amount SoTien='x'", "T8"), {"MaGiaoDich": "T8"}),
            ],
        )
    got = run(engine)
    assert [(f.transaction_id, f.cls) for f in got.exceptions] == [
        ("T1", "unknown_dossier"),
        ("T9", "bad_signature"),
    ]
    assert run(engine, period=(date(2019, 5, 1), date(2019, 5, 31))).findings == []


def test_counts_cover_every_class_and_only_exceptions_are_listed(engine):
    put(engine, [dossier("D1"), dossier("D2")], "one_stop")
    put(engine, [payment("T1", "D1"), payment("T2", "D1"), payment("T3", "X")], "vietinbank")
    got = run(engine)
    assert got.counts["matched"] == 1 and got.counts["duplicate"] == 1
    assert got.counts["unknown_dossier"] == 1 and got.counts["unpaid"] == 1
    assert sum(got.counts.values()) == len(got.findings) == 4
    assert {f.cls for f in got.exceptions} <= EXCEPTIONS and len(got.exceptions) == 3


def test_the_calendar_decides_the_deadline(engine):
    put(engine, [dossier("D1")], "one_stop")  # received Monday 4 March 2019
    day_off = WorkingCalendar(Overrides(days_off=frozenset({date(2019, 3, 5)})))
    as_of = date(2019, 3, 12)  # past the plain deadline, Monday 11
    assert classes(reconcile(engine, *MARCH, as_of=as_of)) == {"D1": "unpaid"}
    assert classes(reconcile(engine, *MARCH, as_of=as_of, calendar=day_off)) == {}


def test_bad_arguments_are_refused(sqlite_engine):
    with pytest.raises(ValueError, match="ends before"):
        reconcile(sqlite_engine, date(2019, 3, 2), date(2019, 3, 1))
    with pytest.raises(ValueError, match="negative"):
        reconcile(sqlite_engine, *MARCH, unpaid_after=-1)
