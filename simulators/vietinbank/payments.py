"""The fee gateway stand-in's transaction generator: payments of the one-stop dossiers' fees and
the anomalies of `Anomalies`, each drawn from its own seeded stream."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from simulators.one_stop.scenario import DossierTruth
from simulators.vietinbank.truth import Anomalies, TransactionTruth

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
KINDS = {"payment": "THANH_TOAN", "refund": "HOAN_TIEN", "reversal": "HUY"}
RESULTS = {
    "00": "Thành công",
    "05": "Giao dịch bị ngân hàng từ chối",
    "24": "Khách hàng huỷ giao dịch",
    "51": "Tài khoản không đủ số dư",
}
FEE_TYPES = {"1": "charge", "2": "fee"}  # LoaiPhiLePhi: phí, lệ phí
FORGERIES = ("wrong_key", "missing", "tampered")
STATEMENT_COLUMNS = (
    "MaGiaoDich",
    "LoaiGiaoDich",
    "MaGiaoDichGoc",
    "MaHoSo",
    "MaDonViThuHuong",
    "SoTien",
    "ThoiGianGiaoDich",
)


def stamp(instant: datetime) -> str:
    return instant.astimezone(TZ).strftime("%Y%m%d%H%M%S")


@dataclass
class _Dossier:
    number: str
    agency_code: str
    procedure_code: str
    received_at: datetime
    status: int
    fee: int
    paid_online: bool
    lines: list[dict[str, Any]]  # the gateway's fee lines for the dossier's fee
    payer: str
    paid_on: date | None = None

    def facts(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in (
                "number",
                "agency_code",
                "procedure_code",
                "received_at",
                "status",
                "fee",
                "paid_online",
                "paid_on",
            )
        }


@dataclass
class _Txn:
    kind: str
    dossier: str
    agency: str
    amount: int
    at: datetime
    result: str
    lines: list[dict[str, Any]]
    payer: str
    expected: str
    original: _Txn | None = None
    forgery: str | None = None
    id: str = ""


def _fee_lines(wire: dict[str, Any]) -> list[dict[str, Any]]:
    """The dossier's DanhSachLePhi as the gateway lists it; an appraisal (thẩm định) is a phí."""
    charge = str(wire.get("TenTTHC", "")).startswith("Thẩm định")
    return [
        {
            "LoaiPhiLePhi": "1" if charge else "2",
            "MaPhiLePhi": line["MaPhiLePhi"],
            "TenPhiLePhi": (
                line["TenPhiLePhi"].replace("Lệ phí", "Phí", 1) if charge else line["TenPhiLePhi"]
            ),
            "SoTien": int(line["Gia"]),
        }
        for line in wire.get("DanhSachLePhi") or []
    ]


def _scaled(lines: list[dict[str, Any]], amount: int) -> list[dict[str, Any]]:
    """Fee lines adding up to ``amount``: the bank's record stays consistent with itself."""
    first = dict(lines[0])
    first["SoTien"] = amount - sum(int(line["SoTien"]) for line in lines[1:])
    return [first, *lines[1:]] if first["SoTien"] >= 0 else [{**lines[0], "SoTien": amount}]


def _wrong(r: random.Random, fee: int) -> int:
    """An amount a payer plausibly sends instead of the fee: twice it, or 10,000 off."""
    choice = r.randrange(3)
    return fee * 2 if choice == 0 or fee <= 10_000 else fee + (10_000 if choice == 1 else -10_000)


