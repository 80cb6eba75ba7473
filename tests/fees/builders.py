"""Builders shared by the fee tests: the registry entry, canonical records, syncs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from lienthong.pipeline import sync
from lienthong.registry import Source, Stream
from lienthong.settings import load
from mappings.canonical import Dossier, FeeLine, Payment, StatusEvent
from mappings.common import LOCAL_TZ
from simulators.standins import stand_in_connection
from warehouse.loader import Batch

# The entry the lead adds to lienthong/registry.py; the tests register it themselves.
VIETINBANK = Source(
    key="vietinbank",
    title="Cổng thanh toán phí, lệ phí Vietinbank",
    protocol="REST",
    connector="connectors.vietinbank:VietinbankConnector",
    streams=(
        Stream(
            "transactions",
            "mappings.vietinbank:map_transaction",
            redact="mappings.vietinbank:redact_transaction",
        ),
        Stream("statements", "mappings.vietinbank:map_statement"),
    ),
    simulator="simulators.vietinbank:make_stand_in",
)
SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
T0 = datetime(2019, 3, 4, 9, 0, tzinfo=LOCAL_TZ)  # a Monday


def dossier(number: str, fee: int = 50_000, received: datetime | None = T0, **over) -> Dossier:
    status = over.pop("status", 4)
    record = Dossier(
        source_id=number,
        dossier_number=number,
        procedure_code="1.001612",
        agency_code="000.00.12.H22",
        applicant_type=1,
        applicant_ref=None,
        channel=1,
        result_delivery=0,
        submitted_at=received,
        received_at=received,
        due_at=received + timedelta(days=7) if received else None,
        due_extended=False,
        ended_at=None,
        status=status,
        on_the_spot=False,
        paid_online=False,
        fee_amount=fee,
        source_updated_at=received or T0,
        history=(StatusEvent(status, received or T0),),
    )
    return replace(record, **over)


def payment(
    txn: str,
    number: str | None,
    amount: int = 50_000,
    at: datetime = T0 + timedelta(hours=1),
    **over,
) -> Payment:
    record = Payment(
        source_id=txn,
        kind="payment",
        dossier_number=number,
        agency_code="000.00.12.H22",
        amount=amount,
        currency="VND",
        paid_at=at,
        result_code="00",
        original_id=None,
        fee_lines=(FeeLine("fee", "LP1", "Lệ phí", amount),),
        verified=True,
        source_updated_at=at,
    )
    return replace(record, **over)


def refund(txn: str, original: Payment, at: datetime, kind: str = "refund") -> Payment:
    return replace(
        original,
        source_id=txn,
        kind=kind,
        original_id=original.source_id,
        paid_at=at,
        source_updated_at=at,
    )


def put(engine, records, source: str) -> None:
    """Load canonical records through the generic loader, as a sync would."""
    with Batch(engine, source=source, stream="test") as batch:
        batch.load_page(list(records))


def sync_sources(engine, base_url: str, keys=("one_stop", "vietinbank"), since=SINCE, until=UNTIL):
    results = []
    for key in keys:
        results += sync(
            key,
            load(),
            since=since,
            until=until,
            engine=engine,
            connection=stand_in_connection(base_url, key),
            run_id="test",
        )
    return results


def tampering(app, change):
    """The app with each successful JSON reply passed through ``change(path, reply)``."""

    def wrapped(environ, start_response):
        seen = {}

        def capture(status, headers, exc_info=None):
            seen.update(status=status, headers=headers)

        body = b"".join(app(environ, capture))
        if seen["status"].startswith("200"):
            reply = json.loads(body)
            change(environ["PATH_INFO"], reply)
            body = json.dumps(reply, ensure_ascii=False).encode()
        headers = [(k, v) for k, v in seen["headers"] if k.lower() != "content-length"]
        start_response(seen["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return wrapped
