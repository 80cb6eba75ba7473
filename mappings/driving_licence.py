"""Mapping of GPLX driving-licence dossiers to canonical records (docs/driving_licence_api.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mappings import codes
from mappings.canonical import Dossier, StatusEvent
from mappings.common import (
    LOCAL_TZ,
    MappingContext,
    MappingError,
    code,
    integer,
    rejecting,
    text,
    with_current_status,
)
from mappings.common import ended_at as end_time

CODES = codes.load("driving_licence")
AGENCY = "000.00.05.H22"  # Sở Giao thông vận tải Lạng Sơn, when the detail names no agency
DETAIL = "chiTiet"  # where the connector puts the TraCuuHoSo record


@dataclass(frozen=True)
class DateFormat:
    """One of the system's three date formats: strptime pattern, how the contract writes it, and
    its exact shape (strptime alone would accept single digits such as "5/1/2019 8:00:00")."""

    pattern: str
    spelled: str
    shape: re.Pattern[str]


DAY = DateFormat("%Y-%m-%d", "yyyy-MM-dd", re.compile(r"\d{4}-\d{2}-\d{2}"))
LIST_STAMP = DateFormat(
    "%Y-%m-%dT%H:%M:%S", "yyyy-MM-ddTHH:mm:ss", re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
)
DETAIL_STAMP = DateFormat(
    "%d/%m/%Y %H:%M:%S", "dd/MM/yyyy HH:mm:ss", re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}")
)
# A promised day without a time (ngayHenTraGplx) is due by the end of that working day.
END_OF_WORKING_DAY = timedelta(hours=17)

# Statuses that exist only after intake: such a record must say when it was accepted.
_ACCEPTED = frozenset({2, 4, 5, 6, 9, 10})
# Statuses that end a dossier without a result; NgayKetThuc says when.
_CLOSED = frozenset({3, 7, 8})


def parse_date(record: Mapping[str, Any], name: str, fmt: DateFormat) -> datetime | None:
    """A local date(-time) field in exactly ``fmt``, as a tz-aware datetime; empty means none."""
    value = text(record, name)
    if value is None:
        return None
    try:
        if not (value.isascii() and fmt.shape.fullmatch(value)):
            raise ValueError(value)
        return datetime.strptime(value, fmt.pattern).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise MappingError(f"unparseable date {name}={value!r} (expected {fmt.spelled})") from None


@rejecting("maHoSo")
def map_dossier(raw: Mapping[str, Any], ctx: MappingContext) -> Dossier:
    number = text(raw, "maHoSo")
    if number is None:
        raise MappingError("missing dossier number (maHoSo)")
    detail = _detail(raw, number)

    arrived = parse_date(raw, "ngayNhanHoSo", LIST_STAMP)
    promised = parse_date(raw, "ngayHenTraGplx", DAY)
    submitted = parse_date(detail, "NgayNop", DETAIL_STAMP) or arrived
    received = parse_date(detail, "NgayTiepNhan", DETAIL_STAMP)
    due_at = parse_date(detail, "NgayHenTra", DETAIL_STAMP)
    if due_at is None and promised is not None:
        due_at = promised + END_OF_WORKING_DAY
    ready = parse_date(detail, "NgayHoanThanh", DETAIL_STAMP)
    handed_over = parse_date(detail, "NgayTraKQ", DETAIL_STAMP)
    closed = parse_date(detail, "NgayKetThuc", DETAIL_STAMP)
    updated_at = parse_date(detail, "NgayCapNhat", DETAIL_STAMP)
    if updated_at is None:
        # An older build without NgayCapNhat: the latest date the record carries, so that an
        # unchanged record always gets the same value.
        dates = (closed, handed_over, ready, received, submitted, arrived)
        known = [d for d in dates if d is not None]
        if not known:
            raise MappingError("no date to tell when the record changed (NgayCapNhat)")
        updated_at = max(known)
    on = (received or submitted or updated_at).date()  # which code-list version applies

    status = code(CODES["status"], detail, "MaTrangThai", on)
    if status is None:
        raise MappingError("missing status (MaTrangThai)")
    if status in _ACCEPTED and received is None:
        raise MappingError(
            f"accepted dossier without NgayTiepNhan (MaTrangThai={text(detail, 'MaTrangThai')!r})"
        )
    channel = code(CODES["channel"], detail, "HinhThucNop", on) or 1  # missing = direct
    procedure = text(detail, "MaTTHC")
    if procedure is None:
        raise MappingError("missing procedure code (MaTTHC)")
    if due_at is not None and received is not None and due_at < received:
        raise MappingError("due date before receive date (NgayHenTra < NgayTiepNhan)")

    history = _history(status, channel, submitted, received, ready, handed_over, closed, updated_at)
    ended_at = end_time(status, history)
    if ended_at is not None and received is not None and ended_at < received:
        raise MappingError("end date before receive date")
    fee = integer(detail, "LePhi", default=0)
    if fee is None or fee < 0:
        raise MappingError(f"invalid fee LePhi={detail.get('LePhi')!r}"[:200])
    paid = code(CODES["paid_online"], detail, "DaThanhToanTrucTuyen", on)
    id_number = text(raw, "soCmnd")
    return Dossier(
        source_id=number,
        dossier_number=number,
        procedure_code=procedure,
        agency_code=text(detail, "MaDonViXuLy") or AGENCY,
        applicant_type=1,  # a driving licence is always a citizen's
        # The same keyed hash as every other source's ID number: the same person links across.
        applicant_ref=ctx.pseudonymise(id_number) if id_number else None,
        channel=channel,
        result_delivery=code(CODES["result_delivery"], detail, "HinhThucNhanKQ", on),
        submitted_at=submitted,
        received_at=received,
        due_at=due_at,
        due_extended=False,  # the system keeps no re-scheduling rounds
        ended_at=ended_at,
        status=status,
        on_the_spot=False,
        paid_online=bool(paid),
        fee_amount=fee,
        source_updated_at=updated_at,
        history=history,
        attributes=_attributes(raw),
        flags=ctx.procedure_flags(procedure),
    )


def _detail(raw: Mapping[str, Any], number: str) -> Mapping[str, Any]:
    detail = raw.get(DETAIL)
    if detail is None:
        raise MappingError(f"missing detail ({DETAIL}: TraCuuHoSo found no record)")
    if not isinstance(detail, Mapping):
        raise MappingError(f"{DETAIL} is not an object: {type(detail).__name__}")
    echoed = text(detail, "MaHoSo")
    if echoed is not None and echoed != number:
        raise MappingError(f"detail of another dossier ({DETAIL}.MaHoSo={echoed!r})"[:200])
    return detail


def _history(
    status: int,
    channel: int,
    submitted: datetime | None,
    received: datetime | None,
    ready: datetime | None,
    handed_over: datetime | None,
    closed: datetime | None,
    updated_at: datetime,
) -> tuple[StatusEvent, ...]:
    """Status events from the detail's dates; the current status always has one (at the last
    change when no date field says when). Deterministic, so re-loading appends nothing."""
    events: set[StatusEvent] = set()
    candidates = (
        (1, submitted if channel == 2 else None),  # an online application awaits intake
        (2, received),
        (9, ready),
        (10, handed_over),
        (status, closed if status in _CLOSED else None),
    )
    for reached, at in candidates:
        if at is not None:
            events.add(StatusEvent(reached, at))
    return with_current_status(events, status, updated_at)


def _attributes(raw: Mapping[str, Any]) -> dict[str, str]:
    """Non-personal facts worth keeping: the licence class and the reason code. Never the name,
    birth date, residence or licence numbers."""
    facts = {"licence_class": text(raw, "hangDaoTao"), "reason_code": text(raw, "lyDoDoiGplx")}
    return {k: v for k, v in facts.items() if v is not None}


# What a redacted record keeps: the fields the mapping reads, minus personal data. An allow-list,
# so that a field the system adds later cannot carry personal data into the archive or quarantine.
_LIST_KEEP = (
    "maHoSo",
    "maDangKyDvc",
    "ngayNhanHoSo",
    "ngayHenTraGplx",
    "lyDoDoiGplx",
    "hangDaoTao",
)
_DETAIL_KEEP = (
    "MaHoSo",
    "MaTTHC",
    "TenDVC",
    "MaTrangThai",
    "TrangThaiHoSo",
    "MaDonViXuLy",
    "DonViXuLy",
    "HinhThucNop",
    "HinhThucNhanKQ",
    "NgayNop",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayHoanThanh",
    "NgayTraKQ",
    "NgayKetThuc",
    "NgayCapNhat",
    "LePhi",
    "DaThanhToanTrucTuyen",
)
_HASHED = ("soCmnd", "soCmndCu")  # ID numbers: replaced by their keyed hash
REDACTED = "redacted_fields"  # the names of the fields a redaction dropped


def redact_dossier(raw: Any, ctx: MappingContext) -> Any:
    """A raw record fit to archive, map and quarantine: ID numbers replaced by their keyed hash;
    name, birth date, residence, licence numbers and every field the mapping does not read
    dropped (their names listed under ``redacted_fields``).

    Mapping the redacted record gives what mapping the raw one gives, and redacting twice
    changes nothing: records are redacted before they are archived or mapped.
    """
    if not isinstance(raw, Mapping):
        return _emptied(raw)
    clean: dict[str, Any] = {k: raw[k] for k in _LIST_KEEP if k in raw}
    for key in _HASHED:
        if key in raw:
            value = raw[key]
            # A value the mapping cannot read as text keeps its type, so it is still rejected.
            text_like = isinstance(value, str | int) and str(value).strip()
            clean[key] = ctx.redacted_id(value) if text_like else _emptied(value)
    licences = raw.get("gplxDaCap")
    if isinstance(licences, list):  # the classes held say something; numbers and dates identify
        clean["gplxDaCap"] = [
            {"hanggplx": item.get("hanggplx")} if isinstance(item, Mapping) else _emptied(item)
            for item in licences
        ]
    detail = raw.get(DETAIL)
    if isinstance(detail, Mapping):
        clean[DETAIL] = {k: detail[k] for k in _DETAIL_KEEP if k in detail}
    elif DETAIL in raw:
        clean[DETAIL] = _emptied(detail)
    dropped = {str(k) for k in raw if k not in clean and k != REDACTED}
    if isinstance(detail, Mapping):
        dropped |= {f"{DETAIL}.{k}" for k in detail if k not in clean[DETAIL]}
    earlier = raw.get(REDACTED)
    if isinstance(earlier, list):
        dropped |= {str(name) for name in earlier}
    if dropped:
        clean[REDACTED] = sorted(dropped)
    return clean


def _emptied(value: Any) -> Any:
    """A value of the same JSON type with nothing in it (None stays None)."""
    if value is None or isinstance(value, bool):
        return value
    return type(value)() if isinstance(value, str | int | float | list | dict) else None
