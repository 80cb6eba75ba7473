"""The generic contract every registered source meets, run against its stand-in over real HTTP.

Parametrised over `lienthong.registry.SOURCES`: a new source gets these tests by being
registered (its stand-in must expose `app.dataset` with `truth` and `malformed`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from connectors.base import Window
from lienthong.registry import SOURCES, load_object
from mappings.canonical import Dossier, Rejection
from mappings.common import LOCAL_TZ, MappingContext
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.conftest import TEST_KEY
from tests.helpers import retry_without_waiting, sync_from_stand_in, warehouse_digest
from warehouse import schema
from warehouse.db import make_engine, upgrade

SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
MIDDLE = datetime(2019, 4, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
KEYS = sorted(SOURCES)
# Each fault kind on its own, then all of them at once. For SOAP sources part of the 5xx are
# SOAP Server faults; "timeout" stalls calls past the client's read timeout.
FAULTS = {
    "5xx": Faults(error_rate=0.25, seed=1),
    "timeout": Faults(stall_rate=0.3, stall=1.0, seed=14),  # seed 14: the first call stalls
    "429": Faults(rate_limit_rate=0.2, seed=2),
    "duplicate_pages": Faults(repeat_rate=0.5, seed=3),
    "expired_session": Faults(session_ttl=3, seed=4),
    "mixed": Faults(error_rate=0.1, rate_limit_rate=0.05, repeat_rate=0.2, session_ttl=5, seed=5),
}


def stand_in(key: str, faults: Faults | None = None):
    """The source's stand-in app (its data set is `app.dataset`) and a server for it."""
    app = load_object(SOURCES[key].simulator)(seed=11, scenario="small", faults=faults or Faults())
    return app, serve(PrefixDispatcher({f"/{key}": app}))


def fresh_engine(tmp_path, name: str):
    engine = make_engine(f"sqlite:///{tmp_path / name}.db")
    upgrade(engine)
    return engine


def run(key, engine, base_url, since=SINCE, until=UNTIL, **extra):
    return sync_from_stand_in(key, engine, base_url, since=since, until=until, **extra)


def mapping_context(key: str) -> MappingContext:
    """What the pipeline gives a mapping: the pseudonym key and, for a source that signs its
    records, the key of its connection."""
    connection = stand_in_connection("http://127.0.0.1:1", key)
    record_key = load_object(SOURCES[key].connector).record_key(connection)
    return MappingContext(TEST_KEY, record_key=record_key)


def windowed_records(key, base_url, window):
    source = SOURCES[key]
    connector = load_object(source.connector)(stand_in_connection(base_url, key))
    with connector:
        for stream in source.streams:
            if stream.windowed:
                for page in connector.fetch(stream.name, window):
                    yield stream, page


@pytest.mark.parametrize("key", KEYS)
def test_records_map_to_the_canonical_schema_with_unique_keys(key):
    app, server = stand_in(key)
    ctx = mapping_context(key)
    seen: dict[str, set[str]] = {}
    with server as base_url:
        for stream, page in windowed_records(key, base_url, Window(SINCE, UNTIL)):
            mapping = load_object(stream.mapping)
            for raw in page:
                record = mapping(raw, ctx)
                assert not isinstance(record, Rejection), (stream.name, record.reason)
                assert record.source_id, record
                seen.setdefault(stream.name, set()).add(record.source_id)
    dossier_stream = next(s.name for s in SOURCES[key].streams if s.windowed)
    expected = {t.number for t in app.dataset.truth if t.updated_at < UNTIL}
    assert seen[dossier_stream] == expected


@pytest.mark.parametrize("key", KEYS)
def test_two_reads_of_the_same_window_leave_an_identical_warehouse(key, tmp_path):
    engine = fresh_engine(tmp_path, "w")
    _, server = stand_in(key)
    with server as base_url:
        run(key, engine, base_url)
        before = warehouse_digest(engine)
        again = run(key, engine, base_url)
    assert warehouse_digest(engine) == before
    assert all(r.counts.inserted == r.counts.updated == 0 for r in again)


