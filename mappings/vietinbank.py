"""Mapping of the Vietinbank fee gateway's transactions and daily statements to canonical records.

Every record's checksum is verified here, where it is mapped into the warehouse, from the
signed fields as the gateway sent them and the gateway's shared secret (`ctx.record_key`, taken
from the connection by the pipeline at sync or load time). Nothing else in the record can make
it trusted: a record whose checksum is forged, missing or cannot be checked is rejected, so it
goes to quarantine with that reason and is never counted as paid. Only signed fields are mapped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from connectors import signing
from mappings import codes
from mappings.canonical import FeeLine, FeeStatement, Payment, StatementLine
from mappings.common import (
    COMPACT,
    LOCAL_TZ,
    MappingContext,
    MappingError,
    code,
    integer,
    local_datetime,
    rejecting,
    text,
)

CODES = codes.load("vietinbank")
SUCCESS = "00"
CURRENCY = "VND"
# Far above any fee; a larger number is a corrupt record, and would overflow the column.
MAX_AMOUNT = 10**12
FORGED = "forged signature: ChuKy does not match the record; not counted as paid"
MISSING = "missing signature: the record has no ChuKy; not counted as paid"
UNCHECKED = "signature not verified: no gateway secret to check it with; not counted as paid"
FORGED_CONTENT = (
    "forged signature: the statement text does not match its digest BamTep; not counted as paid"
)


def _verified(raw: Mapping[str, Any], ctx: MappingContext, order: tuple[str, ...]) -> None:
    """Recompute the record's checksum over its signed fields; anything else is rejected."""
    signature = raw.get(signing.CHECKSUM)
    if signature in (None, ""):
        raise MappingError(MISSING)
    if ctx.record_key is None:
        raise MappingError(UNCHECKED)
    if not signing.matches(ctx.record_key, signing.fields(raw, order), signature):
        raise MappingError(FORGED)


def _short(raw: Mapping[str, Any], name: str, limit: int, *, required: str = "") -> str | None:
    value = text(raw, name)
    if value is None and required:
        raise MappingError(f"missing {required} ({name})")
    if value is not None and len(value) > limit:
        raise MappingError(f"{name} is longer than {limit} characters")
    return value


def _amount(raw: Mapping[str, Any], name: str, *, zero_ok: bool = False) -> int:
    amount = integer(raw, name)
    if amount is None:
        raise MappingError(f"missing amount ({name})")
    if amount < (0 if zero_ok else 1) or amount > MAX_AMOUNT:
        raise MappingError(f"invalid amount {name}={raw.get(name)!r}"[:200])
    return amount


def _time(raw: Mapping[str, Any], name: str, what: str) -> datetime:
    value = local_datetime(raw, name, COMPACT)
    if value is None:
        raise MappingError(f"missing {what} ({name})")
    return value


