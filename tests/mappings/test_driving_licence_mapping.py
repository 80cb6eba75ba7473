"""The GPLX mapping: every code, each date format strictly, every rejection reason, redaction."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from mappings.canonical import Dossier, Rejection, StatusEvent
from mappings.common import LOCAL_TZ, MappingContext
from mappings.driving_licence import map_dossier, redact_dossier

CTX = MappingContext(b"k" * 32, known_procedures=frozenset({"1.002804", "1.002835"}))
PERSONAL = ("Nguyễn Thị Hồng Vân", "1987-03-14", "020187004321", "2017805977", "201234567890")


def t(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M:%S").replace(tzinfo=LOCAL_TZ)


def raw(detail: dict | None = None, **over) -> dict:
    """A handed-over licence renewal; ``...`` removes a field."""
    chi_tiet = {
        "MaHoSo": "GPLX-H22-190107-0001",
        "MaTTHC": "1.002804",
        "TenDVC": "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        "HoTenNguoiNop": "Nguyễn Thị Hồng Vân",
        "MaTrangThai": "6",
        "TrangThaiHoSo": "Đã trả GPLX",
        "MaDonViXuLy": "000.00.05.H22",
        "DonViXuLy": "Sở Giao thông vận tải tỉnh Lạng Sơn",
        "HinhThucNop": "1",
        "HinhThucNhanKQ": "1",
        "NgayNop": "06/01/2019 21:15:00",
        "NgayTiepNhan": "07/01/2019 08:05:10",
        "NgayHenTra": "14/01/2019 08:05:10",
        "NgayHoanThanh": "11/01/2019 10:00:00",
        "NgayTraKQ": "15/01/2019 09:30:00",
        "NgayKetThuc": "",
        "NgayCapNhat": "15/01/2019 09:30:00",
        "LePhi": 135000,
        "DaThanhToanTrucTuyen": "1",
    }
    chi_tiet.update(detail or {})
    base = {
        "maHoSo": "GPLX-H22-190107-0001",
        "maDangKyDvc": "G22-190106-000123",
        "hoTen": "Nguyễn Thị Hồng Vân",
        "ngaySinh": "1987-03-14",
        "soCmnd": "020187004321",
        "dvhcNoiCuTru": "2017805977",
        "ngayNhanHoSo": "2019-01-06T21:15:00",
        "ngayHenTraGplx": "2019-01-14",
        "lyDoDoiGplx": "01",
        "hangDaoTao": "B2",
        "gplxDaCap": [
            {
                "sogplx": "201234567890",
                "hanggplx": "B2",
                "ngaycapgplx": "2009-01-20",
                "ngayhethangplx": "2019-01-20",
            }
        ],
        "chiTiet": {k: v for k, v in chi_tiet.items() if v is not ...},
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not ...}


def test_a_complete_record_maps_every_field():
    d = map_dossier(raw(), CTX)
    assert isinstance(d, Dossier)
    assert d.source_id == d.dossier_number == "GPLX-H22-190107-0001"
    assert (d.procedure_code, d.agency_code, d.applicant_type) == ("1.002804", "000.00.05.H22", 1)
    assert (d.channel, d.result_delivery, d.status) == (2, 1, 10)
    assert d.submitted_at == t("06/01/2019 21:15:00")
    assert d.received_at == t("07/01/2019 08:05:10") and d.received_at.tzinfo is LOCAL_TZ
    assert d.due_at == t("14/01/2019 08:05:10") and not d.due_extended
    assert d.ended_at == t("11/01/2019 10:00:00")  # first time 9, not the hand-over (10)
    assert d.source_updated_at == t("15/01/2019 09:30:00")
    assert (d.fee_amount, d.paid_online, d.on_the_spot) == (135000, True, False)
    assert d.history == (
        StatusEvent(1, t("06/01/2019 21:15:00")),  # applied online
        StatusEvent(2, t("07/01/2019 08:05:10")),
        StatusEvent(9, t("11/01/2019 10:00:00")),
        StatusEvent(10, t("15/01/2019 09:30:00")),
    )
    assert d.flags == ()


def test_attributes_hold_the_licence_class_and_reason_and_nothing_personal():
    d = map_dossier(raw(), CTX)
    assert dict(d.attributes) == {"licence_class": "B2", "reason_code": "01"}
    text = json.dumps(dict(d.attributes), ensure_ascii=False)
    assert not any(value in text for value in PERSONAL)
    assert dict(map_dossier(raw(lyDoDoiGplx="", hangDaoTao=...), CTX).attributes) == {}


def test_the_id_number_becomes_the_same_keyed_hash_the_one_stop_mapping_uses():
    d = map_dossier(raw(), CTX)
    assert d.applicant_ref == CTX.pseudonymise("020187004321") and len(d.applicant_ref) == 64
    assert "020187004321" not in d.applicant_ref
    assert map_dossier(raw(soCmnd=" 0201 8700 4321 "), CTX).applicant_ref == d.applicant_ref
    assert map_dossier(raw(soCmnd=""), CTX).applicant_ref is None


STATUSES = [("0", 1), ("1", 2), ("2", 4), ("3", 5), ("4", 6), ("5", 9), ("6", 10), ("7", 3)]
STATUSES += [("8", 7), ("9", 8)]


@pytest.mark.parametrize("source, canonical", STATUSES + [(5, 9)])
def test_every_status_code_of_the_systems_own_list(source, canonical):
    accepted = canonical not in (1, 3)
    detail = {
        "MaTrangThai": source,
        "NgayTiepNhan": "07/01/2019 08:05:10" if accepted else "",
        "NgayHenTra": "14/01/2019 08:05:10" if accepted else "",
        "NgayHoanThanh": "",
        "NgayTraKQ": "",
    }
    d = map_dossier(raw(detail), CTX)
    assert d.status == canonical
    assert canonical in {e.status for e in d.history}  # the current status always has an event


def test_the_status_list_is_dated():
    # "10" (licence posted) exists from 1 July 2020 on; before, it is unknown.
    later = {
        k: v.replace("/01/2019", "/07/2020") for k, v in raw()["chiTiet"].items() if "Ngay" in k
    }
    d = map_dossier(raw({**later, "MaTrangThai": "10"}, ngayNhanHoSo="2020-07-06T21:15:00"), CTX)
    assert isinstance(d, Dossier) and d.status == 10
    earlier = map_dossier(raw({"MaTrangThai": "10"}), CTX)
    assert earlier == Rejection("unknown status code MaTrangThai='10'", "GPLX-H22-190107-0001")


@pytest.mark.parametrize(
    "source, canonical", [("0", 1), ("1", 2), ("2", 3), (..., 1), ("", 1), (None, 1)]
)
def test_every_channel_code_and_missing_is_direct(source, canonical):
    assert map_dossier(raw({"HinhThucNop": source}), CTX).channel == canonical


@pytest.mark.parametrize("source, canonical", [("0", 0), ("1", 1), (..., None), ("", None)])
def test_every_result_delivery_code(source, canonical):
    assert map_dossier(raw({"HinhThucNhanKQ": source}), CTX).result_delivery == canonical


@pytest.mark.parametrize("source, paid", [("0", False), ("1", True), (..., False)])
def test_paid_online(source, paid):
    assert map_dossier(raw({"DaThanhToanTrucTuyen": source}), CTX).paid_online is paid


def test_a_refused_application_has_no_receive_time_and_no_end():
    d = map_dossier(
        raw(
            {
                "MaTrangThai": "7",
                "HinhThucNop": "0",
                "NgayTiepNhan": "",
                "NgayHenTra": "",
                "NgayHoanThanh": "",
                "NgayTraKQ": "",
                "NgayKetThuc": "07/01/2019 08:20:00",
                "NgayCapNhat": "07/01/2019 08:20:00",
            },
            ngayHenTraGplx="",
        ),
        CTX,
    )
    assert (d.status, d.received_at, d.due_at, d.ended_at) == (3, None, None, None)
    assert d.history == (StatusEvent(3, t("07/01/2019 08:20:00")),)


@pytest.mark.parametrize("code, status", [("8", 7), ("9", 8)])
def test_withdrawn_or_cancelled_ends_when_it_closed(code, status):
    closed = {"NgayHoanThanh": "", "NgayTraKQ": "", "NgayKetThuc": "10/01/2019 15:00:00"}
    d = map_dossier(raw({**closed, "MaTrangThai": code}), CTX)
    assert (d.status, d.ended_at) == (status, t("10/01/2019 15:00:00"))


def test_handed_over_without_a_ready_date_ends_at_the_hand_over():
    d = map_dossier(raw({"NgayHoanThanh": ""}), CTX)
    assert d.ended_at == t("15/01/2019 09:30:00")


def test_a_pending_dossier_has_no_end():
    pending = {"MaTrangThai": "2", "NgayHoanThanh": "", "NgayTraKQ": ""}
    assert map_dossier(raw(pending), CTX).ended_at is None


def test_the_promised_day_is_the_due_date_when_the_detail_has_none():
    d = map_dossier(raw({"NgayHenTra": ""}), CTX)
    assert d.due_at == datetime(2019, 1, 14, 17, tzinfo=LOCAL_TZ)


def test_the_list_arrival_time_stands_in_for_a_missing_submit_time():
    d = map_dossier(raw({"NgayNop": ""}), CTX)
    assert d.submitted_at == datetime(2019, 1, 6, 21, 15, tzinfo=LOCAL_TZ)


def test_without_ngaycapnhat_the_last_change_is_the_latest_date_carried():
    d = map_dossier(raw({"NgayCapNhat": ...}), CTX)
    assert d.source_updated_at == t("15/01/2019 09:30:00")  # NgayTraKQ, the latest
    again = map_dossier(raw({"NgayCapNhat": ...}), CTX)
    assert again == d


def test_an_unknown_procedure_still_counts_flagged():
    d = map_dossier(raw({"MaTTHC": "9.999999"}), CTX)
    assert isinstance(d, Dossier) and d.flags == ("unknown_procedure",)


def test_an_agency_missing_from_the_detail_is_the_transport_department():
    assert map_dossier(raw({"MaDonViXuLy": ""}), CTX).agency_code == "000.00.05.H22"


@pytest.mark.parametrize(
    "field, value",
    [
        ("ngayHenTraGplx", "2019-1-14"),
        ("ngayHenTraGplx", "14/01/2019"),
        ("ngayHenTraGplx", "2019-02-30"),
        ("ngayHenTraGplx", "2019-01-14T00:00:00"),
        ("ngayNhanHoSo", "2019-01-06 21:15:00"),  # a space, not the T
        ("ngayNhanHoSo", "2019-01-06T21:15"),
        ("ngayNhanHoSo", "2019-01-06T21:15:00.000"),
        ("ngayNhanHoSo", "2019-01-06T21:15:00+07:00"),
        ("ngayNhanHoSo", "06/01/2019 21:15:00"),
    ],
)
def test_list_dates_are_parsed_strictly_in_their_own_format(field, value):
    expected = {"ngayHenTraGplx": "yyyy-MM-dd", "ngayNhanHoSo": "yyyy-MM-ddTHH:mm:ss"}[field]
    rejection = map_dossier(raw(**{field: value}), CTX)
    assert rejection == Rejection(
        f"unparseable date {field}={value!r} (expected {expected})", "GPLX-H22-190107-0001"
    )


@pytest.mark.parametrize(
    "field",
    [
        "NgayNop",
        "NgayTiepNhan",
        "NgayHenTra",
        "NgayHoanThanh",
        "NgayTraKQ",
        "NgayKetThuc",
        "NgayCapNhat",
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        "7/1/2019 8:05:10",
        "2019-01-07T08:05:10",
        "07/01/2019",
        "31/02/2019 08:00:00",
        "07/01/2019 24:00:00",
        "07-01-2019 08:05:10",
        "０７/01/2019 08:05:10",
    ],
)
def test_detail_dates_are_parsed_strictly(field, value):
    rejection = map_dossier(raw({field: value}), CTX)
    assert isinstance(rejection, Rejection)
    assert rejection.reason == f"unparseable date {field}={value!r} (expected dd/MM/yyyy HH:mm:ss)"


@pytest.mark.parametrize(
    "record, reason",
    [
        (raw(maHoSo=...), "missing dossier number (maHoSo)"),
        (raw(maHoSo="  "), "missing dossier number (maHoSo)"),
        (raw(chiTiet=None), "missing detail (chiTiet: TraCuuHoSo found no record)"),
        (raw(chiTiet=...), "missing detail (chiTiet: TraCuuHoSo found no record)"),
        (raw(chiTiet=["x"]), "chiTiet is not an object: list"),
        (raw({"MaHoSo": "GPLX-H22-190107-0002"}), "detail of another dossier"),
        (raw({"MaTrangThai": "42"}), "unknown status code MaTrangThai='42'"),
        (raw({"MaTrangThai": ""}), "missing status (MaTrangThai)"),
        (raw({"HinhThucNop": "7"}), "unknown channel code HinhThucNop='7'"),
        (raw({"HinhThucNhanKQ": "2"}), "unknown result_delivery code HinhThucNhanKQ='2'"),
        (raw({"DaThanhToanTrucTuyen": "yes"}), "unknown paid_online code"),
        (raw({"MaTTHC": ...}), "missing procedure code (MaTTHC)"),
        (raw({"NgayHenTra": "06/01/2019 08:00:00"}), "due date before receive date"),
        (raw({"NgayHoanThanh": "06/01/2019 08:00:00"}), "end date before receive date"),
        (raw({"NgayTiepNhan": "", "MaTrangThai": "2"}), "accepted dossier without NgayTiepNhan"),
        (raw({"LePhi": -5}), "invalid fee LePhi=-5"),
        (raw({"LePhi": "free"}), "LePhi is not an integer"),
        (raw({"MaTTHC": {"nested": 1}}), "MaTTHC is not text"),
        (raw(hangDaoTao=["B2"]), "hangDaoTao is not text"),
        (
            raw(
                {
                    k: ""
                    for k in (
                        "NgayNop",
                        "NgayTiepNhan",
                        "NgayHoanThanh",
                        "NgayTraKQ",
                        "NgayCapNhat",
                    )
                }
                | {"MaTrangThai": "0"},
                ngayNhanHoSo="",
            ),
            "no date to tell when the record changed",
        ),
        ("not a record", "record is not an object: str"),
    ],
)
def test_every_rejection_reason(record, reason):
    rejection = map_dossier(record, CTX)
    assert isinstance(rejection, Rejection), rejection
    assert reason in rejection.reason


def test_a_rejection_keeps_the_dossier_number_when_there_is_one():
    assert map_dossier(raw({"MaTrangThai": "42"}), CTX).source_id == "GPLX-H22-190107-0001"
    assert map_dossier(raw(maHoSo=...), CTX).source_id is None


def test_redaction_keeps_no_personal_data_and_hashes_the_id_number():
    record = raw(soCmndCu="081234567", noiCuTru="Số 5, phường Vĩnh Trại", gioiTinh="Nữ")
    clean = redact_dossier(record, CTX)
    text = json.dumps(clean, ensure_ascii=False)
    for value in (*PERSONAL, "081234567", "Vĩnh Trại", "2009-01-20", "2019-01-20"):
        assert value not in text
    assert clean["soCmnd"] == "hmac:" + CTX.pseudonymise("020187004321")
    assert clean["soCmndCu"] == "hmac:" + CTX.pseudonymise("081234567")
    assert clean["gplxDaCap"] == [{"hanggplx": "B2"}]
    assert "HoTenNguoiNop" not in clean["chiTiet"]
    assert clean["redacted_fields"] == [
        "chiTiet.HoTenNguoiNop",
        "dvhcNoiCuTru",
        "gioiTinh",
        "hoTen",
        "ngaySinh",
        "noiCuTru",
    ]
    # What the mapping reads stays, so the reason can still be checked in quarantine.
    assert clean["chiTiet"]["NgayTiepNhan"] == "07/01/2019 08:05:10"
    assert clean["ngayNhanHoSo"] == "2019-01-06T21:15:00"
    assert record["hoTen"] == "Nguyễn Thị Hồng Vân"  # the input is not modified


@pytest.mark.parametrize(
    "record",
    [
        raw(chiTiet=None),
        raw(chiTiet="Nguyễn Thị Hồng Vân"),
        raw(gplxDaCap="201234567890"),
        raw(gplxDaCap=["201234567890"]),
        ["Nguyễn Thị Hồng Vân", "020187004321"],
    ],
)
def test_redaction_copes_with_malformed_records(record):
    text = json.dumps(redact_dossier(record, CTX), ensure_ascii=False)
    assert not any(value in text for value in PERSONAL)


MAPPED_AS_BEFORE = [
    raw(),
    raw(soCmnd=""),
    raw(soCmnd=..., soCmndCu="081234567"),
    raw({"MaTrangThai": "42"}),
    raw({"NgayTiepNhan": "2019-01-07T08:05:10"}),
    raw(maHoSo=...),
    raw(chiTiet=None),
    raw(chiTiet=["Nguyễn Thị Hồng Vân"]),
    raw(chiTiet="Nguyễn Thị Hồng Vân"),
    raw(soCmnd=["020187004321"]),
    raw(soCmnd={"so": "020187004321"}),
    raw(soCmnd=20187004321),
    raw(soCmnd=1.5),
    raw(hoTen=["x"], ngaySinh={"bad": 1}),
    "Nguyễn Thị Hồng Vân",
]


@pytest.mark.parametrize("record", MAPPED_AS_BEFORE)
def test_mapping_a_redacted_record_gives_what_mapping_the_raw_one_gives(record):
    # The pipeline redacts every record before it archives or maps it.
    assert map_dossier(redact_dossier(record, CTX), CTX) == map_dossier(record, CTX)


@pytest.mark.parametrize("record", MAPPED_AS_BEFORE)
def test_redacting_twice_changes_nothing(record):
    once = redact_dossier(record, CTX)
    assert redact_dossier(once, CTX) == once
