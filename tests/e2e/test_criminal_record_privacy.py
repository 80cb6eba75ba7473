"""The privacy proof for criminal records: a full sync against the stand-in, which sends names,
birth dates, ID numbers, certificate numbers, certificate texts and convictions, leaves none of
them in any warehouse table or in any log line, quarantine included."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

import connectors.criminal_record
from connectors.criminal_record import CriminalRecordConnector
from connectors.rest import RetryPolicy
from lienthong import registry
from lienthong.pipeline import sync
from lienthong.settings import load
from mappings.common import LOCAL_TZ
from simulators.criminal_record import CONTENT_MARKER, build_dataset, make_app, sensitive_strings
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import count
from warehouse import schema

KEY = "criminal_record"
SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
SOURCE = registry.Source(
    key=KEY,
    title="Lý lịch tư pháp (Bộ Tư pháp)",
    protocol="SOAP",
    connector="connectors.criminal_record:CriminalRecordConnector",
    streams=(
        registry.Stream(
            "dossiers",
            "mappings.criminal_record:map_dossier",
            redact="mappings.criminal_record:redact_dossier",
        ),
    ),
    simulator="simulators.criminal_record:make_stand_in",
)
# Words of the certificate itself, in any record: none may be kept anywhere.
CONTENT_WORDS = (CONTENT_MARKER.lower(), "án tích", "hsst", "stp-lltp", "tòa án")


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    monkeypatch.setitem(registry.SOURCES, KEY, SOURCE)
    # Small pages and no waiting between retries, so that one short sync goes through session
    # renewals and retried faults, and their log lines are searched too.
    fast = functools.partial(
        CriminalRecordConnector,
        page_size=40,
        retry=RetryPolicy(max_attempts=8, initial=0, maximum=0, jitter=0),
        sleep=lambda _: None,
    )
    monkeypatch.setattr(connectors.criminal_record, "CriminalRecordConnector", fast)


class _Everything(logging.Handler):
    """Keeps every record's formatted text (traceback included) and its raw arguments."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))


@pytest.fixture
def all_logs():
    """Every log line of every logger at DEBUG, libraries (zeep, urllib3 …) included."""
    root, handler = logging.getLogger(), _Everything()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    quiet = {
        name: lg.level
        for name, lg in logging.root.manager.loggerDict.items()
        if isinstance(lg, logging.Logger) and lg.level > logging.DEBUG
    }
    for name in quiet:  # a library that set its own level must not hide anything either
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler.texts
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)


class _Wiretap:
    """WSGI middleware keeping every reply body: proof the secrets did cross the wire."""

    def __init__(self, app: Any) -> None:
        self.app, self.bodies = app, []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = b"".join(self.app(environ, start_response))
        self.bodies.append(body)
        return [body]


def warehouse_texts(engine) -> Iterator[str]:
    """Every value of every column of every table, JSON decoded so no escape hides a match."""
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if value is None:
                        continue
                    yield json.dumps(value, ensure_ascii=False, default=str)
                    if isinstance(value, str) and value[:1] in "{[":
                        try:
                            yield json.dumps(json.loads(value), ensure_ascii=False)
                        except ValueError:
                            pass


def leaks(haystack: Iterable[str], needles: set[str]) -> set[str]:
    text = "\n".join(haystack).lower()
    return {needle for needle in needles if needle.lower() in text}


def test_no_personal_data_or_certificate_content_is_stored_or_logged(engine, all_logs):
    dataset = build_dataset("small", seed=13).with_malformed(0.1, seed=2)
    needles = set().union(*(sensitive_strings(r) for r in dataset.dossiers))
    assert len(needles) > 1000  # names, birth dates, ID numbers, certificates, convictions
    tap = _Wiretap(
        make_app(
            dataset,
            Faults(error_rate=0.1, rate_limit_rate=0.05, session_ttl=3, repeat_rate=0.3, seed=4),
        )
    )
    with serve(PrefixDispatcher({f"/{KEY}": tap})) as base_url:
        results = sync(
            KEY,
            load(),
            since=SINCE,
            until=UNTIL,
            engine=engine,
            connection=stand_in_connection(base_url, KEY),
            run_id="privacy",
        )

    # Not a vacuous proof: the secrets crossed the wire, records were loaded and quarantined,
    # and the connector, the pipeline and the libraries did log.
    wire = b"".join(tap.bodies).decode()
    assert leaks([wire], needles) == needles and CONTENT_MARKER in wire
    [result] = results
    assert result.outcome == "succeeded"
    assert result.counts.rejected == len(dataset.malformed) > 0
    assert count(engine, schema.rejected_records) == len(dataset.malformed)
    assert count(engine, schema.dossiers) == len(dataset.dossiers) - len(dataset.malformed)
    assert count(engine, schema.dossier_status_history) > count(engine, schema.dossiers)
    logged = "\n".join(all_logs)
    assert "logging in again" in logged and "LayDanhSachHoSo page" in logged
    assert "retrying in" in logged and "batch=" in logged
    # The rows went through SQL that was logged: statements with their values on SQLite,
    # COPY (which logs no values) on PostgreSQL.
    assert "INSERT INTO dossiers" in logged or 'COPY "dossiers"' in logged

    stored = list(warehouse_texts(engine))
    assert leaks(stored, needles) == set()
    assert leaks(stored, set(CONTENT_WORDS)) == set()
    assert leaks(all_logs, needles) == set()
    assert leaks(all_logs, set(CONTENT_WORDS)) == set()

    # What is kept instead: the keyed hash of the ID number, the form and the purpose.
    with engine.connect() as conn:
        refs = set(conn.execute(select(schema.dossiers.c.applicant_ref)).scalars())
        attributes = conn.execute(select(schema.dossiers.c.attributes)).scalars().all()
    assert all(ref and len(ref) == 64 for ref in refs)
    assert {frozenset(a) for a in attributes} == {frozenset({"certificate_type", "purpose_code"})}
