"""Overdue hot spots: the procedures and agencies with the most late and overdue dossiers, and the
agencies that bring very few dossiers to the center — the two complaints of the seed report.

Late = resolved in the period after the due date (Phụ lục 01 col 10); overdue = still being
handled at the period's end past the due date (col 13). Their share is taken over the dossiers
handled in the period (col 3). "Very few" = received in the period (cols 4 + 5) at or below a
threshold, agencies of the catalogue with none at all included. Thresholds are parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, func, select

from warehouse import schema
from warehouse.reports.base import Counting, counting, share
from warehouse.reports.grouping import UNKNOWN_CODE
from warehouse.reports.phu_luc_01 import Row as P01Row
from warehouse.reports.phu_luc_01 import phu_luc_01_in

HOT_COLUMNS = ("handled", "resolved_late", "pending_overdue", "late_total", "late_share")
QUIET_COLUMNS = ("procedures", "received", "received_per_procedure")


@dataclass
class HotSpot:
    code: str
    name: str
    agency: str  # the agency's name (for a procedure: the agency the catalogue names)
    handled: int  # col 3
    resolved_late: int  # col 10
    pending_overdue: int  # col 13

    @property
    def late_total(self) -> int:
        return self.resolved_late + self.pending_overdue

    @property
    def late_share(self) -> Decimal:
        return share(self.late_total, self.handled)

    def values(self) -> list[int | Decimal]:
        return [getattr(self, c) for c in HOT_COLUMNS]


@dataclass
class QuietAgency:
    code: str
    name: str
    procedures: int  # in the catalogue
    received: int  # in the period

    @property
    def received_per_procedure(self) -> Decimal:
        if not self.procedures:
            return Decimal("0.00")
        return (Decimal(self.received) / Decimal(self.procedures)).quantize(Decimal("0.01"))

    def values(self) -> list[int | Decimal]:
        return [getattr(self, c) for c in QUIET_COLUMNS]


@dataclass
class OverdueReport:
    start: date
    end: date
    procedures: list[HotSpot]
    agencies: list[HotSpot]
    quiet: list[QuietAgency]
    top: int
    min_late: int
    few: int
    notes: list[str] = field(default_factory=list)


def overdue_hot_spots(
    engine: Engine, start: date, end: date, *, top: int = 10, min_late: int = 1, few: int = 10
) -> OverdueReport:
    """`top` rows per list, each with at least `min_late` late + overdue dossiers; agencies that
    received at most `few` dossiers in the period."""
    if top < 1 or min_late < 0 or few < 0:
        raise ValueError("top must be ≥ 1, min_late and few ≥ 0")
    with counting(engine, start, end) as report:
        return overdue_hot_spots_in(report, top=top, min_late=min_late, few=few)


def overdue_hot_spots_in(
    report: Counting, *, top: int = 10, min_late: int = 1, few: int = 10
) -> OverdueReport:
    agency_names, procedure_agency, procedure_counts = _catalogue(report)
    by_procedure = phu_luc_01_in(report, "procedure").rows
    by_agency = phu_luc_01_in(report, "agency").rows
    procedures = _hottest(
        [_spot(r, agency_names.get(procedure_agency.get(r.code), "")) for r in by_procedure],
        top,
        min_late,
    )
    agencies = _hottest([_spot(r, r.name) for r in by_agency], top, min_late)
    received = {r.code: r.received_total - r.carried_over for r in by_agency}
    quiet = [
        QuietAgency(code, agency_names.get(code) or name, procedure_counts.get(code, 0), n)
        for code, name, n in _agency_receipts(agency_names, by_agency, received)
        if n <= few
    ]
    quiet.sort(key=lambda q: (q.received, q.code))
    return OverdueReport(report.start, report.end, procedures, agencies, quiet, top, min_late, few)


def _spot(row: P01Row, agency: str) -> HotSpot:
    return HotSpot(
        row.code, row.name, agency, row.received_total, row.resolved_late, row.pending_overdue
    )


def _hottest(spots: list[HotSpot], top: int, min_late: int) -> list[HotSpot]:
    hot = [s for s in spots if s.late_total >= max(min_late, 1)]
    hot.sort(key=lambda s: (-s.late_total, -s.late_share, s.code))
    return hot[:top]


def _agency_receipts(
    names: dict[str, str], rows: list[P01Row], received: dict[str, int]
) -> list[tuple[str, str, int]]:
    """Every agency of the catalogue, and any other that has dossiers, with its receipts."""
    seen = {r.code: r.name for r in rows}
    codes = sorted((set(names) | set(seen)) - {UNKNOWN_CODE})
    return [(code, names.get(code) or seen[code], received.get(code, 0)) for code in codes]


def _catalogue(report: Counting) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    a, p = schema.agencies, schema.procedures
    names = dict(report.conn.execute(select(a.c.code, a.c.name)).all())
    procedure_agency = dict(
        report.conn.execute(
            select(p.c.code, p.c.agency_code).where(p.c.agency_code.is_not(None))
        ).all()
    )
    counts = dict(
        report.conn.execute(
            select(p.c.agency_code, func.count())
            .where(p.c.agency_code.is_not(None))
            .group_by(p.c.agency_code)
        ).all()
    )
    return names, procedure_agency, {k: int(v) for k, v in counts.items()}
