"""GPLX stand-in: the transport ministry's driving-licence system (docs/driving_licence_api.md)."""

from __future__ import annotations

from simulators.driving_licence.app import DrivingLicenceApp, make_app
from simulators.driving_licence.scenario import Dataset, DossierTruth, build_dataset
from simulators.faults import Faults

__all__ = [
    "Dataset",
    "DossierTruth",
    "DrivingLicenceApp",
    "build_dataset",
    "make_app",
    "make_stand_in",
]


def make_stand_in(
    seed: int = 2019, scenario: str = "small", faults: Faults | None = None
) -> DrivingLicenceApp:
    """The registry's entry point: the scenario's data set served with ``faults``."""
    return make_app(build_dataset(scenario, seed), faults)
