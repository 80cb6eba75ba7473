"""Mapping of gateway transactions and statements: what is accepted, what is quarantined, why."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import signing
from mappings.canonical import FeeLine, FeeStatement, Payment, Rejection
from mappings.common import LOCAL_TZ, MappingContext
from mappings.vietinbank import (
    map_statement,
    map_transaction,
    redact_transaction,
    result_name,
)
from tests.conftest import TEST_KEY

GATEWAY_SECRET = b"gateway-test-secret"
CTX = MappingContext(TEST_KEY, record_key=GATEWAY_SECRET)
UNSIGNED = {
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
}
LINE = (
    "MaGiaoDich,LoaiGiaoDich,MaGiaoDichGoc,MaHoSo,MaDonViThuHuong,SoTien,ThoiGianGiaoDich\n"
    "VTB1901030000001,THANH_TOAN,,000.00.12.H22-190102-0001,000.00.12.H22,250000,"
    "20190103091500\n"
)


def signed(record: dict, secret: bytes = GATEWAY_SECRET) -> dict:
    """The record as the gateway sends it: ChuKy over its signed fields."""
    order = signing.STATEMENT_FILE if "NoiDung" in record else signing.TRANSACTION
    return {**record, "ChuKy": signing.checksum(secret, signing.fields(record, order))}


def statement(content: str = LINE, **over) -> dict:
    header = {
        "NgaySaoKe": "20190103",
        "TenTep": "VTB_SAOKE_20190103.csv",
        "ThoiGianLap": "20190104010500",
        "NoiDung": content,
        "BamTep": signing.file_digest(content),
    }
    return signed({**header, **over})


RAW = signed(UNSIGNED)
STATEMENT = statement()


def mapped(**over):
    """The transaction with ``over`` applied, signed as the gateway would have signed it."""
    return map_transaction(signed({**UNSIGNED, **over}), CTX)


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
    ("raw", "ctx", "reason"),
    [
        ({**RAW, "ChuKy": "0" * 64}, CTX, "forged signature"),
        # What extract used to write, and an attacker with the landing store could: ignored.
        ({**RAW, "ChuKy": "0" * 64, "_lienthong_signature": "valid"}, CTX, "forged signature"),
        ({**RAW, "SoTien": 999_000_000}, CTX, "forged signature"),
        ({**RAW, "MaHoSo": "000.00.12.H22-190102-0002"}, CTX, "forged signature"),
        (signed(UNSIGNED, b"another-secret"), CTX, "forged signature"),
        ({**RAW, "ChuKy": RAW["ChuKy"].upper()}, CTX, "forged signature"),
        ({**RAW, "ChuKy": 1}, CTX, "forged signature"),
        ({k: v for k, v in RAW.items() if k != "ChuKy"}, CTX, "missing signature"),
        ({**RAW, "ChuKy": ""}, CTX, "missing signature"),
        (RAW, MappingContext(TEST_KEY), "signature not verified"),
        ({**RAW, "_lienthong_signature": "valid"}, MappingContext(TEST_KEY), "not verified"),
    ],
    ids=[
        "zero_signature",
        "zero_signature_with_old_verdict",
        "amount_changed",
        "dossier_changed",
        "another_key",
        "uppercase_hex",
        "not_a_string",
        "no_signature",
        "empty_signature",
        "no_key",
        "no_key_with_old_verdict",
    ],
)
def test_a_record_without_a_valid_checksum_is_rejected_never_paid(raw, ctx, reason):
    result = map_transaction(raw, ctx)
    assert isinstance(result, Rejection)
    assert reason in result.reason and "not counted as paid" in result.reason
    assert result.source_id == "VTB1901030000001"


def test_the_mapping_checks_the_signature_itself():
    """Verified by recomputing the HMAC with the context's key, whatever else the record says."""
    assert isinstance(map_transaction(RAW, CTX), Payment)
    assert isinstance(
        map_transaction(RAW, MappingContext(TEST_KEY, record_key=b"another-secret")), Rejection
    )
    assert "another-secret" not in repr(MappingContext(TEST_KEY, record_key=b"another-secret"))


def test_every_mapped_field_is_signed():
    """A field the mapping reads but the checksum does not cover could be changed at will."""
    unsigned = {k: v for k, v in UNSIGNED.items() if k not in signing.TRANSACTION}
    assert set(unsigned) == {"MoTaKetQua", "TenNguoiNop"}
    changed = {**RAW, "MoTaKetQua": "Thất bại", "TenNguoiNop": "[redacted]"}
    assert map_transaction(changed, CTX) == map_transaction(RAW, CTX)


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
    ("raw", "reason"),
    [
        ({**STATEMENT, "ChuKy": "0" * 64, "_lienthong_signature": "valid"}, "forged signature"),
        # A line added to the text: the digest no longer matches (the checksum still does).
        (
            {**STATEMENT, "NoiDung": LINE + "VTB0,THANH_TOAN,,X,Y,1000000,20190103100000\n"},
            "BamTep",
        ),
        # The digest recomputed too: now the checksum, which covers it, does not match.
        (
            {
                **STATEMENT,
                "NoiDung": LINE + "VTB0,THANH_TOAN,,X,Y,1000000,20190103100000\n",
                "BamTep": signing.file_digest(
                    LINE + "VTB0,THANH_TOAN,,X,Y,1000000,20190103100000\n"
                ),
            },
            "forged signature: ChuKy",
        ),
        ({k: v for k, v in STATEMENT.items() if k != "ChuKy"}, "missing signature"),
        ({k: v for k, v in STATEMENT.items() if k != "NoiDung"}, "no text content"),
        (statement(NgaySaoKe="20190230"), "unparseable date NgaySaoKe"),
        (statement(BamTep=None), "does not match its digest"),
        (statement(LINE.replace("20190103091500", "20190104000000")), "is not dated 20190103"),
        # A cell past the csv module's field limit raises csv.Error, which is no ValueError.
        (statement(LINE + '"' + "x" * 200_000 + '"\n'), "unreadable statement text"),
    ],
    ids=[
        "zero_signature",
        "line_added",
        "line_added_digest_recomputed",
        "no_signature",
        "no_content",
        "bad_date",
        "no_digest",
        "line_of_another_day",
        "cell_past_the_csv_limit",
    ],
)
def test_a_bad_statement_is_rejected(raw, reason):
    result = map_statement(raw, CTX)
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
        # Re-signed half the time: hostile values the gateway itself signed reach every rule.
        if data.draw(st.booleans()):
            record = signed(record)
        result = mapping(record, CTX)
        assert isinstance(result, Payment | FeeStatement | Rejection)
