"""The fee gateway stand-in's shared vocabulary: the anomaly knobs of a data set and the truth of
each transaction. The generator (`payments`) and the data set (`dataset`) both build on it, so
neither needs the other's module to name them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime


@dataclass(frozen=True)
class Anomalies:
    """Seeded shares of what a fee gateway's data gets wrong, beside the wire `Faults`.

    Each share is drawn per dossier (or per payment) from its own seeded stream, so turning one
    knob does not change the records the others produce. Forged signatures are off by default:
    they are rejections, and the generic contract tests expect none without faults.
    """

    unpaid_rate: float = 0.05  # fee-bearing dossiers nobody pays
    failed_rate: float = 0.03  # payments preceded by a failed attempt (result code not "00")
    mismatch_rate: float = 0.03  # payments of an amount other than the fee due
    duplicate_rate: float = 0.03  # dossiers paid twice, by two distinct transactions
    refund_rate: float = 0.03  # payments refunded or reversed later (withdrawn dossiers: half)
    unknown_dossier_rate: float = 0.02  # extra payments naming no existing dossier
    repeat_notification_rate: float = 0.02  # transactions the gateway lists twice
    bad_signature_rate: float = 0.0  # extra forged transactions (wrong key, none, tampered)
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "seed" and not 0.0 <= value <= 1.0:
                raise ValueError(f"{f.name}={value} is not a fraction in [0, 1]")


@dataclass(frozen=True, slots=True)
class TransactionTruth:
    """One transaction as the gateway really made it, and the class reconciliation must give it."""

    number: str  # the gateway's transaction id (MaGiaoDich)
    kind: str  # payment | refund | reversal
    dossier_number: str | None
    agency_code: str
    amount: int
    paid_at: datetime
    updated_at: datetime
    result_code: str
    # matched | amount_mismatch | unknown_dossier | duplicate | refunded | refund | failed |
    # bad_signature | malformed
    expected: str
    fee_lines: tuple[tuple[str, int], ...]  # (canonical fee type, amount)
    original: str | None = None
    malformed_reason: str | None = None
