"""A reply that cannot be decoded as the contract allows — a number of 5,000 digits, NaN or
Infinity, invalid UTF-8, nesting past the limit — is a contract error like any other, over real
HTTP from the stand-in: not retried, the batch fails cleanly, the page is kept redacted when it
decoded far enough, and the CLI exits with its one line.

JSON replies: connectors/json_reply.py. SOAP replies: connectors/soap.py::parse_reply."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import datetime

import pytest
from sqlalchemy import select
from upath import UPath

from connectors import business_registration, json_reply, one_stop
from connectors.errors import ContractError
from connectors.soap import MAX_XML_DEPTH
from lienthong.cli import main
from lienthong.pipeline import sync
from lienthong.settings import load as settings_
from mappings.common import LOCAL_TZ, MappingContext
from simulators import province
from simulators.faults import Faults
from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection, stand_in_uri
from tests.conftest import TEST_KEY
from tests.helpers import BreakBodies, count
from tests.reliability.test_contract_break_kept import kept_document, personal_values
from warehouse import schema
from warehouse.loader import read_watermark

SINCE, UNTIL = datetime(2018, 10, 1, tzinfo=LOCAL_TZ), datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
ID_LIKE = re.compile(r"(?<!\d)\d{9,13}(?!\d)")
PAGE_COUNT = re.compile(rb'"TongSoTrang":(\d+)')
DEEP = json_reply.MAX_NESTING + 1


def page_count_as(value: bytes) -> Callable[[bytes], bytes]:
    return lambda body: PAGE_COUNT.sub(b'"TongSoTrang":' + value, body, count=1)


def invalid_utf8(body: bytes) -> bytes:
    # Inside a name: the bytes 0xFF 0xFE are never UTF-8.
    return body.replace(b'"ChuHoSo":"', b'"ChuHoSo":"\xff\xfe', 1)


# breaker, what the error says, what the kept page shows of the broken value (None: not kept)
BREAKS = {
    "5,000-digit number": (
        page_count_as(b"9" * 5000),
        "a number of 5,000 digits",
        "<number of 5,000 digits>",
    ),
    "NaN": (page_count_as(b"NaN"), "has NaN", "NaN"),
    "-Infinity": (page_count_as(b"-Infinity"), "has -Infinity", "-Infinity"),
    "1e999": (page_count_as(b"1e999"), r"beyond a float's range \(1e999\)", "<number of"),
    "invalid UTF-8": (invalid_utf8, r"is not valid utf-8 \(byte [\d,]+\)", None),
    f"nesting {DEEP}": (
        page_count_as(b"[" * DEEP + b"1" + b"]" * DEEP),
        f"nests deeper than {json_reply.MAX_NESTING} levels",
        None,
    ),
    "nesting 100,000": (
        page_count_as(b"[" * 100_000 + b"]" * 100_000),
        f"nests deeper than {json_reply.MAX_NESTING} levels",
        None,
    ),
}


class BreakPage2(BreakBodies):
    """Page 2 of the dossier list, broken at the byte level by ``breaker``; each page broken
    (as it was, decoded) is kept in ``broken``: one entry means the client did not retry."""

    def __init__(self, app, breaker: Callable[[bytes], bytes]) -> None:
        def change(body: bytes) -> bytes | None:
            try:
                reply = json.loads(body)
            except ValueError:
                return None
            rows = reply.get("data") if isinstance(reply, dict) else None
            if reply.get("Trang") == 2 and rows and "SoGiayToChuHoSo" in rows[0]:
                return breaker(body)
            return None

        super().__init__(app, change)

    def original(self, body: bytes):
        return json.loads(body)


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=31)


@pytest.fixture(autouse=True)
def pages_of_300(monkeypatch):
    monkeypatch.setattr(
        one_stop, "OneStopConnector", functools.partial(one_stop.OneStopConnector, page_size=300)
    )


@pytest.mark.parametrize("kind", list(BREAKS))
def test_an_undecodable_json_page_fails_its_batch_and_is_kept_when_decoded(
    engine, dataset, tmp_path, kind
):
    breaker, message, shown = BREAKS[kind]
    app = BreakPage2(make_app(dataset), breaker)
    root = UPath(tmp_path / "landing")
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:
        with pytest.raises(ContractError, match=message) as caught:
            sync(
                "one_stop",
                settings_(),
                since=SINCE,
                until=UNTIL,
                engine=engine,
                connection=stand_in_connection(base_url, "one_stop"),
                root=root,
            )
    assert len(app.broken) == 1  # a contract error: asked once, never retried
    _, document = kept_document(caught.value)
    text = json.dumps(document, ensure_ascii=False)
    assert [v for v in personal_values(app.broken) if v in text] == []
    assert ID_LIKE.search(re.sub(r"hmac:[0-9a-f]{64}", "", text)) is None  # hashes aside
    if kind in ("invalid UTF-8",):
        rows = document["page"]["data"]  # decoded with U+FFFD, then redacted as any page
        ctx = MappingContext(TEST_KEY)
        raw_rows = app.broken[0]["data"]
        assert [r["SoGiayToChuHoSo"] for r in rows] == [
            ctx.redacted_id(r["SoGiayToChuHoSo"]) for r in raw_rows
        ]
    elif shown is None:
        assert document["page"] is None and "not decoded" in document["note"]
    else:
        assert str(document["page"]["TongSoTrang"]).startswith(shown)
        assert len(document["page"]["data"]) == len(app.broken[0]["data"])

    # Nothing of the batch was loaded; the audit row says why.
    assert count(engine, schema.dossiers) == 0
    assert read_watermark(engine, "one_stop", "dossiers") is None
    lb = schema.load_batches
    with engine.connect() as conn:
        audit = dict(conn.execute(select(lb.c.stream, lb.c.outcome)).all())
    assert audit["dossiers"] == "failed"


def test_the_cli_exits_with_the_contract_error_line(dataset, tmp_path, monkeypatch, capsys):
    app = BreakPage2(make_app(dataset), page_count_as(b"9" * 5000))
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("LIENTHONG_LANDING_URL", str(tmp_path / "landing"))
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:
        monkeypatch.setenv("AIRFLOW_CONN_LIENTHONG_ONE_STOP", stand_in_uri(base_url, "one_stop"))
        code = main(["sync", "one_stop", "--since", "2018-10-01", "--until", "2019-07-01"])
    err = capsys.readouterr().err
    assert code == 2
    assert "a number of 5,000 digits" in err and "offending page kept at" in err
    assert "Traceback" not in err and "ValueError" not in err


def nested(depth: int) -> Callable[[bytes], bytes | None]:
    """The first record of the list wrapped in ``depth`` more elements."""
    open_, close = b"<x>" * depth, b"</x>" * depth

    def change(body: bytes) -> bytes | None:
        if b"<HoSo>" not in body or b"<Trang>2</Trang>" not in body:
            return None
        return body.replace(b"<HoSo>", b"<HoSo>" + open_, 1).replace(
            b"</HoSo>", close + b"</HoSo>", 1
        )

    return change


def soap_invalid_utf8(body: bytes) -> bytes | None:
    if b"<Trang>2</Trang>" not in body:
        return None
    return body.replace(b"<HoSo>", b"<HoSo>\xff\xfe", 1)


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (nested(MAX_XML_DEPTH), f"nests deeper than {MAX_XML_DEPTH} elements"),
        (nested(300), "not well-formed XML"),  # lxml's own limit (huge_tree off): 256
        (soap_invalid_utf8, "not well-formed XML"),
    ],
    ids=["nesting past 64", "nesting past 256", "invalid UTF-8"],
)
def test_an_undecodable_soap_reply_fails_its_batch_cleanly(
    engine, tmp_path, monkeypatch, breaker, message
):
    monkeypatch.setattr(
        business_registration,
        "BusinessRegistrationConnector",
        functools.partial(business_registration.BusinessRegistrationConnector, page_size=40),
    )
    app = BreakBodies(province.stand_ins("small", 23, Faults())["business_registration"], breaker)
    with serve(PrefixDispatcher({"/business_registration": app})) as base_url:
        with pytest.raises(ContractError, match=message) as caught:
            sync(
                "business_registration",
                settings_(),
                since=SINCE,
                until=UNTIL,
                engine=engine,
                connection=stand_in_connection(base_url, "business_registration"),
                root=UPath(tmp_path / "landing"),
            )
    assert len(app.broken) == 1  # not retried
    assert "offending page kept at" in str(caught.value)  # the error and a note, no XML
    assert count(engine, schema.dossiers) == 0
    assert read_watermark(engine, "business_registration", "dossiers") is None
