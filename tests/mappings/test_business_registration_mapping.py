"""Business registration records -> canonical dossiers: code lists, MST, dates, rejections,
redaction."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from mappings import codes
from mappings.business_registration import map_dossier, redact_dossier
from mappings.canonical import Dossier, Rejection, StatusEvent
from mappings.common import LOCAL_TZ, MappingContext
from mappings.one_stop import map_dossier as map_one_stop
from simulators.business_registration.dataset import WIRE_CHANNEL, WIRE_STATUS
from tests.conftest import TEST_KEY

CTX = MappingContext(TEST_KEY, known_procedures=frozenset({"1.005167", "2.002004"}))
MST = "0100109106"  # valid check digit
BRANCH = "0100109106-001"
RECORD = {
    "SoHoSo": "DKKD-H22-190107-0003",
    "MaHoSoMotCua": "000.00.03.H22-190107-8001",
    "MaSoDoanhNghiep": MST,
    "TenDoanhNghiep": "Công ty TNHH Thương mại Đồng Đăng",
    "NguoiDaiDienPhapLuat": "Hoàng Văn Dũng",
    "MaThuTuc": "1.005167",
    "TenThuTuc": "Đăng ký thay đổi nội dung đăng ký doanh nghiệp",
    "MaCoQuanDangKy": "000.00.03.H22",
    "KenhNop": "TRUC_TIEP",
    "NgayNop": "2019-01-07T08:05:00+07:00",
    "NgayTiepNhan": "2019-01-07T08:20:00+07:00",
    "NgayHenTra": "2019-01-10T08:20:00+07:00",
    "NgayHenTraBanDau": "2019-01-10T08:20:00+07:00",
    "NgayQuyetDinh": "2019-01-09T15:00:00+07:00",
    "NgayTraKetQua": "2019-01-11T09:00:00+07:00",
    "TrangThai": "DA_TRA_KET_QUA",
    "NgayCapNhat": "2019-01-11T09:00:00+07:00",
}


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def mapped(**changes) -> Dossier:
    raw = {k: v for k, v in {**RECORD, **changes}.items() if v is not ...}
    result = map_dossier(raw, CTX)
    assert isinstance(result, Dossier), result
    return result


def rejected(**changes) -> Rejection:
    raw = {k: v for k, v in {**RECORD, **changes}.items() if v is not ...}
    result = map_dossier(raw, CTX)
    assert isinstance(result, Rejection), result
    return result


def test_a_complete_record_maps_to_the_canonical_dossier():
    d = mapped()
    assert (d.source_id, d.dossier_number) == (RECORD["SoHoSo"], RECORD["SoHoSo"])
    assert (d.procedure_code, d.agency_code, d.applicant_type) == (
        "1.005167",
        "000.00.03.H22",
        2,
    )
    assert d.applicant_ref == CTX.pseudonymise(MST)
    assert (d.channel, d.status, d.result_delivery) == (1, 10, None)
    assert d.submitted_at == local(2019, 1, 7, 8, 5)
    assert d.received_at == local(2019, 1, 7, 8, 20)
    assert d.due_at == local(2019, 1, 10, 8, 20) and not d.due_extended
    assert d.ended_at == local(2019, 1, 9, 15)  # first 9 (the decision), not the handover
    assert d.history == (
        StatusEvent(2, local(2019, 1, 7, 8, 20)),
        StatusEvent(9, local(2019, 1, 9, 15)),
        StatusEvent(10, local(2019, 1, 11, 9)),
    )
    assert d.intake_number == "000.00.03.H22-190107-8001"
    assert d.attributes == {"registration_office": "000.00.03.H22"}
    assert d.flags == ()
    assert d.source_updated_at == local(2019, 1, 11, 9)


STATUS_MAP = codes.load("business_registration")["status"].maps[-1]


@pytest.mark.parametrize(("wire", "national"), sorted(STATUS_MAP.items()))
def test_every_status_code_maps_to_its_national_status(wire, national):
    assert mapped(TrangThai=wire).status == national


def test_the_stand_in_and_the_code_list_agree_on_every_status_and_channel():
    assert {v: k for k, v in WIRE_STATUS.items()} == STATUS_MAP
    assert sorted(STATUS_MAP.values()) == list(range(1, 11))
    channels = codes.load("business_registration")["channel"].maps[-1]
    assert {v: k for k, v in WIRE_CHANNEL.items()} == channels


@pytest.mark.parametrize(
    ("wire", "national"), [("TRUC_TIEP", 1), ("QUA_MANG", 2), ("BUU_CHINH", 3)]
)
def test_every_channel_code_maps(wire, national):
    assert mapped(KenhNop=wire).channel == national


@pytest.mark.parametrize("missing", [None, "", ...])
def test_a_missing_channel_counts_as_direct(missing):
    assert mapped(KenhNop=missing).channel == 1


@pytest.mark.parametrize(
    ("changes", "ended", "events"),
    [
        # Withdrawn: ended when withdrawn.
        (
            {"TrangThai": "RUT_HO_SO", "NgayRutHoSo": "2019-01-08T10:00:00+07:00"}
            | {"NgayQuyetDinh": None, "NgayTraKetQua": None},
            local(2019, 1, 8, 10),
            {2, 7},
        ),
        # Refused after review: the decision date is the refusal (8).
        (
            {"TrangThai": "TU_CHOI", "NgayTraKetQua": None},
            local(2019, 1, 9, 15),
            {2, 8},
        ),
        # Handed over with no decision date: ended at the handover (10).
        ({"NgayQuyetDinh": None}, local(2019, 1, 11, 9), {2, 10}),
        # Still processing: no end.
        (
            {"TrangThai": "DANG_XU_LY", "NgayQuyetDinh": None, "NgayTraKetQua": None},
            None,
            {2, 4},
        ),
    ],
)
def test_end_time_follows_the_counting_rules(changes, ended, events):
    d = mapped(**changes)
    assert d.ended_at == ended
    assert {e.status for e in d.history} == events


def test_refused_at_intake_is_never_received():
    d = mapped(
        TrangThai="KHONG_TIEP_NHAN",
        NgayTiepNhan=None,
        NgayHenTra=None,
        NgayHenTraBanDau=None,
        NgayQuyetDinh="2019-01-07T08:30:00+07:00",
        NgayTraKetQua=None,
    )
    assert d.received_at is None and d.ended_at is None
    assert d.history == (StatusEvent(3, local(2019, 1, 7, 8, 30)),)


def test_a_moved_due_date_is_an_extension():
    d = mapped(NgayHenTra="2019-01-17T08:20:00+07:00")
    assert d.due_at == local(2019, 1, 17, 8, 20) and d.due_extended


def test_dates_without_an_offset_are_local_and_other_offsets_are_converted():
    d = mapped(NgayTiepNhan="2019-01-07T08:20:00", NgayNop="2019-01-07T01:05:00Z")
    assert d.received_at == local(2019, 1, 7, 8, 20)
    assert d.submitted_at == local(2019, 1, 7, 8, 5)
    assert d.submitted_at.tzinfo == LOCAL_TZ


def test_an_mst_with_a_branch_suffix_is_valid_and_hashed_compact():
    d = mapped(MaSoDoanhNghiep=BRANCH)
    assert d.applicant_ref == CTX.pseudonymise("0100109106001")
    assert mapped(MaSoDoanhNghiep=" 0100109106 ").applicant_ref == CTX.pseudonymise(MST)


def test_the_same_enterprise_gets_the_same_reference_as_in_the_one_stop_software():
    one_stop = map_one_stop(
        {
            "MaHoSo": "000.00.03.H22-190107-0001",
            "MaTTHC": "1.005167",
            "LoaiDoiTuong": "2",
            "SoGiayToChuHoSo": MST,
            "TrangThaiHoSo": "2",
            "NgayTiepNhan": "20190107082000",
            "NgayCapNhat": "20190107082000",
        },
        CTX,
    )
    assert one_stop.applicant_ref == mapped().applicant_ref


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"SoHoSo": ...}, "missing dossier number (SoHoSo)"),
        ({"SoHoSo": "  "}, "missing dossier number (SoHoSo)"),
        ({"NgayCapNhat": None}, "missing NgayCapNhat"),
        ({"TrangThai": ...}, "missing status (TrangThai)"),
        ({"TrangThai": "DANG_THAM_DINH"}, "unknown status code TrangThai='DANG_THAM_DINH'"),
        ({"TrangThai": "9"}, "unknown status code"),  # national codes are not this system's
        ({"KenhNop": "QUA_CONG_DVCQG"}, "unknown channel code KenhNop='QUA_CONG_DVCQG'"),
        ({"KenhNop": "2"}, "unknown channel code"),
        ({"MaThuTuc": None}, "missing procedure code (MaThuTuc)"),
        ({"MaCoQuanDangKy": None}, "missing registration office (MaCoQuanDangKy)"),
        ({"MaSoDoanhNghiep": None}, "missing tax code (MaSoDoanhNghiep)"),
        ({"MaSoDoanhNghiep": "0100109107"}, "invalid tax code MaSoDoanhNghiep: bad check digit"),
        ({"MaSoDoanhNghiep": "010010910"}, "invalid tax code MaSoDoanhNghiep: not 10 or 13"),
        ({"MaSoDoanhNghiep": "01001091X6"}, "invalid tax code MaSoDoanhNghiep"),
        ({"MaSoDoanhNghiep": "hmac:not-a-digest"}, "invalid tax code MaSoDoanhNghiep"),
        ({"NgayTiepNhan": "2019-02-31T25:00:00+07:00"}, "unparseable date NgayTiepNhan"),
        ({"NgayHenTra": "10/01/2019 08:20:00"}, "unparseable date NgayHenTra"),
        ({"NgayNop": "2019-01-07"}, "unparseable date NgayNop"),  # a date is not a dateTime
        ({"NgayQuyetDinh": "20190109150000"}, "unparseable date NgayQuyetDinh"),
        ({"NgayHenTra": "2018-01-10T08:20:00+07:00"}, "due date before receive date"),
        ({"NgayQuyetDinh": "2019-01-07T08:00:00+07:00"}, "end date before receive date"),
        ({"MaThuTuc": ["1.005167"]}, "MaThuTuc is not text"),
    ],
)
def test_every_rejection_reason(changes, reason):
    rejection = rejected(**changes)
    assert reason in rejection.reason
    expected_id = changes.get("SoHoSo", RECORD["SoHoSo"])
    assert rejection.source_id == (None if expected_id in (..., "  ") else expected_id)


def test_the_mst_never_appears_in_a_rejection_reason():
    assert "0100109107" not in rejected(MaSoDoanhNghiep="0100109107").reason


def test_a_record_that_is_not_an_object_is_rejected():
    assert "not an object" in map_dossier(["SoHoSo"], CTX).reason


def test_an_unknown_procedure_is_loaded_and_flagged():
    assert mapped(MaThuTuc="2.999999").flags == ("unknown_procedure",)


def test_redaction_keeps_no_mst_and_no_names_and_the_mapping_still_works():
    clean = redact_dossier(dict(RECORD), CTX)
    text = json.dumps(clean, ensure_ascii=False)
    for secret in (MST, RECORD["TenDoanhNghiep"], RECORD["NguoiDaiDienPhapLuat"]):
        assert secret not in text
    assert clean["MaSoDoanhNghiep"] == "hmac:" + CTX.pseudonymise(MST)
    assert redact_dossier(clean, CTX) == clean  # idempotent
    assert map_dossier(clean, CTX) == map_dossier(dict(RECORD), CTX)


def test_redaction_of_an_invalid_mst_keeps_only_what_is_wrong():
    clean = redact_dossier({**RECORD, "MaSoDoanhNghiep": "0100109107"}, CTX)
    assert clean["MaSoDoanhNghiep"] == "invalid:bad check digit"
    reason = map_dossier(clean, CTX).reason
    assert reason == "invalid tax code MaSoDoanhNghiep: bad check digit"
    assert redact_dossier({**RECORD, "MaSoDoanhNghiep": ["x"]}, CTX)["MaSoDoanhNghiep"] is None
    assert redact_dossier("not a record", CTX) == "not a record"
