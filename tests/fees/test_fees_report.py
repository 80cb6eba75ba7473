"""The fees report on SQLite and PostgreSQL: collected, refunded, net, by agency, procedure and
fee type, and the online payment ratio among fee-bearing dossiers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from mappings.canonical import Agency, FeeLine
from mappings.common import LOCAL_TZ
from tests.fees.builders import T0, dossier, payment, put, refund
from warehouse.reports.fees import fees
from warehouse.reports.grouping import UnknownGrouping

MARCH = (date(2019, 3, 1), date(2019, 3, 31))
LINES = (FeeLine("fee", "LP1", "Lệ phí", 150_000), FeeLine("charge", "P1", "Phí", 50_000))


@pytest.fixture
def warehouse(engine):
    put(
        engine,
        [
            Agency("000.00.12.H22", "Sở Tư pháp", None),
            Agency("000.00.04.H22", "Sở Xây dựng", None),
            dossier("D1", fee=200_000, paid_online=True),
            dossier("D2", fee=50_000, procedure_code="2.000001", agency_code="000.00.04.H22"),
            dossier("D3", fee=50_000),
            dossier("D4", fee=0),  # no fee: not in the ratio
            dossier("D5", fee=50_000, status=3, received=None),  # refused: not received
            dossier("D6", fee=50_000, received=datetime(2019, 4, 2, tzinfo=LOCAL_TZ)),
        ],
        "one_stop",
    )
    big = payment("T1", "D1", amount=200_000, fee_lines=LINES)
    other = payment("T2", "D2", agency_code="000.00.04.H22")
    put(
        engine,
        [
            big,
            other,
            refund("R1", other, T0 + timedelta(days=3)),
            payment("T3", "NOPE", amount=20_000, fee_lines=()),
            payment("T4", "D3", result_code="51"),  # failed: no money moved
            payment("T5", "D3", verified=False),  # never counted
            payment("T6", "D3", at=datetime(2019, 4, 1, 8, tzinfo=LOCAL_TZ)),  # after March
        ],
        "vietinbank",
    )
    return engine


def rows(report):
    return {r.code: (r.payments, r.collected, r.refunds, r.refunded, r.net) for r in report.rows}


def test_by_agency(warehouse):
    report = fees(warehouse, *MARCH)
    assert rows(report) == {
        "000.00.12.H22": (2, 220_000, 0, 0, 220_000),
        "000.00.04.H22": (1, 50_000, 1, 50_000, 0),
    }
    assert report.total.values() == [3, 270_000, 1, 50_000, 220_000]
    assert {r.code: r.name for r in report.rows}["000.00.04.H22"] == "Sở Xây dựng"


def test_by_procedure_through_the_dossier(warehouse):
    assert rows(fees(warehouse, *MARCH, by="procedure")) == {
        "1.001612": (1, 200_000, 0, 0, 200_000),
        "2.000001": (1, 50_000, 1, 50_000, 0),
        "(unknown)": (1, 20_000, 0, 0, 20_000),
    }


def test_by_fee_type_from_the_fee_lines(warehouse):
    report = fees(warehouse, *MARCH, by="fee-type")
    assert rows(report) == {
        "charge": (1, 50_000, 0, 0, 50_000),
        "fee": (2, 200_000, 1, 50_000, 150_000),
        "(unknown)": (1, 20_000, 0, 0, 20_000),
    }
    assert report.total.net == sum(r.net for r in report.rows)
    assert report.by_fee_type == report.rows


def test_online_payment_ratio_among_fee_bearing_dossiers(warehouse):
    report = fees(warehouse, *MARCH)
    assert (report.paid_online, report.fee_bearing) == (1, 3)
    assert report.online_ratio == Decimal("33.33")


def test_an_empty_period_is_all_zeros(warehouse):
    report = fees(warehouse, date(2020, 1, 1), date(2020, 1, 31))
    assert report.rows == [] and report.total.values() == [0] * 5
    assert report.online_ratio == Decimal("0.00")


def test_bad_arguments_are_refused(warehouse):
    with pytest.raises(UnknownGrouping, match="field") as refused:
        fees(warehouse, *MARCH, by="field")
    assert refused.value.allowed == ("agency", "procedure", "fee-type")
    with pytest.raises(ValueError, match="ends before"):
        fees(warehouse, date(2019, 3, 2), date(2019, 3, 1))


@pytest.mark.parametrize("by", ["agency", "procedure", "fee-type"])
def test_the_registry_counts_the_same_fees_inside_a_report_snapshot(warehouse, by):
    from lienthong.reports import build
    from warehouse.reports.options import FeesGrouped
    from warehouse.reports.periods import Period

    built = build(warehouse, Period(*MARCH), {"fees": FeesGrouped(by)})
    assert built["fees"] == fees(warehouse, *MARCH, by=by) and built["fees"].total.collected