def _rows(raw: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = raw.get(name)
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise MappingError(f"{name} is not a list of objects")
    return value


def _kind(raw: Mapping[str, Any], on: date) -> str:
    kind = code(CODES["transaction_type"], raw, "LoaiGiaoDich", on)
    if kind is None:
        raise MappingError("missing transaction type (LoaiGiaoDich)")
    return kind


@rejecting("MaGiaoDich")
def map_transaction(raw: Mapping[str, Any], ctx: MappingContext) -> Payment:
    _verified(raw, ctx, signing.TRANSACTION)
    transaction_id = _short(raw, "MaGiaoDich", 64, required="transaction id")
    paid_at = _time(raw, "ThoiGianGiaoDich", "transaction time")
    kind = _kind(raw, paid_at.date())
    amount = _amount(raw, "SoTien")
    currency = text(raw, "LoaiTien")
    if currency != CURRENCY:
        raise MappingError(f"currency must be {CURRENCY}, got LoaiTien={currency!r}"[:200])
    result = _short(raw, "MaKetQua", 8, required="result code")
    original = _short(raw, "MaGiaoDichGoc", 64)
    if kind != "payment" and original is None:
        raise MappingError(f"a {kind} must name the transaction it undoes (MaGiaoDichGoc)")
    dossier = _short(raw, "MaHoSo", 200)
    if kind == "payment" and dossier is None:
        raise MappingError("missing dossier number (MaHoSo)")
    lines = tuple(_fee_line(line, paid_at.date()) for line in _rows(raw, "DanhSachPhiLePhi"))
    if lines and sum(line.amount for line in lines) != amount:
        total = sum(line.amount for line in lines)
        raise MappingError(f"fee lines add up to {total} VND, not the amount SoTien={amount}")
    return Payment(
        source_id=transaction_id,
        kind=kind,
        dossier_number=dossier,
        agency_code=_short(raw, "MaDonViThuHuong", 64),
        amount=amount,
        currency=CURRENCY,
        paid_at=paid_at,
        result_code=result,
        original_id=original if kind != "payment" else None,
        fee_lines=lines,
        verified=True,  # _verified() rejected everything else, just now
        source_updated_at=local_datetime(raw, "ThoiGianCapNhat", COMPACT) or paid_at,
    )


def _fee_line(raw: Mapping[str, Any], on: date) -> FeeLine:
    return FeeLine(
        fee_type=code(CODES["fee_type"], raw, "LoaiPhiLePhi", on),
        code=_short(raw, "MaPhiLePhi", 200),
        name=_short(raw, "TenPhiLePhi", 500),
        amount=_amount(raw, "SoTien", zero_ok=True),
    )


@rejecting("NgaySaoKe")
def map_statement(raw: Mapping[str, Any], ctx: MappingContext) -> FeeStatement:
    _verified(raw, ctx, signing.STATEMENT_FILE)
    content = raw.get("NoiDung")
    if not isinstance(content, str):
        raise MappingError("a statement has no text content (NoiDung)")
    # The checksum covers the digest, the digest the text: the lines come from the text only.
    if not signing.matches_digest(content, raw.get("BamTep")):
        raise MappingError(FORGED_CONTENT)
    day_text = _short(raw, "NgaySaoKe", 8, required="statement date")
    try:
        day = datetime.strptime(day_text, "%Y%m%d").replace(tzinfo=LOCAL_TZ).date()
    except ValueError:
        raise MappingError(f"unparseable date NgaySaoKe={day_text!r} (expected %Y%m%d)") from None
    lines = []
    for row in _statement_rows(content):
        line = _statement_line(row)
        if line.at.date() != day:
            raise MappingError(f"line {line.transaction_id} is not dated {day_text}")
        lines.append(line)
    return FeeStatement(
        statement_date=day,
        file_name=_short(raw, "TenTep", 200, required="file name"),
        file_digest=_short(raw, "BamTep", 64, required="file digest"),
        issued_at=_time(raw, "ThoiGianLap", "issue time"),
        lines=tuple(lines),
        verified=True,
    )


def _statement_rows(content: str) -> list[Mapping[str, Any]]:
    # Surplus cells go under a named key: a None key would break JSON with sorted keys.
    try:
        return list(csv.DictReader(io.StringIO(content), restkey="_extra_cells"))
    except csv.Error as exc:  # not a ValueError: say it as the record's reason
        raise MappingError(f"unreadable statement text: {exc}") from None


def _statement_line(raw: Mapping[str, Any]) -> StatementLine:
    at = _time(raw, "ThoiGianGiaoDich", "transaction time")
    return StatementLine(
        transaction_id=_short(raw, "MaGiaoDich", 64, required="transaction id"),
        kind=_kind(raw, at.date()),
        dossier_number=_short(raw, "MaHoSo", 200),
        amount=_amount(raw, "SoTien"),
        at=at,
    )


def result_name(result_code: str) -> str:
    """The gateway's name of a transaction result code, for reports."""
    try:
        return str(CODES["result"].lookup(result_code))
    except codes.UnknownCode:
        return f"Mã kết quả {result_code}"


# Applied to every transaction before it is archived, mapped or quarantined: the payer's name is
# personal data the warehouse never needs.
def redact_transaction(raw: Any, ctx: MappingContext) -> Any:
    if not isinstance(raw, Mapping):
        return raw
    clean = dict(raw)
    if "TenNguoiNop" in clean:
        clean["TenNguoiNop"] = "[redacted]"
    return clean
