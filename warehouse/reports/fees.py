"""Fees collected through the gateway in a period: collected, refunded and net per agency,
procedure or fee type, and the online payment ratio among fee-bearing dossiers.

Only verified transactions with result code "00" count (a forged one never reaches `payments`:
it is quarantined). A period compares the local date of the transaction. By agency means the
beneficiary agency the gateway credited; by procedure goes through the dossier the payment names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, Engine, and_, select

from warehouse import schema
from warehouse.reconciliation import OK, dossier_index
from warehouse.reports.base import Counting, count_if, counted_dossiers, share
from warehouse.reports.grouping import check

GROUPINGS = ("agency", "procedure", "fee-type")
FEE_TYPES = {"charge": "Phí", "fee": "Lệ phí"}
UNKNOWN = "(unknown)"


@dataclass
class FeeRow:
    code: str
    name: str
    payments: int = 0  # successful payments (by fee type: payments with a line of that type)
    collected: int = 0  # integer VND
    refunds: int = 0  # successful refunds and reversals
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.collected - self.refunded

    def add(self, kind: str, amount: int) -> None:
        if kind == "payment":
            self.payments += 1
            self.collected += amount
        else:
            self.refunds += 1
            self.refunded += amount

    def values(self) -> list[int]:
        return [self.payments, self.collected, self.refunds, self.refunded, self.net]


COLUMNS = ("payments", "collected", "refunds", "refunded", "net")


@dataclass
class FeesReport:
    start: date
    end: date
    by: str
    rows: list[FeeRow]
    total: FeeRow
    by_fee_type: list[FeeRow]
    fee_bearing: int = 0  # real dossiers received in the period with a fee
    paid_online: int = 0  # of those, paid online (the dossier's flag, or its one-stop twin's)

    @property
    def online_ratio(self) -> Decimal:
        """Percentage, two decimals: paid online among fee-bearing dossiers (Decision 766)."""
        return share(self.paid_online, self.fee_bearing)


def fees(engine: Engine, start: date, end: date, by: str = "agency") -> FeesReport:
    check(by, GROUPINGS)
    if end < start:
        raise ValueError("the period ends before it starts")
    with engine.connect() as conn:
        # Payments are not dossiers: no computed due dates to prepare.
        return fees_in(Counting(conn, start, end), by)


def fees_in(report: Counting, by: str = "agency") -> FeesReport:
    """Fees paid in the period through the gateway (verified, successful), by `by`."""
    check(by, GROUPINGS)
    conn, start, end = report.conn, report.start, report.end
    p, a, pr = schema.payments, schema.agencies, schema.procedures
    procedure_of: dict[str, str | None] = {}
    payments = conn.execute(
        select(p.c.kind, p.c.amount, p.c.agency_code, p.c.dossier_number, p.c.fee_lines).where(
            p.c.verified.is_(True),
            p.c.result_code == OK,
            p.c.paid_date.between(start, end),
        )
    ).all()
    names = dict(conn.execute(select(a.c.code, a.c.name)).all())
    if by == "procedure":
        names = dict(conn.execute(select(pr.c.code, pr.c.name)).all())
        roots, by_number = dossier_index(conn)
        procedure_of = {n: roots[r].procedure_code for n, r in by_number.items() if r in roots}
    fee_bearing, paid_online = online_payments(conn, start, end)
    rows: dict[str, FeeRow] = {}
    types: dict[str, FeeRow] = {}
    total = FeeRow("TOTAL", "Tổng cộng")
    for kind, amount, agency, number, lines in payments:
        total.add(kind, amount)
        for fee_type, line_amount in _split(lines, amount).items():
            code = fee_type or UNKNOWN
            row = types.setdefault(code, FeeRow(code, FEE_TYPES.get(code, "(không rõ loại)")))
            row.add(kind, line_amount)
        if by == "fee-type":
            continue
        if by == "agency":
            code = agency or UNKNOWN
        else:
            code = procedure_of.get(number or "") or UNKNOWN
        rows.setdefault(code, FeeRow(code, names.get(code, code))).add(kind, amount)
    by_fee_type = [types[k] for k in sorted(types)]
    return FeesReport(
        start,
        end,
        by,
        by_fee_type if by == "fee-type" else [rows[k] for k in sorted(rows)],
        total,
        by_fee_type,
        fee_bearing,
        paid_online,
    )


def online_payments(conn: Connection, start: date, end: date) -> tuple[int, int]:
    """(fee-bearing, paid online) real dossiers received in the period: the counted dossiers of
    the official reports (base.py), so the ratio is the scorecard's online payment indicator."""
    counted = counted_dossiers(start, end, computed=None)
    c = counted.c
    fee = and_(c.received_date >= start, c.fee_amount > 0)
    query = select(count_if(fee), count_if(and_(fee, c.paid_online == 1))).select_from(counted)
    fee_bearing, paid = conn.execute(query).one()
    return int(fee_bearing), int(paid)


def _split(lines: object, amount: int) -> dict[str | None, int]:
    """A transaction's amount by fee type; what its lines do not cover has no type."""
    parts: dict[str | None, int] = {}
    for line in lines if isinstance(lines, list) else []:
        if isinstance(line, dict):
            kind = line.get("type")
            parts[kind] = parts.get(kind, 0) + int(line.get("amount") or 0)
    rest = amount - sum(parts.values())
    if rest:
        parts[None] = parts.get(None, 0) + rest
    return parts
