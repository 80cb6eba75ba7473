"""The one-stop mapping: every code, every rejection reason, the end-time and due-date rules."""

from __future__ import annotations

from datetime import datetime

import pytest

from mappings.canonical import Dossier, Rejection, StatusEvent
from mappings.common import LOCAL_TZ, MappingContext
from mappings.one_stop import map_agency, map_dossier, map_procedure, map_rating, redact_dossier

CTX = MappingContext(b"k" * 32, known_procedures=frozenset({"1.001612", "2.002492"}))


def t(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=LOCAL_TZ)


def raw(**over) -> dict:
    base = {
        "MaHoSo": "000.00.12.H22-190105-0001",
        "MaTTHC": "1.001612",
        "DonViXuLy": "000.00.12.H22",
        "ChuHoSo": "Nguyễn Văn An",
        "LoaiDoiTuong": "1",
        "SoGiayToChuHoSo": "020190001234",
        "KenhThucHien": "2",
        "HinhThuc": "1",
        "NgayNopHoSo": "20190105080000",
        "NgayTiepNhan": "20190105090000",
        "NgayHenTra": "20190115170000",
        "NgayKetThucXuLy": "20190114100000",
        "NgayTra": "20190115090000",
        "TrangThaiHoSo": "10",
        "DuocThanhToanTrucTuyen": 1,
        "TaiCho": 0,
        "DanhSachLePhi": [
            {"MaPhiLePhi": "LP1", "TenPhiLePhi": "Lệ phí", "Gia": 50000},
            {"MaPhiLePhi": "P2", "TenPhiLePhi": "Phí", "Gia": "20000"},
        ],
        "NgayCapNhat": "20190115090000",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def test_a_complete_record_maps_every_field():
    d = map_dossier(raw(), CTX)
    assert isinstance(d, Dossier)
    assert d.source_id == d.dossier_number == "000.00.12.H22-190105-0001"
    assert (d.procedure_code, d.agency_code) == ("1.001612", "000.00.12.H22")
    assert (d.applicant_type, d.channel, d.result_delivery, d.status) == (1, 2, 1, 10)
    assert d.received_at == t("20190105090000") and d.received_at.tzinfo is LOCAL_TZ
    assert d.due_at == t("20190115170000") and not d.due_extended
    assert d.ended_at == t("20190114100000")  # first time 9, not the hand-over (10)
    assert d.paid_online and not d.on_the_spot
    assert d.fee_amount == 70000
    assert d.source_updated_at == t("20190115090000")


def test_the_id_number_becomes_a_keyed_hash():
    d = map_dossier(raw(), CTX)
    assert d.applicant_ref and "020190001234" not in d.applicant_ref and len(d.applicant_ref) == 64
    assert (
        d.applicant_ref == map_dossier(raw(SoGiayToChuHoSo=" 0201 9000 1234 "), CTX).applicant_ref
    )
    other_key = MappingContext(b"x" * 32, CTX.known_procedures)
    assert map_dossier(raw(), other_key).applicant_ref != d.applicant_ref


@pytest.mark.parametrize("source, canonical", [(str(i), i) for i in range(1, 11)] + [(7, 7)])
def test_every_status_code(source, canonical):
    record = raw(TrangThaiHoSo=source, NgayKetThucXuLy=..., NgayTra=...)
    assert map_dossier(record, CTX).status == canonical


@pytest.mark.parametrize("source, canonical", [("1", 1), ("2", 2), ("3", 3), (None, 1), ("", 1)])
def test_every_channel_code_and_missing_is_direct(source, canonical):
    assert map_dossier(raw(KenhThucHien=source), CTX).channel == canonical


@pytest.mark.parametrize("source, canonical", [("0", 0), ("1", 1), (None, None)])
def test_every_result_delivery_code(source, canonical):
    assert map_dossier(raw(HinhThuc=source), CTX).result_delivery == canonical


@pytest.mark.parametrize(
    "source, canonical", [("1", 1), ("2", 2), ("3", 3), ("4", 4), (None, None)]
)
def test_every_applicant_type(source, canonical):
    assert map_dossier(raw(LoaiDoiTuong=source), CTX).applicant_type == canonical


@pytest.mark.parametrize("source, paid", [(0, False), (1, True), (2, True), (None, False)])
def test_paid_online_via_either_portal(source, paid):
    assert map_dossier(raw(DuocThanhToanTrucTuyen=source), CTX).paid_online is paid


@pytest.mark.parametrize(
    "over, reason",
    [
        ({"MaHoSo": ...}, "missing dossier number (MaHoSo)"),
        ({"MaHoSo": "  "}, "missing dossier number (MaHoSo)"),
        ({"NgayTiepNhan": "20193102250000"}, "unparseable date NgayTiepNhan='20193102250000'"),
        ({"NgayHenTra": "15/01/2019"}, "unparseable date NgayHenTra='15/01/2019'"),
        ({"TrangThaiHoSo": "42"}, "unknown status code TrangThaiHoSo='42'"),
        ({"TrangThaiHoSo": ...}, "missing status (TrangThaiHoSo)"),
        ({"KenhThucHien": "7"}, "unknown channel code KenhThucHien='7'"),
        ({"HinhThuc": "5"}, "unknown result_delivery code HinhThuc='5'"),
        ({"LoaiDoiTuong": "9"}, "unknown applicant_type code LoaiDoiTuong='9'"),
        ({"MaTTHC": ...}, "missing procedure code (MaTTHC)"),
        ({"NgayHenTra": "20190101080000"}, "due date before receive date"),
        ({"NgayKetThucXuLy": "20190104080000", "NgayTra": ...}, "end date before receive date"),
        ({"NgayCapNhat": ...}, "missing NgayCapNhat"),
        ({"DanhSachLePhi": [{"Gia": -5}]}, "invalid fee amount"),
        ({"DanhSachLePhi": "50000"}, "DanhSachLePhi is not a list of objects"),
        ({"DuocThanhToanTrucTuyen": "yes"}, "DuocThanhToanTrucTuyen is not an integer"),
        ({"MaTTHC": {"nested": 1}}, "MaTTHC is not text"),
    ],
)
def test_every_rejection_reason(over, reason):
    result = map_dossier(raw(**over), CTX)
    assert isinstance(result, Rejection), result
    assert reason in result.reason
    expected_id = None if over.get("MaHoSo", "x") in (..., "  ") else "000.00.12.H22-190105-0001"
    assert result.source_id == expected_id


@pytest.mark.parametrize("payload", [None, [], "text", 42, ["MaHoSo"]])
def test_a_record_that_is_not_an_object_is_rejected(payload):
    result = map_dossier(payload, CTX)
    assert isinstance(result, Rejection) and "not an object" in result.reason


def test_an_unknown_procedure_is_loaded_and_flagged_not_dropped():
    d = map_dossier(raw(MaTTHC="9.999999"), CTX)
    assert isinstance(d, Dossier) and d.flags == ("unknown_procedure",)
    assert map_dossier(raw(), CTX).flags == ()
    # Without a catalogue nothing can be judged unknown.
    ctx = MappingContext(b"k" * 32, known_procedures=None)
    assert map_dossier(raw(MaTTHC="9.999999"), ctx).flags == ()


def test_end_time_is_handover_when_never_marked_resolved():
    d = map_dossier(raw(NgayKetThucXuLy=...), CTX)
    assert d.ended_at == t("20190115090000")


@pytest.mark.parametrize("status", ["7", "8"])
def test_withdrawn_or_stopped_dossiers_end_at_that_event(status):
    d = map_dossier(
        raw(TrangThaiHoSo=status, NgayKetThucXuLy=..., NgayTra=..., NgayCapNhat="20190110103000"),
        CTX,
    )
    assert d.status == int(status)
    assert d.ended_at == t("20190110103000")


@pytest.mark.parametrize("status", ["2", "4", "5", "6"])
def test_open_dossiers_have_no_end_time(status):
    d = map_dossier(raw(TrangThaiHoSo=status, NgayKetThucXuLy=..., NgayTra=...), CTX)
    assert d.ended_at is None


def test_progress_rows_give_the_history_and_the_first_resolution_wins():
    rows = [
        {"TrangThai": "2", "ThoiDiemXuLy": "20190105090000"},
        {"TrangThai": "4", "ThoiDiemXuLy": "20190106090000"},
        {"TrangThai": "9", "ThoiDiemXuLy": "20190110090000"},
        {"TrangThai": "4", "ThoiDiemXuLy": "20190111090000"},  # reopened
        {"TrangThai": "9", "ThoiDiemXuLy": "20190112090000"},
        {"TrangThai": "10", "ThoiDiemXuLy": "20190115090000"},
    ]
    d = map_dossier(raw(QuaTrinhXuLy=rows), CTX)
    assert d.history[0] == StatusEvent(2, t("20190105090000"))
    assert [e.status for e in d.history] == [2, 4, 9, 4, 9, 10]
    assert d.ended_at == t("20190110090000")


def test_history_always_holds_the_current_status():
    d = map_dossier(
        raw(TrangThaiHoSo="5", NgayKetThucXuLy=..., NgayTra=..., NgayCapNhat="20190108080000"), CTX
    )
    assert d.history[-1] == StatusEvent(5, t("20190108080000"))


def test_the_rescheduled_due_date_is_kept_and_flagged():
    rounds = [
        {
            "NgayYeuCau": "20190108080000",
            "NgayHenTraTruoc": "20190115170000",
            "NgayHenTraMoi": "20190122170000",
        }
    ]
    d = map_dossier(
        raw(
            DanhSachHoSoBoSung=rounds,
            NgayHenTra="20190122170000",
            NgayTra=...,
            TrangThaiHoSo="4",
            NgayKetThucXuLy=...,
        ),
        CTX,
    )
    assert d.due_at == t("20190122170000") and d.due_extended
    # Without NgayHenTra, the latest round gives the due date.
    d = map_dossier(
        raw(
            DanhSachHoSoBoSung=rounds,
            NgayHenTra=...,
            NgayTra=...,
            TrangThaiHoSo="4",
            NgayKetThucXuLy=...,
        ),
        CTX,
    )
    assert d.due_at == t("20190122170000") and d.due_extended
    assert not map_dossier(raw(), CTX).due_extended


def test_a_current_due_date_before_receipt_is_rejected_whatever_the_rounds_say():
    rounds = [{"NgayHenTraTruoc": "20190115170000", "NgayHenTraMoi": "20190122170000"}]
    result = map_dossier(raw(DanhSachHoSoBoSung=rounds, NgayHenTra="20180105090000"), CTX)
    assert isinstance(result, Rejection) and "due date before receive date" in result.reason


def test_redaction_keeps_no_id_number_nor_name():
    clean = redact_dossier(raw(), CTX)
    assert "020190001234" not in str(clean) and "Nguyễn" not in str(clean)
    assert clean["SoGiayToChuHoSo"].startswith("hmac:")


def test_ratings_every_level_and_rejections():
    base = {"MaDanhGia": "DG1", "MaHoSo": "X", "MaCoQuan": "A", "NgayDanhGia": "20190301100000"}
    for level in (1, 2, 3):
        assert map_rating({**base, "MucDoHaiLong": str(level)}, CTX).level == level
    assert "unknown satisfaction code" in map_rating({**base, "MucDoHaiLong": "4"}, CTX).reason
    assert (
        "missing rating date"
        in map_rating({**base, "NgayDanhGia": "", "MucDoHaiLong": 1}, CTX).reason
    )
    assert (
        "missing rating id"
        in map_rating({**base, "MaDanhGia": None, "MucDoHaiLong": 1}, CTX).reason
    )


def test_catalogue_rows():
    a = map_agency({"MaCoQuan": "000.00.12.H22", "TenCoQuan": "Sở Tư pháp"}, CTX)
    assert (a.code, a.name, a.parent_code) == ("000.00.12.H22", "Sở Tư pháp", None)
    assert "missing TenCoQuan" in map_agency({"MaCoQuan": "X"}, CTX).reason
    p = map_procedure(
        {
            "MaTTHC": "1.001612",
            "TenTTHC": "Cấp phiếu lý lịch tư pháp",
            "MaLinhVuc": "LLTP",
            "TenLinhVuc": "Lý lịch tư pháp",
            "MaCoQuan": "000.00.12.H22",
            "ThoiHanGiaiQuyet": 10,
            "DonViThoiHan": "ngay",
            "MucDo": "3",
            "LePhi": 200000,
            "NgayCapNhat": "20190101000000",
        },
        CTX,
    )
    assert (p.legal_duration, p.duration_unit, p.online_level, p.fee_amount) == (
        10.0,
        "day",
        "level_3",
        200000,
    )
    assert (
        "unknown duration unit"
        in map_procedure({"MaTTHC": "1", "TenTTHC": "x", "DonViThoiHan": "tuan"}, CTX).reason
    )
    # The online levels of Decree 42/2022 exist only from 15/8/2022 on.
    assert (
        "unknown online_level"
        in map_procedure(
            {"MaTTHC": "1", "TenTTHC": "x", "MucDo": "TT", "NgayCapNhat": "20190101000000"}, CTX
        ).reason
    )
    later = map_procedure(
        {"MaTTHC": "1", "TenTTHC": "x", "MucDo": "TT", "NgayCapNhat": "20230101000000"}, CTX
    )
    assert later.online_level == "full"


@pytest.mark.parametrize(
    "value",
    [
        "2019010508000",
        "201901050800000",
        "2019-01-05 08:00",
        "20190230080000",
        "20191305080000",
        "20190105250000",
        "２０１９０１０５０８００００",
        "+2019010508000",
    ],
)
def test_compact_dates_are_strict(value):
    result = map_dossier(raw(NgayNopHoSo=value), CTX)
    assert isinstance(result, Rejection) and "unparseable date NgayNopHoSo" in result.reason


@pytest.mark.parametrize("duration", ["nan", "inf", -3, "1e400"])
def test_a_legal_duration_must_be_a_finite_positive_number(duration):
    result = map_procedure({"MaTTHC": "1", "TenTTHC": "x", "ThoiHanGiaiQuyet": duration}, CTX)
    assert isinstance(result, Rejection) and "ThoiHanGiaiQuyet" in result.reason


def test_a_tax_code_hashes_the_same_with_or_without_its_branch_dash():
    dashed = map_dossier(raw(LoaiDoiTuong="2", SoGiayToChuHoSo="4917193342-011"), CTX)
    compact = map_dossier(raw(LoaiDoiTuong="2", SoGiayToChuHoSo="4917193342011"), CTX)
    assert dashed.applicant_ref == compact.applicant_ref
