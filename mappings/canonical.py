"""The canonical records every source is mapped into (English names, national code lists)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Rejection:
    """A raw record that cannot be mapped, with a precise reason; it goes to quarantine."""

    reason: str
    source_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """The dossier reached `status` (national 1..10 list) at `at`."""

    status: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Dossier:
    """One dossier (hồ sơ) as the warehouse keeps it. Times are tz-aware."""

    source_id: str
    dossier_number: str  # MaHoSo / số hồ sơ as printed on the receipt
    procedure_code: str | None  # mã TTHC
    agency_code: str | None  # handling agency (mã định danh)
    applicant_type: int | None  # LoaiDoiTuong 1..4
    applicant_ref: str | None  # keyed hash of the ID number, never the number itself
    channel: int  # KenhThucHien 1 direct, 2 online, 3 postal
    result_delivery: int | None  # HinhThuc 0 in person, 1 by post
    submitted_at: datetime | None
    received_at: datetime | None  # accepted (tiếp nhận); None while not accepted
    due_at: datetime | None  # the latest due date (hẹn trả), after any re-scheduling
    due_extended: bool  # re-scheduled (phiếu xin lỗi và hẹn lại / supplement rounds)
    ended_at: datetime | None  # first time 9, else 10, else 7 or 8 (docs/domain.md counting rules)
    status: int  # TrangThaiHoSo, national 1..10
    on_the_spot: bool  # "4 tại chỗ"
    paid_online: bool
    fee_amount: int  # integer VND, sum of the fee lines
    source_updated_at: datetime
    history: tuple[StatusEvent, ...] = field(default=())
    # Source-specific facts worth keeping (JSON-able scalars only), e.g. a criminal record
    # request's certificate type and purpose code. Never personal data, never content.
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # Data-quality findings that do not stop a record from counting, e.g. "unknown_procedure".
    flags: tuple[str, ...] = ()
    # For a dossier processed in a ministry system: the one-stop dossier number it was received
    # under at the center, when the source records it (links the two records of one dossier).
    intake_number: str | None = None


@dataclass(frozen=True, slots=True)
class Rating:
    """A satisfaction rating (đánh giá mức độ hài lòng) of one dossier."""

    source_id: str
    dossier_number: str | None
    agency_code: str | None
    level: int  # 1 rất hài lòng, 2 hài lòng, 3 không hài lòng
    rated_at: datetime


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency (cơ quan) with its national identifier."""

    code: str
    name: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) from the catalogue."""

    code: str
    name: str
    field_code: str | None  # lĩnh vực
    field_name: str | None
    agency_code: str | None
    legal_duration: float | None  # thời hạn giải quyết
    duration_unit: str | None  # "day" (working days) or "hour" (working hours)
    online_level: str | None  # level_2/level_3/level_4 before 15/8/2022, partial/full after
    fee_amount: int  # integer VND


Canonical = Dossier | Rating | Agency | Procedure


# -- Fee gateway (Vietinbank): payments and daily statements ----------------------------------


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One line of a payment's fee list (PhiLePhi)."""

    fee_type: str | None  # "charge" (phí) | "fee" (lệ phí); None when the source omits it
    code: str | None  # MaPhiLePhi
    name: str | None
    amount: int  # integer VND


@dataclass(frozen=True, slots=True)
class Payment:
    """A fee gateway transaction: a payment for a dossier, or a refund / reversal of one."""

    source_id: str  # the gateway's transaction id
    kind: str  # payment | refund | reversal
    dossier_number: str | None  # the dossier it pays for (số hồ sơ on the receipt)
    agency_code: str | None  # the beneficiary agency whose account is credited
    amount: int  # integer VND, positive for every kind: the kind gives the direction
    currency: str  # VND
    paid_at: datetime
    result_code: str  # "00" = success; any other code is an attempt that moved no money
    original_id: str | None  # a refund or reversal: the transaction it undoes
    fee_lines: tuple[FeeLine, ...]
    verified: bool  # its checksum matched the shared secret; only verified payments count
    source_updated_at: datetime


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One money movement listed in the bank's daily statement (sao kê)."""

    transaction_id: str
    kind: str  # payment | refund | reversal
    dossier_number: str | None
    amount: int  # integer VND, positive
    at: datetime


@dataclass(frozen=True, slots=True)
class FeeStatement:
    """The gateway's signed daily statement: every successful movement of one local day."""

    statement_date: date
    file_name: str
    file_digest: str  # SHA-256 of the file as received
    issued_at: datetime
    lines: tuple[StatementLine, ...]
    verified: bool

    @property
    def source_id(self) -> str:
        """The statement's key at the source: its day as NgaySaoKe spells it (yyyyMMdd)."""
        return f"{self.statement_date:%Y%m%d}"
