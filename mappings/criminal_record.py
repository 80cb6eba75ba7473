"""Mapping of the criminal record system (LLTP) to canonical dossiers: status and dates only.

The certificate and any conviction data never reach the warehouse: the connector already drops
them, and this mapping reads none of the requester's fields except the ID number, which it keeps
only as a keyed hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mappings import codes
from mappings.canonical import Dossier, StatusEvent
from mappings.common import (
    DMY_HMS,
    MappingContext,
    MappingError,
    code,
    local_datetime,
    rejecting,
    text,
    with_current_status,
)
from mappings.common import ended_at as end_time

CODES = codes.load("criminal_record")
DATE_FMT = DMY_HMS  # dd/MM/yyyy HH:mm:ss, local time (docs/criminal_record_api.md)
# Every LLTP request of the province is handled by its Department of Justice (Sở Tư pháp).
JUSTICE = "000.00.12.H22"
KEY = "maHoSoMCDT"


# The only wire fields a quarantined record keeps (besides the hashed ID number): those this
# mapping reads, none of them personal. Everything else, requester fields, the certificate
# number and the certificate itself included, is dropped.
_DIAGNOSTIC_FIELDS = (
    KEY,
    "maTTHC",
    "hinhThucNop",
    "loaiPhieu",
    "maMucDich",
    "trangThaiXuLy",
    "ngayNopHoSo",
    "ngayTiepNhan",
    "ngayHenTra",
    "ngayTraKetQua",
    "ngayCapNhat",
)
_ID_FIELD = "nycSoGiayTo"


def _date(raw: Mapping[str, Any], name: str) -> datetime | None:
    return local_datetime(raw, name, DATE_FMT)


@rejecting(KEY)
def map_dossier(raw: Mapping[str, Any], ctx: MappingContext) -> Dossier:
    number = text(raw, KEY)
    if number is None:
        raise MappingError(f"missing dossier number ({KEY})")
    updated_at = _date(raw, "ngayCapNhat")
    if updated_at is None:
        raise MappingError("missing ngayCapNhat (last change time)")
    submitted_at = _date(raw, "ngayNopHoSo")
    received_at = _date(raw, "ngayTiepNhan")
    on = (received_at or submitted_at or updated_at).date()  # which code-list version applies

    status = code(CODES["status"], raw, "trangThaiXuLy", on)
    if status is None:
        raise MappingError("missing status (trangThaiXuLy)")
    certificate_type = code(CODES["certificate_type"], raw, "loaiPhieu", on)
    if certificate_type is None:
        raise MappingError("missing certificate type (loaiPhieu)")
    channel = code(CODES["channel"], raw, "hinhThucNop", on) or 1  # missing = direct
    procedure = text(raw, "maTTHC")
    if procedure is None:
        raise MappingError("missing procedure code (maTTHC)")

    due_at = _date(raw, "ngayHenTra")
    if due_at is not None and received_at is not None and due_at < received_at:
        raise MappingError("due date before receive date (ngayHenTra < ngayTiepNhan)")
    issued_at = _date(_result(raw), "ngayCapPhieu")
    history = _history(raw, status, updated_at, received_at, issued_at)
    ended_at = end_time(status, history)
    if ended_at is not None and received_at is not None and ended_at < received_at:
        raise MappingError("end date before receive date")

    purpose = text(raw, "maMucDich")
    flags = ctx.procedure_flags(procedure)
    if purpose is not None and not _known_purpose(purpose, on):
        flags += ("unknown_purpose",)  # the purpose does not affect any count: keep the record
    id_number = text(raw, _ID_FIELD)
    return Dossier(
        source_id=number,
        dossier_number=number,
        procedure_code=procedure,
        agency_code=JUSTICE,
        applicant_type=None,  # the source does not say who asks (citizen or agency)
        applicant_ref=ctx.pseudonymise(id_number) if id_number else None,
        channel=channel,
        result_delivery=None,
        submitted_at=submitted_at,
        received_at=received_at,
        due_at=due_at,
        due_extended=False,  # the source keeps only the current due date
        ended_at=ended_at,
        status=status,
        on_the_spot=False,
        paid_online=False,
        fee_amount=0,
        source_updated_at=updated_at,
        history=history,
        attributes={"certificate_type": certificate_type, "purpose_code": purpose},
        flags=flags,
        intake_number=number,  # the key is the one-stop number the request was received under
    )


def _result(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The result block (ketQua), present once a certificate exists; empty when absent."""
    value = raw.get("ketQua")
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise MappingError(f"ketQua is not an object: {type(value).__name__}")
    return value


def _known_purpose(purpose: str, on: Any) -> bool:
    try:
        CODES["purpose"].lookup(purpose, on)
    except codes.UnknownCode:
        return False
    return True


def _history(
    raw: Mapping[str, Any],
    status: int,
    updated_at: datetime,
    received_at: datetime | None,
    issued_at: datetime | None,
) -> tuple[StatusEvent, ...]:
    """Status events from the date fields, plus the current status.

    The source has no progress rows: the dates say when the request was accepted (2), the
    certificate issued (9) and handed over (10); the current status without a date of its own
    (refused, withdrawn, stopped, processing …) takes the record's last change time.
    """
    events = {
        StatusEvent(reached, at)
        for reached, at in (
            (2, received_at),
            (9, issued_at),
            (10, _date(raw, "ngayTraKetQua")),
        )
        if at is not None
    }
    return with_current_status(events, status, updated_at)


def redact_dossier(raw: Any, ctx: MappingContext) -> Any:
    """What may be archived, mapped or quarantined of a record: no requester data, no certificate.

    An allow-list rather than a deny-list, so a field the ministry adds tomorrow (a new kind of
    personal or conviction data) is dropped without anyone having to notice it. It keeps every
    field the mapping reads, so mapping a redacted record gives the same dossier; the ID number
    becomes its keyed hash, which the mapping takes as it is.
    """
    if not isinstance(raw, Mapping):
        return {"unreadable_record": type(raw).__name__}
    clean = {name: _emptied(raw[name]) for name in _DIAGNOSTIC_FIELDS if name in raw}
    if "ketQua" in raw:
        result = raw["ketQua"]
        if isinstance(result, Mapping):
            clean["ketQua"] = {k: _emptied(v) for k, v in result.items() if k == "ngayCapPhieu"}
        elif isinstance(result, str) and result.strip():
            clean["ketQua"] = "<text>"  # the certificate as text: the mapping rejects it
        else:
            clean["ketQua"] = _emptied(result)
    if _ID_FIELD in raw:
        clean[_ID_FIELD] = ctx.redacted_id(_emptied(raw[_ID_FIELD]))
    # Names only, no values: which fields were dropped helps diagnosis and reveals nothing.
    dropped = sorted(str(k) for k in raw if k not in clean)
    if dropped:
        clean["dropped_fields"] = dropped
    return clean


def _emptied(value: Any) -> Any:
    """Scalars as they are. A container where a code or date belongs could hold anything: it is
    emptied, keeping its kind, so the mapping still rejects it for the same reason."""
    if type(value) is str or value is None:  # nearly every field: skip the ABC checks
        return value
    if isinstance(value, Mapping):
        return {}
    if isinstance(value, list | tuple):
        return []
    if value is None or isinstance(value, str | int | float):
        return value
    return f"<{type(value).__name__}>"
