"""Fee tests register the gateway source themselves: the registry is the lead's to edit."""

from __future__ import annotations

import pytest

from lienthong import registry
from tests.fees.builders import VIETINBANK


@pytest.fixture(autouse=True)
def vietinbank_registered(monkeypatch):
    monkeypatch.setitem(registry.SOURCES, VIETINBANK.key, VIETINBANK)
    return VIETINBANK