class Generator:
    """Collects a data set's transactions dossier by dossier, then lays them out as wire rows."""

    def __init__(self, base: str, anomalies: Anomalies, as_of: datetime) -> None:
        self.base, self.anomalies, self.as_of = base, anomalies, as_of
        self.dossiers: list[_Dossier] = []
        self.unpaid: list[_Dossier] = []
        self.txns: list[_Txn] = []

    def _rng(self, *key: object) -> random.Random:
        return random.Random(":".join(map(str, (self.base, *key))))  # noqa: S311 - test data

    def _payment(
        self, d: _Dossier, amount: int, at: datetime, expected: str, result: str = "00"
    ) -> _Txn:
        lines = d.lines if amount == d.fee else _scaled(d.lines, amount)
        txn = _Txn("payment", d.number, d.agency_code, amount, at, result, lines, d.payer, expected)
        self.txns.append(txn)
        return txn

    def _refund(self, r: random.Random, original: _Txn) -> None:
        reversal = r.random() < 0.3  # the bank's same-day cancellation, else a refund on request
        delay = r.randint(60, 3600) if reversal else r.randint(86_400, 10 * 86_400)
        at = original.at + timedelta(seconds=delay)
        if at >= self.as_of:
            return  # not refunded yet when the clock stops
        self.txns.append(
            _Txn(
                "reversal" if reversal else "refund",
                original.dossier,
                original.agency,
                original.amount,
                at,
                "00",
                original.lines,
                original.payer,
                "refund",
                original=original,
            )
        )
        original.expected = "refunded"

    def add_dossier(self, wire: dict[str, Any], truth: DossierTruth) -> None:
        """The payments of one one-stop dossier, if it bears a fee and was accepted."""
        lines = _fee_lines(wire)
        fee = sum(line["SoTien"] for line in lines)
        if not fee or truth.received_at is None:
            return
        r = self._rng(truth.number)
        draws = [r.random() for _ in range(5)]  # one per knob, so knobs do not shift each other
        online = wire.get("DuocThanhToanTrucTuyen") in ("1", "2")
        d = _Dossier(
            truth.number,
            truth.agency_code,
            truth.procedure_code,
            truth.received_at,
            truth.status,
            fee,
            online,
            lines,
            str(wire.get("ChuHoSo") or ""),
        )
        self.dossiers.append(d)
        a = self.anomalies
        if draws[0] < a.unpaid_rate:
            self.unpaid.append(d)
            return
        if online:  # paid on the portal while submitting
            submitted = datetime.strptime(wire["NgayNopHoSo"], "%Y%m%d%H%M%S").replace(tzinfo=TZ)
            at = submitted + timedelta(seconds=r.randint(60, 1800))
        else:  # paid at the counter or by QR code once the dossier is accepted
            at = truth.received_at + timedelta(seconds=r.randint(120, 2 * 86_400))
        if at >= self.as_of:
            return  # not paid yet when the clock stops
        if draws[1] < a.failed_rate:
            self._payment(
                d,
                fee,
                at - timedelta(seconds=r.randint(60, 900)),
                "failed",
                result=r.choice(("05", "24", "51")),
            )
        amount = fee if draws[2] >= a.mismatch_rate else _wrong(r, fee)
        first = self._payment(d, amount, at, "matched" if amount == fee else "amount_mismatch")
        withdrawn = truth.status in (7, 8)  # refunds are far likelier for these
        if draws[3] < a.duplicate_rate:
            again = at + timedelta(seconds=r.randint(600, 3 * 86_400))
            if again < self.as_of:
                second = self._payment(d, fee, again, "duplicate")
                if r.random() < 0.5:
                    self._refund(r, second)
        elif draws[4] < min(1.0, a.refund_rate * (15 if withdrawn else 1)):
            self._refund(r, first)
        d.paid_on = None if first.expected == "refunded" else first.at.astimezone(TZ).date()

    def add_unknown_dossier_payments(self, known: set[str]) -> None:
        """Payments naming a dossier number that does not exist (a typo, another province...)."""
        payments = sum(t.kind == "payment" and t.result == "00" for t in self.txns)
        start = min((t.at for t in self.txns), default=self.as_of - timedelta(days=1))
        for n in range(round(self.anomalies.unknown_dossier_rate * payments)):
            r = self._rng("unknown", n)
            template = r.choice(self.dossiers)
            at = start + timedelta(seconds=r.uniform(0, (self.as_of - start).total_seconds()))
            at = at.replace(microsecond=0)
            number = f"{template.agency_code}-{at.astimezone(TZ):%y%m%d}-9{n:03d}"
            if number in known:
                continue
            self.txns.append(
                _Txn(
                    "payment",
                    number,
                    template.agency_code,
                    template.fee,
                    at,
                    "00",
                    template.lines,
                    template.payer,
                    "unknown_dossier",
                )
            )

    def add_forgeries(self) -> None:
        """Forged transactions, aimed first at dossiers nobody paid: counted, they would hide
        exactly the dossiers the center must chase."""
        payments = sum(t.kind == "payment" and t.result == "00" for t in self.txns)
        count = round(self.anomalies.bad_signature_rate * payments)
        for n in range(count if self.dossiers else 0):
            r = self._rng("forged", n)
            d = self.unpaid[n] if n < len(self.unpaid) else r.choice(self.dossiers)
            at = min(
                d.received_at + timedelta(seconds=r.randint(300, 86_400)),
                self.as_of - timedelta(seconds=r.randint(60, 3600)),
            )
            txn = _Txn(
                "payment",
                d.number,
                d.agency_code,
                d.fee,
                at,
                "00",
                d.lines,
                d.payer,
                "bad_signature",
                forgery=FORGERIES[n % len(FORGERIES)],
            )
            self.txns.append(txn)

    def _numbered(self) -> list[_Txn]:
        ordered = sorted(enumerate(self.txns), key=lambda item: (item[1].at, item[0]))
        for n, (_, txn) in enumerate(ordered, 1):
            txn.id = f"VTB{txn.at.astimezone(TZ):%y%m%d}{n:07d}"
        return [txn for _, txn in ordered]

    def wire(self) -> tuple[list[dict[str, Any]], list[TransactionTruth], dict[str, str]]:
        """Wire rows (some listed twice), the truth per transaction, and the forgeries."""
        rows, truth, forged = [], [], {}
        repeat = self._rng("repeat")
        for txn in self._numbered():
            at = stamp(txn.at)
            row = {
                "MaGiaoDich": txn.id,
                "LoaiGiaoDich": KINDS[txn.kind],
                "MaGiaoDichGoc": txn.original.id if txn.original else "",
                "MaHoSo": txn.dossier,
                "MaDonViThuHuong": txn.agency,
                "SoTien": txn.amount,
                "LoaiTien": "VND",
                "ThoiGianGiaoDich": at,
                "MaKetQua": txn.result,
                "MoTaKetQua": RESULTS[txn.result],
                "TenNguoiNop": txn.payer,
                "DanhSachPhiLePhi": [dict(line) for line in txn.lines],
                "ThoiGianCapNhat": at,
            }
            rows.append(row)
            if txn.forgery:
                forged[txn.id] = txn.forgery
            elif repeat.random() < self.anomalies.repeat_notification_rate:
                rows.append(dict(row))  # the same notification, delivered again
            truth.append(
                TransactionTruth(
                    txn.id,
                    txn.kind,
                    txn.dossier,
                    txn.agency,
                    txn.amount,
                    txn.at,
                    txn.at,
                    txn.result,
                    txn.expected,
                    tuple((FEE_TYPES[line["LoaiPhiLePhi"]], line["SoTien"]) for line in txn.lines),
                    txn.original.id if txn.original else None,
                )
            )
        return rows, truth, forged

    def statements(self) -> list[dict[str, Any]]:
        """One statement per local day closed by the clock: the day's successful, genuine
        transactions, issued at about 01:00 the next day."""
        by_day: dict[date, list[_Txn]] = {}
        for txn in self._numbered():
            if txn.result == "00" and not txn.forgery:
                by_day.setdefault(txn.at.astimezone(TZ).date(), []).append(txn)
        if not by_day:
            return []
        statements, day = [], min(by_day)
        while True:
            issued = datetime(day.year, day.month, day.day, 1, tzinfo=TZ) + timedelta(
                days=1, minutes=self._rng("statement", day).randrange(60)
            )
            if issued > self.as_of:
                return statements
            statements.append(
                {
                    "NgaySaoKe": f"{day:%Y%m%d}",
                    "TenTep": f"VTB_SAOKE_{day:%Y%m%d}.csv",
                    "ThoiGianLap": stamp(issued),
                    "DongSaoKe": [
                        dict(
                            zip(
                                STATEMENT_COLUMNS,
                                (
                                    t.id,
                                    KINDS[t.kind],
                                    t.original.id if t.original else "",
                                    t.dossier,
                                    t.agency,
                                    str(t.amount),
                                    stamp(t.at),
                                ),
                                strict=True,
                            )
                        )
                        for t in by_day.get(day, [])
                    ],
                }
            )
            day += timedelta(days=1)
