"""The canonical records every source is mapped into (English names, national code lists)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
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
    ended_at: datetime | None  # first time 9, else 10, else 7 or 8 (DOMAIN.md counting rules)
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
