"""Deterministic fee gateway data sets, derived from the one-stop stand-in's data set of the same
scenario and seed: payments name its real dossier numbers and fees, with seeded shares of
anomalies, and the ground truth of every transaction's reconciliation class."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from simulators.one_stop import build_dataset as build_one_stop
from simulators.vietinbank.payments import FORGERIES, Generator
from simulators.vietinbank.truth import Anomalies, TransactionTruth


@dataclass(frozen=True, slots=True)
class FeeDossier:
    """A fee-bearing, accepted dossier of the one-stop data set, and when it was paid."""

    number: str
    agency_code: str
    procedure_code: str
    received_at: datetime
    status: int
    fee: int
    paid_online: bool  # DuocThanhToanTrucTuyen 1 or 2
    paid_on: date | None  # local date of the payment that counts; None: no payment counts


@dataclass
class Dataset:
    """One scenario's gateway records in wire form (unsigned: the app signs them) and the truth."""

    scenario: str
    seed: int
    as_of: datetime
    transactions: list[dict[str, Any]]  # ordered by (ThoiGianCapNhat, MaGiaoDich); some twice
    statements: list[dict[str, Any]]  # one per closed day: NgaySaoKe, TenTep, ThoiGianLap, lines
    truth: list[TransactionTruth]  # one per transaction id, in the order of `transactions`
    dossiers: dict[str, FeeDossier]  # by dossier number
    forged: dict[str, str] = field(default_factory=dict)  # id -> wrong_key | missing | tampered
    malformed: dict[str | int, str] = field(default_factory=dict)  # id (or index) -> reason

    @property
    def expected(self) -> dict[str, str]:
        """The reconciliation class of every transaction, by transaction id."""
        return {t.number: t.expected for t in self.truth}

    def _lone_matched_payments(self) -> list[str]:
        """Ids of matched payments that are their dossier's only paid one and listed once: a
        corruption of one changes nothing but that payment and its dossier."""
        paid: dict[str, int] = {}
        for t in self.truth:
            if t.result_code == "00" and t.dossier_number:
                paid[t.dossier_number] = paid.get(t.dossier_number, 0) + 1
        counts: dict[str, int] = {}
        for row in self.transactions:
            if "MaGiaoDich" in row:
                counts[row["MaGiaoDich"]] = counts.get(row["MaGiaoDich"], 0) + 1
        return [
            t.number
            for t in self.truth
            if t.expected == "matched" and paid[t.dossier_number] == 1 and counts.get(t.number) == 1
        ]

    def with_malformed(self, rate: float, seed: int = 0) -> Dataset:
        """A copy with a fixed, seed-chosen share of plain payments corrupted.

        Only a dossier's single, matched, once-listed payment is picked, so a corruption changes
        nothing but that payment (rejected) and its dossier (no longer paid).
        """
        if rate <= 0:
            return self
        candidates = self._lone_matched_payments()
        rng = random.Random(f"malformed:{self.seed}:{seed}")  # noqa: S311 - test data
        picks = set(rng.sample(candidates, round(rate * len(candidates))))
        transactions, truth, dossiers = list(self.transactions), [], dict(self.dossiers)
        malformed: dict[str | int, str] = {}
        reasons: dict[str, str] = {}
        for index, row in enumerate(transactions):
            if row["MaGiaoDich"] in picks:
                record = dict(row)
                reason = _corrupt(record, MALFORMATIONS[rng.randrange(len(MALFORMATIONS))])
                transactions[index] = record
                reasons[row["MaGiaoDich"]] = reason
                malformed[index if reason == "missing_key" else row["MaGiaoDich"]] = reason
        for t in self.truth:
            if t.number in picks:
                t = replace(t, expected="malformed", malformed_reason=reasons[t.number])
                dossiers[t.dossier_number] = replace(dossiers[t.dossier_number], paid_on=None)
            truth.append(t)
        return replace(
            self, transactions=transactions, truth=truth, dossiers=dossiers, malformed=malformed
        )

    def with_forged(self, rate: float, seed: int = 0) -> Dataset:
        """A copy with a fixed, seed-chosen share of plain payments whose signature fails (signed
        with a wrong key, not signed, or signed over another amount): the gateway's
        notification of them cannot be trusted, so they are quarantined, never counted.

        Picked like `with_malformed`, among the payments it left alone, so either knob leaves
        the other's records as they were. A forged payment is not in the bank's statements and
        its dossier is no longer paid.
        """
        if rate <= 0:
            return self
        candidates = self._lone_matched_payments()
        rng = random.Random(f"forged:{self.seed}:{seed}")  # noqa: S311 - test data
        picks = sorted(rng.sample(candidates, round(rate * len(candidates))))
        forged = dict(self.forged)
        forged.update({number: FORGERIES[rng.randrange(len(FORGERIES))] for number in picks})
        truth, dossiers = [], dict(self.dossiers)
        for t in self.truth:
            if t.number in forged and t.expected == "matched":
                t = replace(t, expected="bad_signature")
                dossiers[t.dossier_number] = replace(dossiers[t.dossier_number], paid_on=None)
            truth.append(t)
        statements = [
            {**day, "DongSaoKe": [x for x in day["DongSaoKe"] if x["MaGiaoDich"] not in forged]}
            for day in self.statements
        ]
        return replace(self, truth=truth, dossiers=dossiers, statements=statements, forged=forged)


MALFORMATIONS = (
    "missing_key",
    "bad_date",
    "unknown_type",
    "bad_amount",
    "wrong_currency",
    "fee_lines_mismatch",
)


def _corrupt(record: dict[str, Any], reason: str) -> str:
    if reason == "missing_key":
        del record["MaGiaoDich"]
    elif reason == "bad_date":
        record["ThoiGianGiaoDich"] = "20193102250000"
    elif reason == "unknown_type":
        record["LoaiGiaoDich"] = "CHUYEN_KHOAN"
    elif reason == "bad_amount":
        record["SoTien"] = -abs(int(record["SoTien"]))
    elif reason == "wrong_currency":
        record["LoaiTien"] = "USD"
    else:
        lines = [dict(line) for line in record["DanhSachPhiLePhi"]]
        lines[0]["SoTien"] = int(lines[0]["SoTien"]) + 10_000
        record["DanhSachPhiLePhi"] = lines
    return reason


def build_dataset(
    scenario: str = "small", seed: int = 2019, anomalies: Anomalies | None = None
) -> Dataset:
    """The named scenario's gateway data; the same scenario, seed and anomalies give identical
    records. The dossiers come from `simulators.one_stop.build_dataset(scenario, seed)`."""
    one_stop = build_one_stop(scenario, seed)
    generator = Generator(f"vietinbank:{scenario}:{seed}", anomalies or Anomalies(), one_stop.as_of)
    for wire, truth in zip(one_stop.dossiers, one_stop.truth, strict=True):
        generator.add_dossier(wire, truth)
    generator.add_unknown_dossier_payments({t.number for t in one_stop.truth})
    generator.add_forgeries()
    rows, truth, forged = generator.wire()
    dossiers = {d.number: FeeDossier(**d.facts()) for d in generator.dossiers}
    return Dataset(
        scenario=scenario,
        seed=seed,
        as_of=one_stop.as_of,
        transactions=rows,
        statements=generator.statements(),
        truth=truth,
        dossiers=dossiers,
        forged=forged,
    )