@pytest.mark.parametrize("key", KEYS)
def test_a_read_from_the_watermark_yields_only_records_at_or_past_it(key, tmp_path):
    engine = fresh_engine(tmp_path, "w")
    app, server = stand_in(key)
    source = SOURCES[key]
    with server as base_url:
        run(key, engine, base_url, until=MIDDLE)
        start = MIDDLE - source.lookback
        ctx = mapping_context(key)
        for stream, page in windowed_records(key, base_url, Window(start, UNTIL)):
            for raw in page:
                record = load_object(stream.mapping)(raw, ctx)
                if isinstance(record, Dossier):
                    assert record.source_updated_at >= start, record.source_id
        results = run(key, engine, base_url, since=None)  # from the watermark
    windows = {r.window for r in results if r.window is not None}
    assert windows == {Window(start, UNTIL)}


@pytest.mark.parametrize("key", KEYS)
def test_a_window_in_the_future_yields_nothing(key):
    _, server = stand_in(key)
    future = datetime(2030, 1, 1, tzinfo=LOCAL_TZ)
    with server as base_url:
        pages = list(windowed_records(key, base_url, Window(future, future + timedelta(days=30))))
    assert sum(len(page) for _, page in pages) == 0


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without real sleeping: the faults are many here, the backoff is tested elsewhere."""
    retry_without_waiting(monkeypatch)


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.usefixtures("no_backoff")
def test_each_fault_kind_converges_to_the_fault_free_warehouse(key, fault, tmp_path, caplog):
    clean, faulty = fresh_engine(tmp_path, "clean"), fresh_engine(tmp_path, "faulty")
    _, server = stand_in(key)
    with server as base_url:
        run(key, clean, base_url)
    _, server = stand_in(key, FAULTS[fault])
    with server as base_url:
        results = run(key, faulty, base_url, read_timeout=0.4)
    assert all(r.outcome == "succeeded" for r in results)
    if fault == "timeout":  # the fault really happened and was retried
        assert "Timeout" in caplog.text
    assert warehouse_digest(faulty) == warehouse_digest(clean)


@pytest.mark.parametrize("key", KEYS)
def test_malformed_records_are_quarantined_and_nothing_else_is_lost(key, tmp_path):
    """Which records: every corrupted one is quarantined under its source id, every other one
    of the window is stored (a loader losing any record, or storing a corrupted one, fails)."""
    engine = fresh_engine(tmp_path, "w")
    app, server = stand_in(key, Faults(malformed_rate=0.1, seed=9))
    with server as base_url:
        results = run(key, engine, base_url)
    assert all(r.outcome == "succeeded" for r in results)
    flagged_only = {"unknown_procedure"}  # loaded and flagged, not rejected
    bad = {k: r for k, r in app.dataset.malformed.items() if r not in flagged_only}
    assert bad and sum(r.counts.rejected for r in results) == len(bad)
    good = {
        t.number
        for t in app.dataset.truth
        if t.updated_at < UNTIL and t.malformed_reason in (None, *flagged_only)
    }
    main = next(s.name for s in SOURCES[key].streams if s.windowed)
    table = schema.payments if key == "vietinbank" else schema.dossiers
    q = schema.rejected_records
    with engine.connect() as conn:
        stored = set(conn.execute(select(table.c.source_id).where(table.c.source == key)).scalars())
        quarantined = Counter(
            conn.execute(
                select(q.c.source_id).where(q.c.source == key, q.c.stream == main)
            ).scalars()
        )
    # A record corrupted by losing its key is quarantined without one (keyed by its index).
    expected = Counter(k if isinstance(k, str) else None for k in bad)
    assert quarantined == expected
    assert stored == good


@pytest.mark.parametrize("key", KEYS)
def test_redaction_keeps_everything_the_mapping_needs(key):
    """Records are archived and mapped after redaction: it must not change the mapping."""
    ctx = mapping_context(key)
    _, server = stand_in(key)
    checked = 0
    with server as base_url:
        for stream, page in windowed_records(key, base_url, Window(SINCE, UNTIL)):
            if stream.redact is None:
                continue
            mapping, redact = load_object(stream.mapping), load_object(stream.redact)
            for raw in page:
                assert mapping(redact(raw, ctx), ctx) == mapping(raw, ctx)
                checked += 1
    assert checked > 0
