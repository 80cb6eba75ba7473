"""Stand-in for the justice ministry's criminal record system (docs/criminal_record_api.md)."""

from __future__ import annotations

from simulators.criminal_record.app import CriminalRecordApp, make_app
from simulators.criminal_record.people import CONTENT_MARKER, sensitive_strings
from simulators.criminal_record.scenario import Dataset, DossierTruth, build_dataset
from simulators.faults import Faults

__all__ = [
    "CONTENT_MARKER",
    "CriminalRecordApp",
    "Dataset",
    "DossierTruth",
    "build_dataset",
    "make_app",
    "make_stand_in",
    "sensitive_strings",
]


def make_stand_in(
    seed: int = 2019, scenario: str = "small", faults: Faults | None = None
) -> CriminalRecordApp:
    """The registry's entry point: the scenario's data set served with ``faults``."""
    return make_app(build_dataset(scenario, seed), faults)
