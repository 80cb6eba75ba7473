"""Reconciliation of gateway payments with dossiers: each payment and each fee-bearing dossier of
a period gets a class, and the exceptions are the list the center's staff follow up.

The rules (docs/fees.md, "Reconciliation"):
- Only verified payments count. A transaction whose checksum failed never reaches `payments` (it
  is quarantined); the `verified` column keeps out any unverified row loaded another way.
- Only result code "00" moved money; any other attempt is `failed`, shown for information.
- A payment names a dossier by number: a dossier's own number, or the one-stop number a ministry
  record was received under. A one-stop record linked to a ministry record is the same dossier.
- Fee due: the dossier's fee lines (`dossiers.fee_amount`), else its procedure's fee.
- A payment's class is the first that applies: `unknown_dossier`; `refunded` (a successful
  refund or reversal undoes it); `duplicate` (an earlier payment of the dossier still stands);
  `amount_mismatch` (amount != fee due); `matched`. A refund or reversal is `refund`, or
  `orphan_refund` when the transaction it undoes is not in the warehouse.
- A dossier is `unpaid` when it bears a fee, was accepted (not status 1 or 3), was not withdrawn
  or stopped (7, 8), no payment of it stands by `as_of`, and more than N working days passed
  between its receipt and `as_of` (the project's working-day calendar, warehouse/calendar.py).
- Refunds and duplicates are judged over every payment up to `as_of`, not only the period's.
Computed on demand, not stored: the result depends on the period, N and `as_of`, and on data that
arrives late; storing it would mean invalidating it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, Engine, and_, select

from warehouse import schema
from warehouse.calendar import LOCAL_TZ, WorkingCalendar, working_calendar

OK = "00"
MATCHED, AMOUNT_MISMATCH, UNKNOWN_DOSSIER = "matched", "amount_mismatch", "unknown_dossier"
UNPAID, DUPLICATE, REFUNDED = "unpaid", "duplicate", "refunded"
ORPHAN_REFUND, BAD_SIGNATURE, REFUND, FAILED = "orphan_refund", "bad_signature", "refund", "failed"
# Report order. EXCEPTIONS are what staff follow up; matched, refund and failed are information.
CLASSES = (
    MATCHED,
    AMOUNT_MISMATCH,
    UNKNOWN_DOSSIER,
    UNPAID,
    DUPLICATE,
    REFUNDED,
    ORPHAN_REFUND,
    BAD_SIGNATURE,
    REFUND,
    FAILED,
)
EXCEPTIONS = frozenset(
    {AMOUNT_MISMATCH, UNKNOWN_DOSSIER, UNPAID, DUPLICATE, REFUNDED, ORPHAN_REFUND, BAD_SIGNATURE}
)
NOT_EXPECTED_TO_PAY = (1, 3, 7, 8)  # not accepted, refused, withdrawn, stopped


@dataclass(frozen=True)
class RealDossier:
    """One real dossier: the record reports count, with the fee and intake facts of its twin."""

    id: int
    number: str
    agency_code: str | None
    procedure_code: str | None
    received_date: date | None
    status: int
    fee_due: int  # integer VND
    paid_online: bool


def dossier_index(conn: Connection) -> tuple[dict[int, RealDossier], dict[str, int]]:
    """Every real dossier by id, and the id each dossier number (own or intake) points at."""
    d, p = schema.dossiers, schema.procedures
    query = (
        select(
            d.c.id,
            d.c.dossier_number,
            d.c.intake_number,
            d.c.linked_to,
            d.c.fee_amount,
            p.c.fee_amount.label("procedure_fee"),
            d.c.received_date,
            d.c.status,
            d.c.agency_code,
            d.c.procedure_code,
            d.c.paid_online,
        )
        .outerjoin(p, p.c.code == d.c.procedure_code)
        .order_by(d.c.id)
    )
    rows = conn.execute(query).mappings().all()
    fee: dict[int, int] = {}
    online: dict[int, bool] = {}
    by_number: dict[str, int] = {}
    for r in rows:
        root = r["linked_to"] or r["id"]
        due = r["fee_amount"] or r["procedure_fee"] or 0
        fee[root] = max(fee.get(root, 0), due)
        online[root] = online.get(root, False) or bool(r["paid_online"])
        for number in (r["dossier_number"], r["intake_number"]):
            if number:
                by_number.setdefault(number, root)  # lowest id first: stable when numbers clash
    roots = {
        r["id"]: RealDossier(
            r["id"],
            r["dossier_number"],
            r["agency_code"],
            r["procedure_code"],
            r["received_date"],
            r["status"],
            fee.get(r["id"], 0),
            online.get(r["id"], False),
        )
        for r in rows
        if r["linked_to"] is None
    }
    return roots, by_number


@dataclass(frozen=True)
class Finding:
    """One classified payment or dossier."""

    cls: str
    dossier_number: str | None
    transaction_id: str | None
    agency_code: str | None
    procedure_code: str | None
    amount: int | None  # paid or refunded, integer VND
    fee_due: int | None
    paid_at: datetime | None
    received_date: date | None
    detail: str = ""


@dataclass
class Reconciliation:
    start: date
    end: date
    as_of: date
    unpaid_after: int  # N working days
    findings: list[Finding]

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(CLASSES, 0)
        for finding in self.findings:
            counts[finding.cls] += 1
        return counts

    @property
    def exceptions(self) -> list[Finding]:
        return [f for f in self.findings if f.cls in EXCEPTIONS]


def reconcile(
    engine: Engine,
    start: date,
    end: date,
    *,
    unpaid_after: int = 5,
    as_of: date | None = None,
    calendar: WorkingCalendar | None = None,
) -> Reconciliation:
    """Classify the payments made and the fee-bearing dossiers received in [start, end]."""
    if end < start:
        raise ValueError("the period ends before it starts")
    if unpaid_after < 0:
        raise ValueError("the number of working days must not be negative")
    as_of = as_of or end
    calendar = calendar or working_calendar()
    pay = schema.payments
    with engine.connect() as conn:
        roots, by_number = dossier_index(conn)
        payments = (
            conn.execute(
                select(pay)
                .where(pay.c.verified.is_(True), pay.c.paid_date <= as_of)
                .order_by(pay.c.paid_at, pay.c.source_id)
            )
            .mappings()
            .all()
        )
        quarantined = _rejected_signatures(conn, start, end)
    paid_ids = {
        p["source_id"] for p in payments if p["kind"] == "payment" and p["result_code"] == OK
    }
    undone = {
        p["original_id"]: p for p in payments if p["kind"] != "payment" and p["result_code"] == OK
    }
    standing: dict[int, dict] = {}  # real dossier id -> the payment of it that stands
    findings: list[Finding] = []
    for p in payments:
        cls, root, detail = _classify(p, roots, by_number, paid_ids, undone, standing)
        if start <= p["paid_date"] <= end:
            dossier = roots.get(root) if root is not None else None
            findings.append(
                Finding(
                    cls,
                    p["dossier_number"],
                    p["source_id"],
                    dossier.agency_code if dossier else p["agency_code"],
                    dossier.procedure_code if dossier else None,
                    p["amount"],
                    dossier.fee_due if dossier else None,
                    p["paid_at"],
                    dossier.received_date if dossier else None,
                    detail,
                )
            )
    findings += _unpaid(roots, standing, start, end, as_of, unpaid_after, calendar)
    findings += quarantined
    order = {c: n for n, c in enumerate(CLASSES)}
    findings.sort(
        key=lambda f: (
            order[f.cls],
            f.agency_code or "",
            f.dossier_number or "",
            f.transaction_id or "",
        )
    )
    return Reconciliation(start, end, as_of, unpaid_after, findings)


def _classify(
    p: dict,
    roots: dict[int, RealDossier],
    by_number: dict[str, int],
    paid_ids: set[str],
    undone: dict[str, dict],
    standing: dict[int, dict],
) -> tuple[str, int | None, str]:
    """The class of one payment, in paid_at order; records the payments that stand."""
    root = by_number.get(p["dossier_number"]) if p["dossier_number"] else None
    if p["result_code"] != OK:
        return FAILED, root, f"result code {p['result_code']}: no money moved"
    if p["kind"] != "payment":
        if p["original_id"] in paid_ids:
            return REFUND, root, f"{p['kind']} of {p['original_id']}"
        return ORPHAN_REFUND, root, f"undoes {p['original_id']}, which the warehouse lacks"
    if root is None:
        return UNKNOWN_DOSSIER, None, "no dossier with this number in the warehouse"
    refund = undone.get(p["source_id"])
    if refund is not None:
        return REFUNDED, root, f"{refund['kind']} {refund['source_id']} on {refund['paid_date']}"
    first = standing.get(root)
    if first is not None:
        return DUPLICATE, root, f"already paid by {first['source_id']} on {first['paid_date']}"
    standing[root] = p
    due = roots[root].fee_due if root in roots else 0
    if p["amount"] != due:
        return AMOUNT_MISMATCH, root, f"paid {p['amount']:,} VND, due {due:,} VND"
    return MATCHED, root, ""


def _unpaid(
    roots: dict[int, RealDossier],
    standing: dict[int, dict],
    start: date,
    end: date,
    as_of: date,
    days: int,
    calendar: WorkingCalendar,
) -> list[Finding]:
    found = []
    for d in roots.values():
        if (
            d.received_date is None
            or not start <= d.received_date <= end
            or d.status in NOT_EXPECTED_TO_PAY
            or d.fee_due <= 0
            or d.id in standing
        ):
            continue
        deadline = calendar.add_working_days(d.received_date, days)
        if deadline < as_of:
            detail = f"no payment by {deadline} ({days} working days after receipt)"
            found.append(
                Finding(
                    UNPAID,
                    d.number,
                    None,
                    d.agency_code,
                    d.procedure_code,
                    None,
                    d.fee_due,
                    None,
                    d.received_date,
                    detail,
                )
            )
    return found


def _rejected_signatures(conn: Connection, start: date, end: date) -> list[Finding]:
    """Payment records quarantined for their checksum by a load whose window meets the period:
    a forged notification is an incident to look at, not only a number left out. Listed by the
    load's window, not by the date the record claims: that date is one a forger writes."""
    q, b, pay = schema.rejected_records, schema.load_batches, schema.payments
    first = datetime.combine(start, time(), tzinfo=LOCAL_TZ)
    after = datetime.combine(end + timedelta(days=1), time(), tzinfo=LOCAL_TZ)
    sources = select(pay.c.source).distinct().scalar_subquery()
    rows = conn.execute(
        select(q.c.source_id, q.c.reason)
        .join(b, b.c.id == q.c.batch_id)
        .where(
            q.c.source.in_(sources),
            q.c.reason.like("%signature%"),
            and_(b.c.window_start < after, b.c.window_end > first),
        )
        .order_by(q.c.source_id)
    ).all()
    return [
        Finding(BAD_SIGNATURE, None, source_id, None, None, None, None, None, None, reason)
        for source_id, reason in rows
    ]
