"""Fault convergence: for every registered source, a five-day window synced through about 20% of
faulty calls — 5xx (SOAP Server faults from the SOAP stand-ins), 429 with Retry-After, calls
stalled past the read timeout, connections reset mid-body, bodies cut short — with pages
repeated and sessions expiring, over data holding malformed records (and, at the fee gateway,
badly signed payments). The sync is re-run until it succeeds (the first run gives up at its
first fault, so a run does fail part-way). Then the warehouse equals a fault-free run of the
same data, and the quarantine holds exactly the malformed records (and the badly signed
payments), each with its reason.

Parametrised over `lienthong.registry.SOURCES` and both warehouse backends: a new source is
covered by being registered.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections import Counter
from datetime import datetime

import pytest
import sqlalchemy as sa

from connectors.base import Window
from connectors.driving_licence import DEFAULT_LOOKBACK_DAYS, receive_dates
from connectors.errors import TransientError
from lienthong.registry import SOURCES, load_object
from mappings.common import LOCAL_TZ
from simulators.faults import Faults
from simulators.province import simulator_module
from simulators.server import PrefixDispatcher, serve
from tests.helpers import retry_without_waiting, sync_from_stand_in, warehouse_digest
from warehouse import schema
from warehouse.db import make_engine, upgrade

pytestmark = pytest.mark.slow

# The demo's busy half year: five working days hold dozens to hundreds of records per source.
# Early in the data, so GPLX's look-back (60 days of receipts, each dossier looked up) is short.
SCENARIO, SEED = "langson-2019h1", 11
WINDOW = Window(datetime(2018, 10, 15, tzinfo=LOCAL_TZ), datetime(2018, 10, 20, tzinfo=LOCAL_TZ))
# What is wrong with the data itself: the same in the fault-free run.
DATA = Faults(malformed_rate=0.05, bad_signature_rate=0.05, seed=9)
# What goes wrong on the wire: 20% of the service calls, every kind at once.
WIRE = Faults(
    error_rate=0.055,
    rate_limit_rate=0.03,
    stall_rate=0.005,  # each costs READ_TIMEOUT of real time
    stall=0.5,  # past READ_TIMEOUT: the client times out and retries
    reset_rate=0.05,
    truncate_rate=0.06,
    repeat_rate=0.2,
    session_ttl=7,
    seed=9,  # the first fault hits the 12th call: the first run fails part-way
)
READ_TIMEOUT = 0.25
# Pages of a twentieth of the window's records: at least 20 calls per source, so the faults hit
# every source, and pages can repeat.
PAGES = 20
MAX_RUNS = 6
# Malformations the mapping loads and flags instead of rejecting.
FLAGGED_ONLY = {"unknown_procedure"}
# Each malformation (or forgery), and words its quarantine reason must contain.
REASON_WORDS = {
    "missing_key": "missing",
    "bad_date": "date",
    "bad_list_date": "date",
    "bad_day_date": "date",
    "bad_detail_date": "date",
    "due_before_received": "due date before receive date",
    "unknown_status": "status",
    "unknown_channel": "channel",
    "missing_detail": "missing detail",
    "invalid_mst": "tax code",
    "unknown_certificate_type": "certificate",
    "unknown_type": "transaction_type",
    "bad_amount": "amount",
    "wrong_currency": "currency",
    "fee_lines_mismatch": "fee lines",
    "wrong_key": "forged signature",
    "tampered": "forged signature",
    "missing": "missing signature",
}


def served_if_changed_in(dataset, index: int, window: Window) -> bool:
    """The record is served when it changed in the window (a source listing by change time)."""
    return window.start <= dataset.truth[index].updated_at < window.end


def served_by_gplx(dataset, index: int, window: Window) -> bool:
    """GPLX lists by receive date: the connector widens the window by its look-back, looks each
    dossier up and keeps those that changed in the window — and those whose change time it
    cannot read (no key to look the dossier up with, or no detail found)."""
    first, last = receive_dates(window, DEFAULT_LOOKBACK_DAYS)
    if not first.isoformat() <= dataset.arrived[index] <= last.isoformat():
        return False
    hidden = dataset.truth[index].malformed_reason in ("missing_key", "missing_detail")
    return hidden or served_if_changed_in(dataset, index, window)


# Sources whose window does not simply select records by their change time.
SERVED = {"driving_licence": served_by_gplx}


def expected_quarantine(key: str, dataset) -> Counter:
    """(source id, malformation) of every record the window serves that must be rejected; a
    record without its key has no source id."""
    served = SERVED.get(key, served_if_changed_in)
    forged = getattr(dataset, "forged", {})
    expected: Counter = Counter()
    for index, truth in enumerate(dataset.truth):
        code = truth.malformed_reason or forged.get(truth.number)
        if code and code not in FLAGGED_ONLY and served(dataset, index, WINDOW):
            expected[(None if code == "missing_key" else truth.number, code)] += 1
    return expected


@pytest.fixture(scope="module")
def stand_ins():
    """Each source's fault-free stand-in over data with DATA's malformed records (its data set is
    `app.dataset`), built once for both backends."""
    built = {}

    def get(key: str):
        if key not in built:
            make = load_object(SOURCES[key].simulator)
            built[key] = make(seed=SEED, scenario=SCENARIO, faults=DATA)
        return built[key]

    return get


@pytest.fixture
def clean_engine(engine, request, tmp_path):
    """A second empty warehouse on the backend of `engine`, for the fault-free run."""
    if engine.dialect.name == "sqlite":
        twin = make_engine(f"sqlite:///{tmp_path / 'clean.db'}")
        upgrade(twin)
        yield twin
        twin.dispose()
        return
    from tests.pg import create_database, drop_database

    server = request.getfixturevalue("pg_server")
    url = create_database(server, "t")
    twin = sa.create_engine(url)
    try:
        upgrade(twin)
        yield twin
    finally:
        twin.dispose()
        drop_database(server, url)


def use_page_size(monkeypatch, key: str, size: int) -> None:
    """The source's connector asks for pages of ``size`` records (where it has a page size)."""
    connector = load_object(SOURCES[key].connector)
    if "page_size" in inspect.signature(connector).parameters:
        init = functools.partialmethod(connector.__init__, page_size=size)
        monkeypatch.setattr(connector, "__init__", init)


