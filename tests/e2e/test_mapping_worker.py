"""Mapping on a worker process beside the loading gives the warehouse an inline run gives."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from lienthong import mapper
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
        monkeypatch.setattr(mapper, "POOL_FROM", 0)  # every page goes through the worker
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
    monkeypatch.setattr(mapper, "POOL_FROM", 0)
    monkeypatch.setattr(mapper, "_map_in_worker", _explode)  # pickled by reference: runs there
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset, Faults())})) as url:
        with pytest.raises(RuntimeError, match="mapping worker broke"):
            _sync(engine, url)
    with engine.connect() as conn:
        outcomes = conn.execute(select(schema.load_batches.c.outcome)).scalars().all()
        assert conn.execute(select(schema.dossiers.c.id)).first() is None
    assert "failed" in outcomes


def test_workers_setting(monkeypatch):
    monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "0")
    assert mapper.workers() == 0
    monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "4")
    assert mapper.workers() == 1  # pages load in order: one worker is all that helps
    monkeypatch.setenv("LIENTHONG_MAP_WORKERS", "two")
    with pytest.raises(ValueError, match="LIENTHONG_MAP_WORKERS"):
        mapper.workers()


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
    monkeypatch.setattr(mapper, "POOL_FROM", 0)
    monkeypatch.setattr(mapper, "ProcessPoolExecutor", Refusing)
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset, Faults())})) as url:
        results = _sync(engine, url)
    assert all(r.outcome == "succeeded" for r in results)
    assert "could not start a worker process" in caplog.text
