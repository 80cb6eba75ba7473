"""Stand-in for the national business registration system (docs/business_registration_api.md)."""

from __future__ import annotations

from simulators.business_registration.app import make_app
from simulators.business_registration.dataset import Dataset, DossierTruth, build_dataset
from simulators.faults import Faults
from simulators.soap import SoapApp

__all__ = ["Dataset", "DossierTruth", "build_dataset", "make_app", "make_stand_in"]


def make_stand_in(
    seed: int = 2019, scenario: str = "small", faults: Faults | None = None
) -> SoapApp:
    """The registry's entry point: the scenario's data set served with ``faults``."""
    return make_app(build_dataset(scenario, seed), faults)
