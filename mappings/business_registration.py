"""Mapping of the national business registration system's dossiers to canonical records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from stdnum.exceptions import InvalidChecksum, InvalidLength, ValidationError
from stdnum.vn import mst

from mappings import codes
from mappings.canonical import Dossier, StatusEvent
from mappings.common import (
    HASHED,
    LOCAL_TZ,
    MappingContext,
    MappingError,
    code,
    rejecting,
    text,
    with_current_status,
)
from mappings.common import (
    ended_at as end_time,
)

CODES = codes.load("business_registration")
BUSINESS = 2  # LoaiDoiTuong: every applicant of this system is an enterprise
_DATE_EVENTS = (  # status reached, date field that records it
    (2, "NgayTiepNhan"),
    (10, "NgayTraKetQua"),
    (7, "NgayRutHoSo"),
)
# NgayQuyetDinh is the date of the office's decision, whichever it was: a refusal at intake (3),
# a refusal after review (8), else the registration itself (9).
_REFUSALS = (3, 8)
# Fields no archived, mapped or quarantined record keeps: names of the enterprise and of its
# legal representative (a person).
_NAMES = ("TenDoanhNghiep", "NguoiDaiDienPhapLuat")
TAX_CODE = "MaSoDoanhNghiep"
# Redaction runs before mapping, so it is where the MST is validated: a valid one becomes
# `hmac:<keyed hash of the compact MST>`, an invalid one `invalid:<what is wrong>` (no value kept).
INVALID = "invalid:"
_HEX = frozenset("0123456789abcdef")


def _is_hashed(value: str) -> bool:
    digest = value[len(HASHED) :]
    return value.startswith(HASHED) and len(digest) == 64 and _HEX.issuperset(digest)


def parse_datetime(raw: Mapping[str, Any], name: str) -> datetime | None:
    """An ``xsd:dateTime`` field as a tz-aware local datetime; no offset means local time."""
    value = text(raw, name)
    if value is None:
        return None
    try:
        if "T" not in value:  # fromisoformat would take a bare date; the contract says dateTime
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MappingError(
            f"unparseable date {name}={value[:40]!r} (expected xsd:dateTime)"
        ) from None
    return moment.astimezone(LOCAL_TZ) if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


def check_tax_code(value: str) -> tuple[str | None, str | None]:
    """``(compact MST, None)`` for a valid MST (10 digits, or 13 with a branch suffix), else
    ``(None, what is wrong)``; the reason never quotes the value."""
    try:
        return mst.validate(value), None
    except InvalidChecksum:
        return None, "bad check digit"
    except InvalidLength:
        return None, "not 10 or 13 digits"
    except ValidationError:
        return None, "not a tax code"


def applicant_ref(raw: Mapping[str, Any], ctx: MappingContext) -> str:
    """The enterprise's reference: keyed hash of the compact MST, from a raw or redacted record.

    Hashing the compact form, as the one-stop mapping hashes SoGiayToChuHoSo, gives the same
    enterprise the same reference in both sources.
    """
    value = text(raw, TAX_CODE)
    if value is None:
        raise MappingError(f"missing tax code ({TAX_CODE})")
    if _is_hashed(value):
        return ctx.pseudonymise(value)  # validated when it was redacted
    problem = value[len(INVALID) :] if value.startswith(INVALID) else None
    if problem is None:
        compact, problem = check_tax_code(value)
        if compact is not None:
            return ctx.pseudonymise(compact)
    raise MappingError(f"invalid tax code {TAX_CODE}: {problem}")


@rejecting("SoHoSo")
def map_dossier(raw: Mapping[str, Any], ctx: MappingContext) -> Dossier:
    number = text(raw, "SoHoSo")
    if number is None:
        raise MappingError("missing dossier number (SoHoSo)")
    updated_at = parse_datetime(raw, "NgayCapNhat")
    if updated_at is None:
        raise MappingError("missing NgayCapNhat (last change time)")
    submitted_at = parse_datetime(raw, "NgayNop")
    received_at = parse_datetime(raw, "NgayTiepNhan")
    on = (received_at or submitted_at or updated_at).date()  # which code-list version applies

    status = code(CODES["status"], raw, "TrangThai", on)
    if status is None:
        raise MappingError("missing status (TrangThai)")
    channel = code(CODES["channel"], raw, "KenhNop", on) or 1  # missing = direct
    procedure = text(raw, "MaThuTuc")
    if procedure is None:
        raise MappingError("missing procedure code (MaThuTuc)")
    office = text(raw, "MaCoQuanDangKy")
    if office is None:
        raise MappingError("missing registration office (MaCoQuanDangKy)")
    enterprise = applicant_ref(raw, ctx)

    due_at = parse_datetime(raw, "NgayHenTra")
    first_due = parse_datetime(raw, "NgayHenTraBanDau")
    if due_at is not None and received_at is not None and due_at < received_at:
        raise MappingError("due date before receive date (NgayHenTra < NgayTiepNhan)")
    history = _history(raw, status, updated_at)
    ended_at = end_time(status, history)
    if ended_at is not None and received_at is not None and ended_at < received_at:
        raise MappingError("end date before receive date")

    return Dossier(
        source_id=number,
        dossier_number=number,
        procedure_code=procedure,
        agency_code=office,
        applicant_type=BUSINESS,
        applicant_ref=enterprise,
        channel=channel,
        result_delivery=None,  # not in this contract
        submitted_at=submitted_at,
        received_at=received_at,
        due_at=due_at,
        due_extended=due_at is not None and first_due is not None and first_due != due_at,
        ended_at=ended_at,
        status=status,
        on_the_spot=False,
        paid_online=False,  # fees are not in this contract
        fee_amount=0,
        source_updated_at=updated_at,
        history=history,
        attributes={"registration_office": office},
        flags=ctx.procedure_flags(procedure),
        intake_number=text(raw, "MaHoSoMotCua"),
    )


def _history(raw: Mapping[str, Any], status: int, updated_at: datetime) -> tuple[StatusEvent, ...]:
    """Status events from the date fields; the current status always has one (at the record's
    last change when no field dates it). Deterministic, so a re-load appends nothing."""
    events = set()
    for reached, field in _DATE_EVENTS:
        at = parse_datetime(raw, field)
        if at is not None:
            events.add(StatusEvent(reached, at))
    decided = parse_datetime(raw, "NgayQuyetDinh")
    if decided is not None:
        events.add(StatusEvent(status if status in _REFUSALS else 9, decided))
    return with_current_status(events, status, updated_at)


def redact_dossier(raw: Any, ctx: MappingContext) -> Any:
    """The record as it may be archived, mapped or quarantined: the MST replaced by its keyed
    hash (or by ``invalid:<reason>``), the names dropped. Redacting twice changes nothing."""
    if not isinstance(raw, Mapping):
        return raw
    clean = {k: v for k, v in raw.items() if k not in _NAMES}
    value = clean.get(TAX_CODE)
    if isinstance(value, str | int) and str(value).strip():
        value = str(value).strip()
        if not (_is_hashed(value) or value.startswith(INVALID)):
            compact, problem = check_tax_code(value)
            clean[TAX_CODE] = ctx.redacted_id(compact) if compact else INVALID + str(problem)
    elif value is not None:
        clean[TAX_CODE] = None  # not text: nothing safe to keep; the mapping rejects it
    return clean
