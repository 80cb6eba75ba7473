"""Stand-in for the Vietinbank fee gateway (docs/vietinbank_api.md), derived from the one-stop
stand-in's data set so that payments name real dossiers and fees."""

from __future__ import annotations

from simulators.faults import Faults
from simulators.vietinbank.app import VietinbankApp, make_app
from simulators.vietinbank.dataset import Dataset, FeeDossier, build_dataset
from simulators.vietinbank.truth import Anomalies, TransactionTruth

__all__ = [
    "Anomalies",
    "Dataset",
    "FeeDossier",
    "TransactionTruth",
    "VietinbankApp",
    "build_dataset",
    "make_app",
    "make_stand_in",
]


def make_stand_in(
    seed: int = 2019, scenario: str = "small", faults: Faults | None = None
) -> VietinbankApp:
    """The registry's entry point: the scenario's data set served with ``faults``."""
    return make_app(build_dataset(scenario, seed), faults)
