"""The gateway's checksum: known vectors (computed with `openssl dgst -sha256 -hmac`), tampering
and a wrong secret fail, escaping keeps field boundaries, both implementations agree."""

from __future__ import annotations

import hmac

import pytest

from connectors import signing
from simulators.vietinbank import build_dataset
from simulators.vietinbank import checksum as gateway

SECRET = b"vtb-test-secret"
TRANSACTION = {
    "MaGiaoDich": "VTB1901030000001",
    "LoaiGiaoDich": "THANH_TOAN",
    "MaGiaoDichGoc": "",
    "MaHoSo": "000.00.12.H22-190102-0001",
    "MaDonViThuHuong": "000.00.12.H22",
    "SoTien": 200000,
    "LoaiTien": "VND",
    "ThoiGianGiaoDich": "20190103091500",
    "MaKetQua": "00",
    "DanhSachPhiLePhi": [
        {
            "LoaiPhiLePhi": "2",
            "MaPhiLePhi": "LP2.002165",
            "TenPhiLePhi": "Lệ phí cấp Phiếu lý lịch tư pháp số 1",
            "SoTien": 200000,
        }
    ],
    "ThoiGianCapNhat": "20190103091500",
}
MESSAGE = (
    "VTB1901030000001|THANH_TOAN||000.00.12.H22-190102-0001|000.00.12.H22|200000|VND|"
    "20190103091500|00|2,LP2.002165,Lệ phí cấp Phiếu lý lịch tư pháp số 1,200000|20190103091500"
)
# printf '%s' "$MESSAGE" | openssl dgst -sha256 -hmac 'vtb-test-secret'
EXPECTED = "502977abd00a9e3731700bec110914a310b6e90d7f89f820ba67fdf43db4358f"
# ... -hmac 'another-secret'
WITH_ANOTHER_SECRET = "0847dc8fe0e80836bcca7240a6183b4b314923d868da8be813551d4d69fffcea"


def parts(record=TRANSACTION):
    return signing.fields(record, signing.TRANSACTION)


def test_the_message_is_the_documented_fields_joined_in_order():
    assert signing.SEPARATOR.join(parts()) == MESSAGE


def test_known_vector():
    assert signing.checksum(SECRET, parts()) == EXPECTED
    assert signing.matches(SECRET, parts(), EXPECTED)
    assert gateway.sign_fields(SECRET, TRANSACTION, gateway.TRANSACTION) == EXPECTED


def test_a_wrong_secret_gives_another_checksum_and_fails():
    assert signing.checksum(b"another-secret", parts()) == WITH_ANOTHER_SECRET
    assert not signing.matches(b"another-secret", parts(), EXPECTED)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("SoTien", 2000000),
        ("MaHoSo", "000.00.12.H22-190102-0002"),
        ("MaKetQua", "51"),
        ("LoaiGiaoDich", "HOAN_TIEN"),
        ("ThoiGianGiaoDich", "20190103091501"),
        ("DanhSachPhiLePhi", []),
    ],
)
def test_a_tampered_field_fails(field, value):
    tampered = {**TRANSACTION, field: value}
    assert not signing.matches(SECRET, parts(tampered), EXPECTED)


def test_a_tampered_fee_line_fails():
    line = {**TRANSACTION["DanhSachPhiLePhi"][0], "SoTien": 100000}
    tampered = {**TRANSACTION, "DanhSachPhiLePhi": [line]}
    assert not signing.matches(SECRET, parts(tampered), EXPECTED)


@pytest.mark.parametrize("signature", [None, "", 42, EXPECTED.upper(), EXPECTED[:-1], "é" * 64])
def test_a_missing_or_malformed_signature_fails_without_raising(signature):
    assert not signing.matches(SECRET, parts(), signature)


def test_separators_inside_values_are_escaped():
    # ("a|b,c%", "x") must not sign like ("a", "b,c%|x") or anything else that joins the same.
    assert signing.fields({"A": "a|b,c%", "B": "x"}, ("A", "B")) == ["a%7Cb%2Cc%25", "x"]
    # printf '%s' 'a%7Cb%2Cc%25|x' | openssl dgst -sha256 -hmac 'vtb-test-secret'
    assert signing.checksum(SECRET, signing.fields({"A": "a|b,c%", "B": "x"}, ("A", "B"))) == (
        "7ca15ddd09403df3825ecc38ecd13cb8b5442fddecaddb57f30395cdf8d03177"
    )
    shifted = signing.fields({"A": "a", "B": "b,c%|x"}, ("A", "B"))
    assert signing.checksum(SECRET, shifted) != signing.checksum(
        SECRET, signing.fields({"A": "a|b,c%", "B": "x"}, ("A", "B"))
    )


def test_values_render_as_the_contract_says():
    assert signing.render(None) == ""
    assert signing.render(150000) == "150000"
    assert signing.render("150000") == "150000"
    assert signing.render(True) == "true"  # not an integer: JSON text
    assert signing.render([1, 2]) == "[1%2C2]"


def test_comparison_is_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    assert signing.matches(SECRET, parts(), EXPECTED)
    assert signing.matches_digest("abc", signing.file_digest("abc"))
    assert len(calls) == 2


def test_the_connector_and_the_stand_in_sign_every_record_alike():
    dataset = build_dataset("small", seed=3)
    for row in dataset.transactions:
        assert signing.checksum(SECRET, parts(row)) == gateway.sign_fields(
            SECRET, row, gateway.TRANSACTION
        )
