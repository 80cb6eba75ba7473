"""Mapping of gateway transactions and statements: what is accepted, what is quarantined, why."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.canonical import FeeLine, FeeStatement, Payment, Rejection
from mappings.common import LOCAL_TZ, MappingContext
from mappings.vietinbank import (
    VERDICT,
    map_statement,
    map_transaction,
    redact_transaction,
    result_name,
)
from tests.conftest import TEST_KEY

CTX = MappingContext(TEST_KEY)
RAW = {
    "MaGiaoDich": "VTB1901030000001",
    "LoaiGiaoDich": "THANH_TOAN",
    "MaGiaoDichGoc": "",
    "MaHoSo": "000.00.12.H22-190102-0001",
    "MaDonViThuHuong": "000.00.12.H22",
    "SoTien": 250000,
    "LoaiTien": "VND",
    "ThoiGianGiaoDich": "20190103091500",
    "MaKetQua": "00",
    "MoTaKetQua": "Thành công",
    "TenNguoiNop": "Nguyễn Văn An",
    "DanhSachPhiLePhi": [
        {"LoaiPhiLePhi": "2", "MaPhiLePhi": "LP1", "TenPhiLePhi": "Lệ phí", "SoTien": 200000},
        {"LoaiPhiLePhi": "1", "MaPhiLePhi": "P1", "TenPhiLePhi": "Phí thẩm định", "SoTien": 50000},
    ],
    "ThoiGianCapNhat": "20190103091510",
    "ChuKy": "ab" * 32,
    VERDICT: "valid",
}
STATEMENT = {
    "NgaySaoKe": "20190103",
    "TenTep": "VTB_SAOKE_20190103.csv",
    "ThoiGianLap": "20190104010500",
    "BamTep": "cd" * 32,
    "ChuKy": "ef" * 32,
    VERDICT: "valid",
    "DongSaoKe": [
        {
            "MaGiaoDich": "VTB1901030000001",
            "LoaiGiaoDich": "THANH_TOAN",
            "MaGiaoDichGoc": "",
            "MaHoSo": "000.00.12.H22-190102-0001",
            "MaDonViThuHuong": "000.00.12.H22",
            "SoTien": "250000",
            "ThoiGianGiaoDich": "20190103091500",
        }
    ],
}


def mapped(**over):
    return map_transaction({**RAW, **over}, CTX)


def test_a_verified_payment_maps_to_the_canonical_record():
    p = mapped()
    assert p == Payment(
        source_id="VTB1901030000001",
        kind="payment",
        dossier_number="000.00.12.H22-190102-0001",
        agency_code="000.00.12.H22",
        amount=250000,
        currency="VND",
        paid_at=datetime(2019, 1, 3, 9, 15, tzinfo=LOCAL_TZ),
        result_code="00",
        original_id=None,
        fee_lines=(
            FeeLine("fee", "LP1", "Lệ phí", 200000),
            FeeLine("charge", "P1", "Phí thẩm định", 50000),
        ),
        verified=True,
        source_updated_at=datetime(2019, 1, 3, 9, 15, 10, tzinfo=LOCAL_TZ),
    )


@pytest.mark.parametrize(
    ("verdict", "reason"),
    [
        ("invalid", "forged signature"),
        ("missing", "missing signature"),
        (None, "signature not verified"),
        ("VALID", "signature not verified"),
        (1, "signature not verified"),
    ],
)
def test_a_record_without_a_valid_checksum_is_rejected_never_paid(verdict, reason):
    raw = (
        {**RAW, VERDICT: verdict}
        if verdict is not None
        else {k: v for k, v in RAW.items() if k != VERDICT}
    )
    result = map_transaction(raw, CTX)
    assert isinstance(result, Rejection)
    assert reason in result.reason and "not counted as paid" in result.reason
    assert result.source_id == "VTB1901030000001"


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"MaGiaoDich": ""}, "missing transaction id"),
        ({"ThoiGianGiaoDich": "20193102250000"}, "unparseable date"),
        ({"LoaiGiaoDich": "CHUYEN_KHOAN"}, "unknown transaction_type code"),
        ({"SoTien": -250000}, "invalid amount"),
        ({"SoTien": 0}, "invalid amount"),
        ({"SoTien": "250000.5"}, "not an integer"),
        ({"SoTien": 10**13}, "invalid amount"),
        ({"LoaiTien": "USD"}, "currency must be VND"),
        ({"MaKetQua": None}, "missing result code"),
        ({"MaHoSo": ""}, "missing dossier number"),
        ({"SoTien": 260000}, "fee lines add up to 250000 VND"),
        ({"DanhSachPhiLePhi": "LP1"}, "not a list of objects"),
        ({"MaHoSo": "x" * 201}, "longer than 200"),
        ({"LoaiGiaoDich": "HOAN_TIEN"}, "must name the transaction it undoes"),
    ],
)
def test_a_malformed_transaction_is_rejected_with_its_reason(over, reason):
    result = mapped(**over)
    assert isinstance(result, Rejection), result
    assert reason in result.reason


def test_refunds_and_reversals_name_their_original():
    refund = mapped(LoaiGiaoDich="HOAN_TIEN", MaGiaoDichGoc="VTB0")
    reversal = mapped(LoaiGiaoDich="HUY", MaGiaoDichGoc="VTB0", MaHoSo="")
    assert (refund.kind, refund.original_id) == ("refund", "VTB0")
    assert (reversal.kind, reversal.original_id, reversal.dossier_number) == (
        "reversal",
        "VTB0",
        None,
    )


def test_a_failed_attempt_is_kept_with_its_result_code():
    failed = mapped(MaKetQua="51")
    assert isinstance(failed, Payment) and failed.result_code == "51"
    assert result_name("51") == "Tài khoản không đủ số dư"
    assert result_name("77") == "Mã kết quả 77"


def test_no_fee_lines_is_allowed_and_update_time_defaults_to_the_transaction_time():
    p = mapped(DanhSachPhiLePhi=[], ThoiGianCapNhat="")
    assert p.fee_lines == () and p.source_updated_at == p.paid_at


def test_redaction_drops_the_payer_name_and_changes_no_mapping():
    clean = redact_transaction(RAW, CTX)
    assert clean["TenNguoiNop"] == "[redacted]" and "Nguyễn" not in str(clean)
    assert map_transaction(clean, CTX) == map_transaction(RAW, CTX)
    assert redact_transaction(["not", "a", "record"], CTX) == ["not", "a", "record"]


def test_a_statement_maps_with_its_lines():
    s = map_statement(STATEMENT, CTX)
    assert isinstance(s, FeeStatement)
    assert s.statement_date == date(2019, 1, 3) and s.verified
    assert [(x.transaction_id, x.kind, x.amount) for x in s.lines] == [
        ("VTB1901030000001", "payment", 250000)
    ]


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({VERDICT: "invalid"}, "forged signature"),
        ({"NgaySaoKe": "20190230"}, "unparseable date NgaySaoKe"),
        ({"BamTep": None}, "missing file digest"),
        (
            {"DongSaoKe": [{**STATEMENT["DongSaoKe"][0], "ThoiGianGiaoDich": "20190104000000"}]},
            "is not dated 20190103",
        ),
    ],
)
def test_a_bad_statement_is_rejected(over, reason):
    result = map_statement({**STATEMENT, **over}, CTX)
    assert isinstance(result, Rejection) and reason in result.reason


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_record_maps_or_is_rejected(data):
    for mapping, base in ((map_transaction, RAW), (map_statement, STATEMENT)):
        record = dict(base)
        for _ in range(data.draw(st.integers(1, 4))):
            key = data.draw(st.one_of(st.sampled_from(sorted(record)), st.text(max_size=6)))
            if data.draw(st.booleans()):
                record[key] = data.draw(json_values)
            else:
                record.pop(key, None)
        result = mapping(record, CTX)
        assert isinstance(result, Payment | FeeStatement | Rejection)
