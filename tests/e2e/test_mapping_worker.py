"""Mapping on a worker process beside the loading gives the warehouse an inline run gives."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime

import pytest
from sqlalchemy import select

from connectors import one_stop
from lienthong import mapper
from lienthong.settings import load as load_settings
from mappings.common import LOCAL_TZ
from simulators.faults import Faults
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from tests.helpers import sync_from_stand_in, warehouse_digest
from warehouse import schema
from warehouse.db import make_engine

SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=11)


def _sync(engine, url):
    return sync_from_stand_in("one_stop", engine, url, since=SINCE, until=UNTIL)


def test_worker_and_inline_mapping_load_the_same_warehouse(engine, tmp_path, monkeypatch, dataset):
    faults = Faults(malformed_rate=0.05, repeat_rate=0.2, seed=3)  # rejections and repeats too
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset, faults)})) as url:
        monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "0")
        inline_engine = make_engine(f"sqlite:///{tmp_path / 'inline.db'}")
        inline = _sync(inline_engine, url)

        monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "1")
        monkeypatch.setenv("LIENTHONG_MAP_WORKER_FROM", "0")  # every page goes to the worker
        used = []
        real = mapper.ProcessPoolExecutor
        monkeypatch.setattr(
            mapper, "ProcessPoolExecutor", lambda *a, **k: used.append(1) or real(*a, **k)
        )
        pooled = _sync(engine, url)

    assert used, "the worker process was not used"
    assert [r.counts for r in pooled] == [r.counts for r in inline]
    assert sum(r.counts.rejected for r in pooled) > 0
    assert warehouse_digest(engine) == warehouse_digest(inline_engine)


def test_a_failing_worker_fails_the_batch_and_loads_nothing(engine, monkeypatch, dataset):
    monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "1")
    monkeypatch.setenv("LIENTHONG_MAP_WORKER_FROM", "0")
    monkeypatch.setattr(mapper, "_map_in_worker", _explode)  # pickled by reference: runs there
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset, Faults())})) as url:
        with pytest.raises(RuntimeError, match="mapping worker broke"):
            _sync(engine, url)
    with engine.connect() as conn:
        outcomes = conn.execute(select(schema.load_batches.c.outcome)).scalars().all()
        assert conn.execute(select(schema.dossiers.c.id)).first() is None
    assert "failed" in outcomes


def test_a_killed_worker_costs_speed_not_the_batch(engine, tmp_path, monkeypatch, dataset, caplog):
    # Pages of 100: the worker dies on the second, with more in flight and still to come.
    monkeypatch.setattr(
        one_stop, "OneStopConnector", functools.partial(one_stop.OneStopConnector, page_size=100)
    )
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset, Faults())})) as url:
        monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "0")
        inline_engine = make_engine(f"sqlite:///{tmp_path / 'inline.db'}")
        inline = _sync(inline_engine, url)

        monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "1")
        monkeypatch.setenv("LIENTHONG_MAP_WORKER_FROM", "0")
        monkeypatch.setattr(mapper, "_map_in_worker", _die_on_second_page)
        results = _sync(engine, url)

    assert [r.outcome for r in results] == [r.outcome for r in inline]
    assert [r.counts for r in results] == [r.counts for r in inline]
    assert warehouse_digest(engine) == warehouse_digest(inline_engine)
    assert "mapping worker unavailable" in caplog.text
    assert "killed by SIGKILL" in caplog.text  # the real cause, not only "pool broken"


# An entry point that may not be imported a second time, as Airflow's `airflow` command in a task
# runner (its import reads a metadata connection the task supervisor forbids): a spawned worker
# re-imports the parent's __main__ and dies there.
_GUARDED_MAIN = """
import sys
if __name__ != "__main__":
    raise RuntimeError("this entry point may not be imported again")

import functools
from datetime import datetime
from connectors import one_stop
from mappings.common import LOCAL_TZ
from tests.helpers import sync_from_stand_in
from warehouse.db import make_engine

one_stop.OneStopConnector = functools.partial(one_stop.OneStopConnector, page_size=200)
engine = make_engine(sys.argv[2])
results = sync_from_stand_in(
    "one_stop", engine, sys.argv[1],
    since=datetime(2018, 10, 1, tzinfo=LOCAL_TZ), until=datetime(2019, 7, 1, tzinfo=LOCAL_TZ),
)
print(" ".join(r.outcome for r in results))
"""


def test_a_worker_that_cannot_start_under_its_entry_point_is_not_a_failure(
    tmp_path, monkeypatch, dataset
):
    script = tmp_path / "entry_point.py"
    script.write_text(textwrap.dedent(_GUARDED_MAIN))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = os.environ | {
        "LIENTHONG_MAP_WORKERS": "1",
        "LIENTHONG_MAP_WORKER_FROM": "0",
        "PYTHONPATH": root,
    }
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset, Faults())})) as url:
        inline_engine = make_engine(f"sqlite:///{tmp_path / 'inline.db'}")
        monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "0")
        _sync(inline_engine, url)
        warehouse = f"sqlite:///{tmp_path / 'child.db'}"
        run = subprocess.run(
            [sys.executable, str(script), url, warehouse],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert run.returncode == 0, run.stderr[-2000:]
    assert set(run.stdout.split()) == {"succeeded"}
    assert "may not be imported again" in run.stderr  # the worker's own error output ...
    assert "exited with code 1" in run.stderr  # ... and the cause, in one line
    assert warehouse_digest(make_engine(warehouse)) == warehouse_digest(inline_engine)


def test_workers_setting():
    def workers(value: str) -> int:
        return mapper.workers(load_settings({"LIENTHONG_MAP_WORKERS": value}))

    def pool_from(environ: dict[str, str]) -> int:
        return mapper.pool_from(load_settings(environ))

    assert workers("0") == 0
    assert workers("4") == 1  # pages load in order: one worker is all that helps
    with pytest.raises(ValueError, match="LIENTHONG_MAP_WORKERS"):
        workers("two")
    assert pool_from({}) == mapper.POOL_FROM
    assert pool_from({"LIENTHONG_MAP_WORKER_FROM": "100"}) == 100
    with pytest.raises(ValueError, match="LIENTHONG_MAP_WORKER_FROM"):
        pool_from({"LIENTHONG_MAP_WORKER_FROM": "many"})


_calls = 0


def _die_on_second_page(page):
    global _calls
    _calls += 1
    if _calls == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return mapper.map_page(mapper._mapping, mapper._ctx, mapper._source, page)


def _explode(page):
    raise RuntimeError("mapping worker broke")


def test_no_worker_process_where_none_can_start(engine, monkeypatch, dataset, caplog):
    class Refusing:
        def __init__(self, *args, **kwargs):
            pass

        def submit(self, *args):
            raise AssertionError("daemonic processes are not allowed to have children")

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "1")
    monkeypatch.setenv("LIENTHONG_MAP_WORKER_FROM", "0")
    monkeypatch.setattr(mapper, "ProcessPoolExecutor", Refusing)
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset, Faults())})) as url:
        results = _sync(engine, url)
    assert all(r.outcome == "succeeded" for r in results)
    assert "mapping worker unavailable" in caplog.text
