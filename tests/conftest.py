"""Shared fixtures: the PostgreSQL plugin, test-only keys, warehouses per backend."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.pg"]

# Tests must never need a real secret; this key exists only for them, whatever the shell exported.
# They run as production does: not as the demo, which alone may use the published demo key.
os.environ["LIENTHONG_PSEUDONYM_KEY"] = "test-only-pseudonym-key-0123456789"
os.environ.pop("LIENTHONG_DEMO", None)
TEST_KEY = os.environ["LIENTHONG_PSEUDONYM_KEY"].encode()
os.environ.setdefault("LIENTHONG_LANDING_KEY", "test-only-landing-key-0123456789abcdef")


@pytest.fixture
def sqlite_engine(tmp_path):
    from warehouse.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def engine(request, tmp_path):
    """A migrated, empty warehouse on each backend the project supports."""
    from warehouse.db import make_engine, upgrade

    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    else:
        eng = request.getfixturevalue("pg_engine")
    upgrade(eng)
    yield eng
    eng.dispose()
