"""Mapping of the province's one-stop software (national-sync field names) to canonical records."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mappings import codes
from mappings.canonical import Agency, Dossier, Procedure, Rating, StatusEvent
from mappings.common import (
    COMPACT,
    MappingContext,
    MappingError,
    code,
    integer,
    local_datetime,
    rejecting,
    text,
    with_current_status,
)
from mappings.common import (
    ended_at as end_time,
)

CODES = codes.load("one_stop")
DATE_FMT = COMPACT  # yyyyMMddHHmmss, local time (docs/domain.md)

_DATE_EVENTS = (  # status reached, date field that records it
    (2, "NgayTiepNhan"),
    (3, "NgayTuChoi"),
    (9, "NgayKetThucXuLy"),
    (10, "NgayTra"),
)


def _date(raw: Mapping[str, Any], name: str) -> datetime | None:
    return local_datetime(raw, name, DATE_FMT)


@rejecting("MaHoSo")
def map_dossier(raw: Mapping[str, Any], ctx: MappingContext) -> Dossier:
    number = text(raw, "MaHoSo")
    if number is None:
        raise MappingError("missing dossier number (MaHoSo)")
    updated_at = _date(raw, "NgayCapNhat")
    if updated_at is None:
        raise MappingError("missing NgayCapNhat (last change time)")
    submitted_at = _date(raw, "NgayNopHoSo")
    received_at = _date(raw, "NgayTiepNhan")
    on = (received_at or submitted_at or updated_at).date()  # which code-list version applies

    status = code(CODES["status"], raw, "TrangThaiHoSo", on)
    if status is None:
        raise MappingError("missing status (TrangThaiHoSo)")
    channel = code(CODES["channel"], raw, "KenhThucHien", on) or 1  # missing = direct
    procedure = text(raw, "MaTTHC")
    if procedure is None:
        raise MappingError("missing procedure code (MaTTHC)")

    due_at, due_extended = _due(raw)
    if due_at is not None and received_at is not None and due_at < received_at:
        raise MappingError("due date before receive date (NgayHenTra < NgayTiepNhan)")
    history = _history(raw, status, updated_at)
    ended_at = end_time(status, history)
    if ended_at is not None and received_at is not None and ended_at < received_at:
        raise MappingError("end date before receive date")

    id_number = text(raw, "SoGiayToChuHoSo")
    paid = integer(raw, "DuocThanhToanTrucTuyen", default=0)
    return Dossier(
        source_id=number,
        dossier_number=number,
        procedure_code=procedure,
        agency_code=text(raw, "DonViXuLy"),
        applicant_type=code(CODES["applicant_type"], raw, "LoaiDoiTuong", on),
        applicant_ref=ctx.pseudonymise(id_number) if id_number else None,
        channel=channel,
        result_delivery=code(CODES["result_delivery"], raw, "HinhThuc", on),
        submitted_at=submitted_at,
        received_at=received_at,
        due_at=due_at,
        due_extended=due_extended,
        ended_at=ended_at,
        status=status,
        on_the_spot=integer(raw, "TaiCho", default=0) == 1,
        paid_online=paid in (1, 2),  # 1 national portal, 2 local portal
        fee_amount=_fees(raw),
        source_updated_at=updated_at,
        history=history,
        flags=ctx.procedure_flags(procedure),
    )


def _due(raw: Mapping[str, Any]) -> tuple[datetime | None, bool]:
    """The current due date and whether it was re-set (supplement or apology rounds).

    NgayHenTra is the source's current due date, already moved by any re-scheduling; the rounds
    say whether it moved, and give the date only when NgayHenTra itself is missing.
    """
    due_at = _date(raw, "NgayHenTra")
    extended, latest = False, None
    for round_ in _rows(raw, "DanhSachHoSoBoSung"):
        new = local_datetime(round_, "NgayHenTraMoi", DATE_FMT)
        old = local_datetime(round_, "NgayHenTraTruoc", DATE_FMT)
        if new is None:
            continue
        extended = extended or new != old
        latest = new if latest is None or new > latest else latest
    return (due_at or latest), extended


def _history(raw: Mapping[str, Any], status: int, updated_at: datetime) -> tuple[StatusEvent, ...]:
    """Status events from the progress rows (QuaTrinhXuLy), else from the date fields.

    The current status always has an event: when the source shows no time for it, the record's
    last change time is used. The events are deterministic, so re-loading the same record
    appends nothing new to the warehouse history.
    """
    events: set[StatusEvent] = set()
    for row in _rows(raw, "QuaTrinhXuLy"):
        at = local_datetime(row, "ThoiDiemXuLy", DATE_FMT)
        reached = code(CODES["status"], row, "TrangThai", at.date() if at else None)
        if at is not None and reached is not None:
            events.add(StatusEvent(reached, at))
    if not events:
        for reached, field in _DATE_EVENTS:
            at = _date(raw, field)
            if at is not None:
                events.add(StatusEvent(reached, at))
    return with_current_status(events, status, updated_at)


def _fees(raw: Mapping[str, Any]) -> int:
    total = 0
    for line in _rows(raw, "DanhSachLePhi"):
        amount = integer(line, "Gia", default=0)
        if amount is None or amount < 0:
            raise MappingError(f"invalid fee amount Gia={line.get('Gia')!r}")
        total += amount
    return total


def _rows(raw: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = raw.get(name)
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(
        type(r) is dict or isinstance(r, Mapping) for r in value
    ):
        raise MappingError(f"{name} is not a list of objects")
    return value


@rejecting("MaDanhGia")
def map_rating(raw: Mapping[str, Any], ctx: MappingContext) -> Rating:
    key = text(raw, "MaDanhGia")
    if key is None:
        raise MappingError("missing rating id (MaDanhGia)")
    rated_at = _date(raw, "NgayDanhGia")
    if rated_at is None:
        raise MappingError("missing rating date (NgayDanhGia)")
    level = code(CODES["satisfaction"], raw, "MucDoHaiLong", rated_at.date())
    if level is None:
        raise MappingError("missing satisfaction level (MucDoHaiLong)")
    return Rating(
        source_id=key,
        dossier_number=text(raw, "MaHoSo"),
        agency_code=text(raw, "MaCoQuan"),
        level=level,
        rated_at=rated_at,
    )


@rejecting("MaCoQuan")
def map_agency(raw: Mapping[str, Any], ctx: MappingContext) -> Agency:
    return Agency(
        code=text(raw, "MaCoQuan", required=True),
        name=text(raw, "TenCoQuan", required=True),
        parent_code=text(raw, "MaCoQuanCha"),
    )


_DURATION_UNITS = {"ngay": "day", "gio": "hour"}


@rejecting("MaTTHC")
def map_procedure(raw: Mapping[str, Any], ctx: MappingContext) -> Procedure:
    unit = text(raw, "DonViThoiHan")
    if unit is not None and unit not in _DURATION_UNITS:
        raise MappingError(f"unknown duration unit DonViThoiHan={unit!r}")
    duration = raw.get("ThoiHanGiaiQuyet")
    if duration in (None, ""):
        duration = None
    elif isinstance(duration, bool) or not isinstance(duration, int | float | str):
        raise MappingError(f"ThoiHanGiaiQuyet is not a number: {duration!r}")
    else:
        try:
            duration = float(duration)
        except ValueError:
            raise MappingError(f"ThoiHanGiaiQuyet is not a number: {duration!r}") from None
        if not math.isfinite(duration) or duration < 0:
            raise MappingError(f"ThoiHanGiaiQuyet is not a duration: {duration!r}")
    updated = _date(raw, "NgayCapNhat")
    fee = integer(raw, "LePhi", default=0)
    if fee is None or fee < 0:
        raise MappingError(f"invalid fee LePhi={raw.get('LePhi')!r}")
    return Procedure(
        code=text(raw, "MaTTHC", required=True),
        name=text(raw, "TenTTHC", required=True),
        field_code=text(raw, "MaLinhVuc"),
        field_name=text(raw, "TenLinhVuc"),
        agency_code=text(raw, "MaCoQuan"),
        legal_duration=duration,
        duration_unit=_DURATION_UNITS.get(unit) if unit else None,
        online_level=code(CODES["online_level"], raw, "MucDo", updated.date() if updated else None),
        fee_amount=fee,
    )


# Applied to every record before it is archived, mapped or quarantined: the ID number is replaced
# by its keyed hash (which the mapping accepts as is), the applicant's name is dropped.
def redact_dossier(raw: Any, ctx: MappingContext) -> Any:
    if not isinstance(raw, Mapping):
        return raw
    clean = dict(raw)
    if "SoGiayToChuHoSo" in clean:
        clean["SoGiayToChuHoSo"] = ctx.redacted_id(clean["SoGiayToChuHoSo"])
    if "ChuHoSo" in clean:
        clean["ChuHoSo"] = "[redacted]"
    return clean