def sync_until_it_succeeds(key: str, engine, base_url: str, monkeypatch) -> list[TransientError]:
    """Re-run the sync of the window until it succeeds, as an operator (or Airflow's task
    retries) would; the failures of the runs that gave up. The first run's client gives up at
    its first fault, so a run does fail part-way; the next ones retry each call as production
    does (a run then fails only when one call fails five times in a row)."""
    failures = []
    for run in range(MAX_RUNS):
        retry_without_waiting(monkeypatch, max_attempts=1 if run == 0 else None)
        try:
            results = sync_from_stand_in(
                key, engine, base_url, since=WINDOW.start, until=WINDOW.end,
                read_timeout=READ_TIMEOUT,
            )  # fmt: skip
        except TransientError as exc:  # anything else is a fault taken for a contract break
            failures.append(exc)
            continue
        assert all(r.outcome == "succeeded" for r in results), results
        return failures
    pytest.fail(f"{key}: no successful sync in {MAX_RUNS} runs: {failures}")


def quarantine(engine) -> list[tuple[str | None, str]]:
    q = schema.rejected_records
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(q.c.source_id, q.c.reason))]


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_a_faulty_window_converges_with_exactly_the_malformed_records_quarantined(
    key, engine, clean_engine, stand_ins, monkeypatch, caplog
):
    clean = stand_ins(key)
    dataset = clean.dataset
    in_window = sum(served_if_changed_in(dataset, i, WINDOW) for i in range(len(dataset.truth)))
    use_page_size(monkeypatch, key, max(2, in_window // PAGES))
    with serve(PrefixDispatcher({f"/{key}": clean})) as base_url:
        sync_from_stand_in(key, clean_engine, base_url, since=WINDOW.start, until=WINDOW.end)

    caplog.set_level(logging.WARNING)
    faulty = simulator_module(key).make_app(dataset, WIRE)
    with serve(PrefixDispatcher({f"/{key}": faulty})) as base_url:
        failures = sync_until_it_succeeds(key, engine, base_url, monkeypatch)

    assert warehouse_digest(engine) == warehouse_digest(clean_engine)
    # The faults really happened: a run gave up, and the calls of the last one were retried.
    assert failures and "retrying" in caplog.text, faulty.injector.injected

    rows = quarantine(engine)
    expected = expected_quarantine(key, dataset)
    assert expected, f"{key}: the window holds no malformed record to quarantine"
    codes = {source_id: code for source_id, code in expected}
    got = Counter((source_id, codes.get(source_id, "not malformed")) for source_id, _ in rows)
    assert got == expected
    for source_id, reason in rows:
        code = codes[source_id]
        assert REASON_WORDS[code] in reason, (source_id, code, reason)
