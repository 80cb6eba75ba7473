"""Stand-in for the province's one-stop software (docs/one_stop_api.md)."""

from __future__ import annotations

from simulators.faults import Faults
from simulators.one_stop.app import OneStopApp, make_app
from simulators.one_stop.scenario import Dataset, DossierTruth, build_dataset

__all__ = ["Dataset", "DossierTruth", "OneStopApp", "build_dataset", "make_app", "make_stand_in"]


def make_stand_in(seed: int = 2019, scenario: str = "small", faults: Faults | None = None
                  ) -> OneStopApp:
    """The registry's entry point: the scenario's data set served with ``faults``."""
    return make_app(build_dataset(scenario, seed), faults)
