"""The LLTP mapping: every code, every rejection reason, the end-time rule, and that nothing
personal or from the certificate survives into a dossier or a quarantined record."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from mappings import codes
from mappings.canonical import Dossier, Rejection, StatusEvent
from mappings.common import LOCAL_TZ, MappingContext
from mappings.criminal_record import map_dossier, redact_dossier

CTX = MappingContext(b"k" * 32, known_procedures=frozenset({"2.000505", "2.000488"}))
NUMBER = "000.00.12.H22-190105-5001"


def t(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M:%S").replace(tzinfo=LOCAL_TZ)


def raw(**over) -> dict:
    """A request as the stand-in sends it, personal data and certificate content included."""
    base = {
        "maHoSoMCDT": NUMBER,
        "maHoSoLLTP": "LLTP-H22-2019-000123",
        "maTTHC": "2.000505",
        "hinhThucNop": "2",
        "loaiPhieu": "1",
        "maMucDich": "XKLD",
        "soLuongCap": "2",
        "nycHoTen": "Nông Thị Quyên",
        "nycNgaySinh": "14/03/1991",
        "nycSoGiayTo": "020191004321",
        "nycDiaChi": "Số 7, đường Bà Triệu, phường Chi Lăng, thành phố Lạng Sơn",
        "nycHoTenMe": "Hứa Thị Lan",
        "ngayNopHoSo": "04/01/2019 21:10:00",
        "ngayTiepNhan": "07/01/2019 08:30:00",
        "ngayHenTra": "21/01/2019 08:30:00",
        "ngayTraKetQua": "22/01/2019 09:00:00",
        "trangThaiXuLy": "10",
        "ketQua": {
            "soPhieuLLTP": "000123/19/STP-LLTP",
            "ngayCapPhieu": "18/01/2019 15:00:00",
            "nguoiKy": "Phó Giám đốc Sở Tư pháp",
            "noiDungPhieu": "Án tích: Có án tích. [GIẢ LẬP LLTP ND-000123]",
            "thongTinAnTich": [{"soBanAn": "12/2015/HSST", "toiDanh": "Trộm cắp tài sản"}],
        },
        "ngayCapNhat": "22/01/2019 09:00:00",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


SECRETS = (
    "Nông Thị Quyên",
    "14/03/1991",
    "020191004321",
    "Bà Triệu",
    "Hứa Thị Lan",
    "000123/19/STP-LLTP",
    "Phó Giám đốc",
    "án tích",
    "GIẢ LẬP",
    "12/2015/HSST",
    "Trộm cắp",
)


def assert_no_secret(value) -> None:
    text = json.dumps(value, ensure_ascii=False, default=repr).lower()
    for secret in SECRETS:
        assert secret.lower() not in text, secret


def test_a_complete_request_maps_status_and_dates():
    d = map_dossier(raw(), CTX)
    assert isinstance(d, Dossier)
    assert d.source_id == d.dossier_number == d.intake_number == NUMBER
    assert (d.procedure_code, d.agency_code) == ("2.000505", "000.00.12.H22")
    assert (d.channel, d.status) == (2, 10)
    assert d.submitted_at == t("04/01/2019 21:10:00")
    assert d.received_at == t("07/01/2019 08:30:00") and d.received_at.tzinfo is LOCAL_TZ
    assert d.due_at == t("21/01/2019 08:30:00") and not d.due_extended
    assert d.ended_at == t("18/01/2019 15:00:00")  # certificate issued (9), not handed over
    assert d.history == (
        StatusEvent(2, t("07/01/2019 08:30:00")),
        StatusEvent(9, t("18/01/2019 15:00:00")),
        StatusEvent(10, t("22/01/2019 09:00:00")),
    )
    assert d.source_updated_at == t("22/01/2019 09:00:00")
    assert d.flags == ()
    assert (d.fee_amount, d.paid_online, d.on_the_spot) == (0, False, False)
    assert (d.applicant_type, d.result_delivery) == (None, None)


def test_attributes_hold_only_the_certificate_type_and_purpose():
    assert map_dossier(raw(), CTX).attributes == {"certificate_type": 1, "purpose_code": "XKLD"}
    assert map_dossier(raw(loaiPhieu="2", maMucDich=...), CTX).attributes == {
        "certificate_type": 2,
        "purpose_code": None,
    }


def test_nothing_personal_or_from_the_certificate_reaches_the_dossier():
    assert_no_secret(repr(map_dossier(raw(), CTX)))


def test_the_id_number_becomes_the_same_keyed_hash_as_the_one_stop_mapping_uses():
    from mappings.one_stop import map_dossier as map_one_stop

    d = map_dossier(raw(), CTX)
    assert d.applicant_ref == CTX.pseudonymise("020191004321") and len(d.applicant_ref) == 64
    one_stop = {
        "MaHoSo": NUMBER,
        "MaTTHC": "2.000505",
        "TrangThaiHoSo": "2",
        "NgayTiepNhan": "20190107083000",
        "SoGiayToChuHoSo": " 0201 9100 4321 ",
        "NgayCapNhat": "20190107083000",
    }
    assert map_one_stop(one_stop, CTX).applicant_ref == d.applicant_ref
    assert map_dossier(raw(nycSoGiayTo=...), CTX).applicant_ref is None


@pytest.mark.parametrize("source, canonical", [(str(i), i) for i in range(1, 11)])
def test_every_status_code(source, canonical):
    record = raw(trangThaiXuLy=source, ketQua=..., ngayTraKetQua=...)
    d = map_dossier(record, CTX)
    assert d.status == canonical and d.history[-1].status == canonical


def test_the_code_list_maps_the_national_list_explicitly():
    assert {
        k: codes.load("criminal_record")["status"].lookup(k) for k in map(str, range(1, 11))
    } == {str(i): i for i in range(1, 11)}


@pytest.mark.parametrize("source, canonical", [("1", 1), ("2", 2), ("3", 3), (None, 1), ("", 1)])
def test_every_channel_code_and_missing_is_direct(source, canonical):
    assert map_dossier(raw(hinhThucNop=source), CTX).channel == canonical


@pytest.mark.parametrize("source, canonical", [("1", 1), ("2", 2), (" 2 ", 2)])
def test_every_certificate_type(source, canonical):
    assert map_dossier(raw(loaiPhieu=source), CTX).attributes["certificate_type"] == canonical


@pytest.mark.parametrize("purpose", ["XV", "XKLD", "DH", "DC", "KD", "HN", "KN", "CQ", "BT", "K"])
def test_every_purpose_code_is_known(purpose):
    d = map_dossier(raw(maMucDich=purpose), CTX)
    assert d.attributes["purpose_code"] == purpose and d.flags == ()


def test_an_unknown_purpose_is_kept_and_flagged():
    d = map_dossier(raw(maMucDich="ZZ"), CTX)
    assert isinstance(d, Dossier) and d.attributes["purpose_code"] == "ZZ"
    assert d.flags == ("unknown_purpose",)


def test_an_unknown_procedure_is_kept_and_flagged():
    d = map_dossier(raw(maTTHC="9.999999"), CTX)
    assert isinstance(d, Dossier) and d.flags == ("unknown_procedure",)


@pytest.mark.parametrize(
    "over, reason",
    [
        ({"maHoSoMCDT": ...}, "missing dossier number (maHoSoMCDT)"),
        ({"maHoSoMCDT": "  "}, "missing dossier number (maHoSoMCDT)"),
        ({"ngayCapNhat": ...}, "missing ngayCapNhat"),
        ({"trangThaiXuLy": ...}, "missing status (trangThaiXuLy)"),
        ({"trangThaiXuLy": "42"}, "unknown status code trangThaiXuLy='42'"),
        ({"trangThaiXuLy": "0"}, "unknown status code"),
        ({"loaiPhieu": ...}, "missing certificate type (loaiPhieu)"),
        ({"loaiPhieu": "3"}, "unknown certificate_type code loaiPhieu='3'"),
        ({"hinhThucNop": "7"}, "unknown channel code hinhThucNop='7'"),
        ({"maTTHC": ...}, "missing procedure code (maTTHC)"),
        ({"ngayTiepNhan": "31/02/2019 25:00:00"}, "unparseable date ngayTiepNhan"),
        ({"ngayTiepNhan": "20190107083000"}, "unparseable date ngayTiepNhan"),
        ({"ngayNopHoSo": "2019-01-04"}, "unparseable date ngayNopHoSo"),
        ({"ngayHenTra": "21/01/2019"}, "unparseable date ngayHenTra"),
        ({"ngayTraKetQua": "x"}, "unparseable date ngayTraKetQua"),
        ({"ngayCapNhat": "22/13/2019 09:00:00"}, "unparseable date ngayCapNhat"),
        ({"ketQua": {"ngayCapPhieu": "18/01/19"}}, "unparseable date ngayCapPhieu"),
        ({"ketQua": "Không có án tích"}, "ketQua is not an object: str"),
        ({"ngayHenTra": "21/01/2018 08:30:00"}, "due date before receive date"),
        (
            {"ketQua": {"ngayCapPhieu": "02/01/2019 08:00:00"}, "trangThaiXuLy": "9"},
            "end date before receive date",
        ),
        ({"trangThaiXuLy": ["10"]}, "trangThaiXuLy is not text: list"),
    ],
)
def test_every_rejection_reason(over, reason):
    result = map_dossier(raw(**over), CTX)
    assert isinstance(result, Rejection)
    assert reason in result.reason
    expected_id = None if over.get("maHoSoMCDT", "") in (..., "  ") else NUMBER
    assert result.source_id == expected_id
    assert_no_secret([result.reason, result.source_id])


def test_a_record_that_is_not_an_object_is_rejected():
    assert map_dossier(["Nông Thị Quyên"], CTX) == Rejection("record is not an object: list")


def test_end_time_follows_the_counting_rules():
    returned_only = raw(ketQua=...)
    assert map_dossier(returned_only, CTX).ended_at == t("22/01/2019 09:00:00")  # else 10
    withdrawn = raw(trangThaiXuLy="7", ketQua=..., ngayTraKetQua=...)
    d = map_dossier(withdrawn, CTX)
    assert d.ended_at == t("22/01/2019 09:00:00")  # 7: the last change time
    assert d.history[-1] == StatusEvent(7, t("22/01/2019 09:00:00"))
    stopped = raw(trangThaiXuLy="8", ketQua=..., ngayTraKetQua=...)
    assert map_dossier(stopped, CTX).ended_at == t("22/01/2019 09:00:00")
    processing = raw(trangThaiXuLy="4", ketQua=..., ngayTraKetQua=...)
    assert map_dossier(processing, CTX).ended_at is None
    issued = raw(trangThaiXuLy="9", ngayTraKetQua=...)
    assert map_dossier(issued, CTX).ended_at == t("18/01/2019 15:00:00")


def test_a_request_never_accepted_has_no_receive_time():
    submitted = raw(
        trangThaiXuLy="1", ngayTiepNhan=..., ngayHenTra=..., ngayTraKetQua=..., ketQua=...
    )
    d = map_dossier(submitted, CTX)
    assert (d.status, d.received_at, d.ended_at) == (1, None, None)
    refused = raw(
        trangThaiXuLy="3", ngayTiepNhan=None, ngayHenTra=None, ketQua=None, ngayTraKetQua=""
    )
    d = map_dossier(refused, CTX)
    assert (d.status, d.received_at, d.ended_at) == (3, None, None)


def test_mapping_the_same_record_twice_gives_the_same_dossier():
    assert map_dossier(raw(), CTX) == map_dossier(raw(), CTX)


def test_redaction_keeps_no_requester_data_and_no_certificate():
    record = raw(
        nycGioiTinh="Nữ",
        nycNoiSinh="Cao Bằng",
        nycDienThoai="0912345678",
        nycEmail="quyen@example.org",
        nycHoTenCha="Nông Văn Sơn",
        nycNgayCapGiayTo="01/02/2016",
        nycNoiCapGiayTo="Công an tỉnh Lạng Sơn",
        lyDoTuChoi="Bà Nông Thị Quyên thiếu giấy tờ",
    )
    clean = redact_dossier(record, CTX)
    assert_no_secret(clean)
    assert not any(k.startswith("nyc") and k != "nycSoGiayTo" for k in clean)
    assert clean["nycSoGiayTo"] == "hmac:" + CTX.pseudonymise("020191004321")
    assert clean["ketQua"] == {"ngayCapPhieu": "18/01/2019 15:00:00"}
    # What the mapping reads stays, so the reason can still be diagnosed.
    for name in ("maHoSoMCDT", "maTTHC", "loaiPhieu", "trangThaiXuLy", "ngayTiepNhan"):
        assert clean[name] == record[name]
    assert "nycHoTen" in clean["dropped_fields"] and "lyDoTuChoi" in clean["dropped_fields"]
    assert record["nycHoTen"] == "Nông Thị Quyên"  # the input is not modified


def test_redaction_of_odd_shapes():
    assert redact_dossier("Nông Thị Quyên 020191004321", CTX) == {"unreadable_record": "str"}
    odd = raw(trangThaiXuLy={"x": "Nông Thị Quyên"}, ketQua="Không có án tích")
    clean = redact_dossier(odd, CTX)
    assert clean["trangThaiXuLy"] == {} and clean["ketQua"] == "<text>"
    assert_no_secret(clean)
    for over in ({"ketQua": "Không có án tích"}, {"ketQua": ["án tích"]}, {"loaiPhieu": [1]}):
        rejected = map_dossier(redact_dossier(raw(**over), CTX), CTX)
        assert rejected == map_dossier(raw(**over), CTX)


def test_mapping_a_redacted_record_gives_the_same_dossier():
    for record in (raw(), raw(ketQua=None), raw(ketQua=...), raw(nycSoGiayTo=...), raw(ketQua={})):
        assert map_dossier(redact_dossier(record, CTX), CTX) == map_dossier(record, CTX)
