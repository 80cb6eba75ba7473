"""The gateway connector against its stand-in over real HTTP: every reply is checked and a forged
reply fails the call; records come as the gateway signed them, with no verdict of the connector's
(their mapping verifies each one); the secret stays secret."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest

from connectors.base import LOCAL_TZ, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import AuthError, ContractError
from connectors.rest import RestClient, RetryPolicy
from connectors.vietinbank import VietinbankConnector, statement_days
from mappings import vietinbank as mapping
from mappings.canonical import FeeStatement, Rejection
from mappings.common import MappingContext
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.standins import PASSWORD, stand_in_connection
from simulators.vietinbank import Anomalies, build_dataset, make_app
from tests.conftest import TEST_KEY
from tests.fees.builders import SINCE, UNTIL, tampering

WINDOW = Window(SINCE, UNTIL)
# What the pipeline gives a mapping: the secret taken from the connection where it maps.
CTX = MappingContext(TEST_KEY, record_key=PASSWORD.encode())
OLD_VERDICT = "_lienthong_signature"  # the field extract once wrote its verdict into


def rejections(rows, mapper=mapping.map_transaction) -> dict[str, str]:
    results = [mapper(row, CTX) for row in rows]
    return {r.source_id: r.reason for r in results if isinstance(r, Rejection)}


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=5, anomalies=Anomalies(bad_signature_rate=0.05))


def connector(base_url: str, **extra) -> VietinbankConnector:
    conn = stand_in_connection(base_url, "vietinbank")
    if extra:
        conn = Connection(**{**conn.__dict__, **extra})
    fast = RetryPolicy(max_attempts=6, initial=0, maximum=0, jitter=0)
    client = RestClient.for_connection(conn, retry=fast, sleep=lambda _: None)
    return VietinbankConnector(conn, page_size=50, client=client)


def fetch_all(base_url: str, stream: str, window: Window = WINDOW, **extra) -> list[dict]:
    with connector(base_url, **extra) as c:
        return [row for page in c.fetch(stream, window) for row in page]


def served(app):
    return serve(PrefixDispatcher({"/vietinbank": app}))


def test_transactions_come_as_signed_and_their_mapping_finds_exactly_the_forged(dataset):
    with served(make_app(dataset)) as base_url:
        rows = fetch_all(base_url, "transactions")
    assert len(rows) == len(dataset.transactions)
    assert not [row for row in rows if OLD_VERDICT in row]  # the connector judges nothing
    assert all("ChuKy" in row for row in rows if dataset.forged.get(row["MaGiaoDich"]) != "missing")
    rejected = rejections(rows)
    assert set(rejected) == set(dataset.forged)
    for txn, kind in dataset.forged.items():
        expected = "missing signature" if kind == "missing" else "forged signature"
        assert expected in rejected[txn]


def test_a_verdict_sent_by_the_source_is_not_believed(dataset):
    rows = [
        {**row, OLD_VERDICT: "valid"} if row["MaGiaoDich"] in dataset.forged else row
        for row in dataset.transactions
    ]
    doctored = type(dataset)(**{**dataset.__dict__, "transactions": rows})
    with served(make_app(doctored)) as base_url:
        fetched = fetch_all(base_url, "transactions")
    assert set(rejections(fetched)) == set(dataset.forged)


@pytest.mark.parametrize(
    "change",
    [
        lambda reply: reply["DuLieu"].pop(),  # a row dropped on the way
        lambda reply: reply.update(TongSoTrang=1),  # paging cut short
        lambda reply: reply["DuLieu"].reverse(),  # rows reordered
        lambda reply: reply.update(ChuKy="0" * 64),
        lambda reply: reply.pop("ChuKy"),
    ],
    ids=["row_dropped", "paging_changed", "rows_reordered", "zero_checksum", "no_checksum"],
)
def test_a_forged_reply_fails_the_batch_cleanly(dataset, change):
    def forge(path, reply):
        if path.endswith("giao-dich") and reply.get("Trang") == 2:
            change(reply)

    with served(tampering(make_app(dataset), forge)) as base_url:
        with pytest.raises(ContractError, match="checksum"):
            fetch_all(base_url, "transactions")


def test_a_reply_to_another_request_is_refused(dataset):
    def replay(path, reply):
        if path.endswith("giao-dich"):
            reply["MaYeuCau"] = "an-older-request"

    with served(tampering(make_app(dataset), replay)) as base_url:
        with pytest.raises(ContractError, match="MaYeuCau"):
            fetch_all(base_url, "transactions")


def test_a_forged_token_reply_is_refused(dataset):
    def forge(path, reply):
        if path.endswith("xac-thuc"):
            reply["Token"] = "attacker-chosen"

    with served(tampering(make_app(dataset), forge)) as base_url:
        with pytest.raises(ContractError, match="checksum"):
            fetch_all(base_url, "transactions")


def test_a_statement_altered_in_transit_is_rejected_by_its_mapping(dataset):
    def alter(path, reply):
        if path.endswith("sao-ke"):
            for entry in reply["DanhSachSaoKe"]:
                if entry["NgaySaoKe"] == "20190104":
                    entry["NoiDung"] += "VTB0,THANH_TOAN,,X,Y,1000000,20190104100000\n"

    with served(tampering(make_app(dataset), alter)) as base_url:
        rows = fetch_all(base_url, "statements")
    assert len(rows) == len(dataset.statements)
    rejected = rejections(rows, mapping.map_statement)
    assert list(rejected) == ["20190104"] and "forged signature" in rejected["20190104"]


def test_statements_keep_their_signed_text_and_map_into_their_lines(dataset):
    with served(make_app(dataset)) as base_url:
        rows = fetch_all(base_url, "statements")
    assert [r["NgaySaoKe"] for r in rows] == [s["NgaySaoKe"] for s in dataset.statements]
    assert all(isinstance(r["NoiDung"], str) and "ChuKy" in r for r in rows)
    mapped = [mapping.map_statement(r, CTX) for r in rows]
    assert all(isinstance(m, FeeStatement) for m in mapped)
    assert [[line.transaction_id for line in m.lines] for m in mapped] == [
        [line["MaGiaoDich"] for line in s["DongSaoKe"]] for s in dataset.statements
    ]


def test_an_expired_token_is_renewed_and_the_call_repeated(dataset):
    with served(make_app(dataset, Faults(session_ttl=2, seed=1))) as base_url:
        rows = fetch_all(base_url, "transactions")
    assert len(rows) == len(dataset.transactions)


def test_transient_failures_are_retried(dataset):
    faults = Faults(error_rate=0.3, rate_limit_rate=0.1, seed=4)
    with served(make_app(dataset, faults)) as base_url:
        assert len(fetch_all(base_url, "transactions")) == len(dataset.transactions)
        assert len(fetch_all(base_url, "statements")) == len(dataset.statements)


def test_a_wrong_secret_is_refused_and_never_shown(dataset, caplog):
    caplog.set_level(logging.DEBUG)
    with served(make_app(dataset)) as base_url:
        with pytest.raises(AuthError) as err:
            fetch_all(base_url, "transactions", password="wrong-S3CRET-value")
    assert "shared secret" in str(err.value)
    assert "wrong-S3CRET-value" not in str(err.value) + caplog.text


def test_the_secret_never_reaches_logs_reprs_or_records(dataset, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "gateway-S3CRET-0123"
    with served(make_app(dataset, Faults(session_ttl=3, seed=2), secret=secret)) as base_url:
        with connector(base_url, password=None, extra={"secret": secret}) as c:
            rows = [r for page in c.fetch("transactions", WINDOW) for r in page]
            shown = repr(c) + repr(c._client.base_url)
    assert rows
    assert secret not in caplog.text + shown + json.dumps(rows, ensure_ascii=False)
    assert PASSWORD not in caplog.text


def test_the_secret_from_extra_wins_over_the_password(dataset):
    with served(make_app(dataset, secret="from-extra")) as base_url:
        rows = fetch_all(base_url, "transactions", extra={"secret": "from-extra"})
    assert len(rows) == len(dataset.transactions)


def test_a_connection_without_partner_or_secret_is_refused():
    with pytest.raises(ConnectionNotConfigured, match="shared secret"):
        VietinbankConnector(Connection("lienthong_vietinbank", host="x", login="demo"))


def test_a_window_in_the_future_yields_nothing(dataset):
    future = Window(datetime(2030, 1, 1, tzinfo=LOCAL_TZ), datetime(2030, 3, 1, tzinfo=LOCAL_TZ))
    with served(make_app(dataset)) as base_url:
        assert fetch_all(base_url, "transactions", future) == []
        assert fetch_all(base_url, "statements", future) == []


def test_statement_days_cover_the_window_in_calls_of_at_most_31_days():
    window = Window(
        datetime(2019, 1, 1, 6, tzinfo=LOCAL_TZ), datetime(2019, 3, 15, tzinfo=LOCAL_TZ)
    )
    ranges = list(statement_days(window))
    assert [(a.isoformat(), b.isoformat()) for a, b in ranges] == [
        ("2019-01-01", "2019-01-31"),
        ("2019-02-01", "2019-03-03"),
        ("2019-03-04", "2019-03-14"),  # the window ends at midnight: the 15th is not in it
    ]


def test_the_record_key_is_the_connections_shared_secret():
    conn = Connection("lienthong_vietinbank", host="x", login="demo", password="pw-secret")
    assert VietinbankConnector.record_key(conn) == b"pw-secret"
    with_extra = Connection(**{**conn.__dict__, "extra": {"secret": "from-extra"}})
    assert VietinbankConnector.record_key(with_extra) == b"from-extra"
    with pytest.raises(ConnectionNotConfigured, match="shared secret"):
        VietinbankConnector.record_key(Connection("lienthong_vietinbank", host="x", login="d"))


def test_streams_are_checked_at_the_call(dataset):
    with served(make_app(dataset)) as base_url, connector(base_url) as c:
        with pytest.raises(ValueError, match="needs a window"):
            c.fetch("transactions")
        with pytest.raises(ValueError, match="no stream"):
            c.fetch("dossiers", WINDOW)
