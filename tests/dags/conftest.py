"""What the DAG tests share: a throwaway AIRFLOW_HOME with SQLite metadata and the project's DAGs,
the stand-ins over HTTP with a request counter, a warehouse that can be made to fail.

Airflow reads its configuration once, when first imported, so the test modules here import it
inside fixtures and tests, after `airflow_home` has set the environment.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from simulators.server import serve
from simulators.standins import stand_ins
from warehouse import schema

ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = ROOT / "dags"
SEED = 31


def pytest_configure(config) -> None:
    # Airflow's in-process execution API (dag.test) imports a test client that warns on import.
    config.addinivalue_line(
        "filterwarnings", "ignore:Using `httpx` with `starlette.testclient` is deprecated"
    )


def airflow_env(home: Path) -> dict[str, str]:
    """Settings every Airflow process of the tests gets (in-process, CLI or servers)."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # The DAGs' base retry delay is this setting (5 minutes in production).
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
    }


class CountingApp:
    """Counts the requests reaching the stand-ins: a replayed `load` must add none."""

    def __init__(self, app) -> None:
        self.app, self.requests, self._lock = app, 0, threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.requests += 1
        return self.app(environ, start_response)


def refuse_dossiers(engine, refuse: bool = True) -> None:
    """Make the warehouse fail every dossier insert (think: a full disk), or stop doing so.

    The failure comes inside the load's batch, after its audit row was written: as with a real
    database error, the row must end `failed`.
    """
    with engine.begin() as conn:
        if refuse:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_dossiers BEFORE INSERT ON dossiers "
                    "BEGIN SELECT RAISE(ABORT, 'warehouse refuses writes'); END"
                )
            )
        else:
            conn.execute(text("DROP TRIGGER refuse_dossiers"))


def audit(engine, run_id_like: str = "%", stream: str | None = None) -> list[Any]:
    """The load audit rows of the runs whose run_id is LIKE `run_id_like`, in order."""
    lb = schema.load_batches
    query = select(lb).where(lb.c.run_id.like(run_id_like)).order_by(lb.c.id)
    if stream:
        query = query.where(lb.c.stream == stream)
    with engine.connect() as conn:
        return conn.execute(query).all()


@pytest.fixture(scope="module")
def stand_in() -> Iterator[CountingApp]:
    """Every source's stand-in on one port (`stand_in.base_url`), requests counted."""
    app = CountingApp(stand_ins(scenario="small", seed=SEED))
    with serve(app) as base_url:
        app.base_url = base_url
        yield app


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("airflow-home")
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != str(home):
        pytest.fail("Airflow was imported before tests/dags could give it a home of its own")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in airflow_env(home).items():
            mp.setenv(name, value)
        yield home


@pytest.fixture(scope="session")
def dagbag(airflow_home):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@pytest.fixture(scope="session")
def airflow_db(airflow_home) -> None:
    """An empty, migrated metadata database (what `dag.test()` needs)."""
    from airflow.utils import db

    db.resetdb()
