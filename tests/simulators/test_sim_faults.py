"""Fault knobs: parsing, determinism, and what a client sees over HTTP."""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import time
from collections import Counter
from datetime import datetime
from urllib.parse import urlsplit

import pytest
import requests

from connectors.base import Window
from connectors.errors import TransientError
from lienthong.registry import SOURCES, load_object
from mappings.common import LOCAL_TZ
from simulators.faults import Cut, FaultInjector, Faults, pending_cut
from simulators.one_stop import build_dataset, make_app
from simulators.one_stop.scenario import MALFORMATIONS
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import retry_without_waiting

FULL = {"TuNgay": "20180101000000", "DenNgay": "20190701000000"}


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=2019)


def login(base_url: str) -> str:
    reply = requests.post(
        f"{base_url}/api/login",
        json={"username": "demo", "password": "demo-secret"},
        headers={"dstcode": "x"},
        timeout=10,
    )
    return reply.json()["session"]


def call(base_url: str, session: str, service: str, **params) -> requests.Response:
    body = {"session": session, "madonvi": "x", "service": service, **params}
    return requests.post(f"{base_url}/api/service", json=body, timeout=10)


def fetch_with_retries(base_url: str, size: int = 100) -> tuple[list[dict], Counter]:
    """A persistent client: retries transient failures, logs in again on an expired session."""
    session, rows, page, seen = login(base_url), [], 1, Counter()
    while True:
        reply = call(base_url, session, "LayDanhSachHoSo", Trang=page, SoBanGhi=size, **FULL)
        seen[reply.status_code] += 1
        if reply.status_code == 401:
            session = login(base_url)
            continue
        if reply.status_code != 200:
            continue
        body = reply.json()
        rows += body["data"]
        if page >= body["TongSoTrang"]:
            return rows, seen
        page += 1


def test_parse_reads_known_knobs_and_round_trips():
    faults = Faults.parse(" error_rate=0.1, rate_limit_rate=0.05,latency=0.2,session_ttl=5,seed=7")
    assert faults == Faults(
        error_rate=0.1, rate_limit_rate=0.05, latency=0.2, session_ttl=5, seed=7
    )
    assert Faults.parse(str(faults)) == faults
    assert Faults.parse("") == Faults()
    cuts = Faults.parse("reset_rate=0.05,truncate_rate=0.1,bad_signature_rate=0.2")
    assert (cuts.reset_rate, cuts.truncate_rate, cuts.bad_signature_rate) == (0.05, 0.1, 0.2)
    assert Faults.parse(str(cuts)) == cuts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("error_rate=0.1,explode=1", "explode"),
        ("error_rate", "no value"),
        ("error_rate=lots", "not a number"),
        ("error_rate=1.5", "fraction"),
        ("error_rate=0.7,rate_limit_rate=0.5", "exceeds"),
        ("error_rate=0.5,reset_rate=0.3,truncate_rate=0.3", "exceeds"),
        ("reset_rate=-0.1", "fraction"),
        ("truncate_rate=2", "fraction"),
        ("bad_signature_rate=1.5", "fraction"),
        ("session_ttl=-1", "negative"),
    ],
)
def test_parse_rejects_bad_text(text, message):
    with pytest.raises(ValueError, match=message):
        Faults.parse(text)


def test_injector_is_deterministic_for_a_seed():
    def statuses(seed: int) -> list[int]:
        injector = FaultInjector(Faults(error_rate=0.3, rate_limit_rate=0.2, seed=seed))
        return [f.status if (f := injector.next_failure()) else 200 for _ in range(200)]

    assert statuses(1) == statuses(1)
    assert statuses(1) != statuses(2)
    assert set(statuses(1)) == {200, 429, 500, 502, 503}


def test_error_rate_answers_5xx_and_spares_login(dataset):
    with serve(make_app(dataset, Faults(error_rate=1.0))) as base_url:
        session = login(base_url)
        statuses = {call(base_url, session, "LayDanhMucCoQuan").status_code for _ in range(12)}
        assert statuses <= {500, 502, 503} and len(statuses) > 1


def test_rate_limit_answers_429_with_retry_after(dataset):
    with serve(make_app(dataset, Faults(rate_limit_rate=1.0))) as base_url:
        reply = call(base_url, login(base_url), "LayDanhMucCoQuan")
        assert reply.status_code == 429 and reply.headers["Retry-After"] == "1"


def test_latency_delays_each_call(dataset):
    with serve(make_app(dataset, Faults(latency=0.2))) as base_url:
        session = login(base_url)
        started = time.perf_counter()
        call(base_url, session, "LayDanhMucCoQuan")
        assert time.perf_counter() - started >= 0.2


def test_a_retrying_client_gets_the_same_data_despite_faults(dataset):
    faults = Faults(error_rate=0.25, rate_limit_rate=0.1, session_ttl=4, seed=11)
    with serve(make_app(dataset, faults)) as base_url:
        rows, seen = fetch_with_retries(base_url, size=25)
    assert rows == dataset.dossiers
    assert seen[200] and seen[401] and seen[429] and seen[500] + seen[502] + seen[503]


def test_repeated_records_are_the_previous_pages_tail_and_stable(dataset):
    with serve(make_app(dataset, Faults(repeat_rate=0.5, seed=3))) as base_url:
        rows, _ = fetch_with_retries(base_url, size=50)
        session = login(base_url)
        again = [
            call(base_url, session, "LayDanhSachHoSo", Trang=p, SoBanGhi=50, **FULL).content
            for p in (2, 3, 4)
        ]
        assert again == [
            call(base_url, session, "LayDanhSachHoSo", Trang=p, SoBanGhi=50, **FULL).content
            for p in (2, 3, 4)
        ]
    assert len(rows) > len(dataset.dossiers)  # some pages repeated records
    unique = list({r["MaHoSo"]: r for r in rows}.values())
    assert unique == dataset.dossiers


def test_malformed_records_are_a_stable_subset_with_reasons(dataset):
    faults = Faults(malformed_rate=0.1, seed=5)
    first, second = make_app(dataset, faults).dataset, make_app(dataset, faults).dataset
    assert first.malformed == second.malformed
    assert len(first.malformed) == round(0.1 * len(dataset.dossiers))
    assert set(first.malformed.values()) == set(MALFORMATIONS)
    assert dataset.malformed == {}  # the clean data set is untouched
    flagged = {i for i, t in enumerate(first.truth) if t.malformed_reason}
    assert len(flagged) == len(first.malformed)
    for index in flagged:
        record, reason = first.dossiers[index], first.truth[index].malformed_reason
        clean = dataset.dossiers[index]
        if reason == "missing_key":
            assert "MaHoSo" not in record and first.malformed[index] == reason
            continue
        assert first.malformed[record["MaHoSo"]] == reason
        changed = {k for k in clean.keys() | record.keys() if record.get(k) != clean.get(k)}
        expected = {
            "bad_date": {"NgayTiepNhan", "NgayNopHoSo"},
            "unknown_status": {"TrangThaiHoSo"},
            "due_before_received": {"NgayHenTra"},
            "unknown_procedure": {"MaTTHC"},
            "unknown_channel": {"KenhThucHien"},
        }[reason]
        assert len(changed) == 1 and changed <= expected
    other_seed = make_app(dataset, Faults(malformed_rate=0.1, seed=6)).dataset
    assert other_seed.malformed != first.malformed


def test_malformed_records_are_served(dataset):
    with serve(make_app(dataset, Faults(malformed_rate=0.1, seed=5))) as base_url:
        rows, _ = fetch_with_retries(base_url)
    reasons = Counter(
        make_app(dataset, Faults(malformed_rate=0.1, seed=5)).dataset.malformed.values()
    )
    assert sum("MaHoSo" not in r for r in rows) == reasons["missing_key"]
    assert sum(r.get("TrangThaiHoSo") == "42" for r in rows) == reasons["unknown_status"]
    assert sum(r["MaTTHC"] == "9.999999" for r in rows) == reasons["unknown_procedure"]


def test_a_stall_answers_late_but_answers():
    injector = FaultInjector(Faults(stall_rate=1.0, stall=0.2))
    started = time.perf_counter()
    assert injector.next_failure() is None
    assert time.perf_counter() - started >= 0.2


def next_fate(injector: FaultInjector) -> object:
    """The status of the failure the next call gets, else the cut its reply gets, else None."""
    token = pending_cut.set(None)  # as the server does before each request
    try:
        failure = injector.next_failure()
        return failure.status if failure else pending_cut.get()
    finally:
        pending_cut.reset(token)


def test_cuts_take_their_own_band_and_leave_the_other_fates_alone():
    plain = FaultInjector(Faults(error_rate=0.2, rate_limit_rate=0.1, seed=4))
    injector = FaultInjector(
        Faults(error_rate=0.2, rate_limit_rate=0.1, reset_rate=0.2, truncate_rate=0.3, seed=4)
    )
    before = [next_fate(plain) for _ in range(400)]
    after = [next_fate(injector) for _ in range(400)]
    # The same calls fail with the same status; calls that were answered may now be cut.
    assert [f if isinstance(f, int) else None for f in after] == before
    kinds = Counter(f.kind for f in after if isinstance(f, Cut))
    assert kinds["reset"] > 40 and kinds["truncate"] > 80 and None in after
    assert all(0 <= f.keep < 1 for f in after if isinstance(f, Cut))
    assert injector.injected["reset"] == kinds["reset"]
    assert injector.injected["truncate"] == kinds["truncate"]
    assert injector.injected["error"] == sum(f in (500, 502, 503) for f in after)


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_a_cut_keeps_part_of_the_body_never_all(size):
    for keep in (0.0, 0.3, 0.999999):
        assert 0 <= Cut("reset", keep).reset_length(size) < size
        if size >= 2:
            assert 1 <= Cut("truncate", keep).truncated_length(size) < size


def raw_exchange(base_url: str, path: str, body: dict) -> tuple[bytes, dict[str, str], bytes, str]:
    """One request on its own socket; the status line, headers, body bytes received, and how the
    connection ended ("reset", "closed" or "open")."""
    parts = urlsplit(base_url)
    data = json.dumps(body).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\ndstcode: x\r\n\r\n".encode() + data
        )
        received, ending = b"", "open"
        while True:
            head, sep, rest = received.partition(b"\r\n\r\n")
            if sep:
                lines = head.decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:])
                if len(rest) >= int(headers["Content-Length"]):
                    break  # the whole announced body is here
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                ending = "reset"
                break
            if not chunk:
                ending = "closed"
                break
            received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    return lines[0].encode(), dict(line.split(": ", 1) for line in lines[1:]), rest, ending


def page_request(session: str) -> dict:
    return {"session": session, "madonvi": "x", "service": "LayDanhSachHoSo", "Trang": 1,
            "SoBanGhi": 50, **FULL}  # fmt: skip


def test_reset_sends_part_of_the_body_then_resets_the_connection(dataset):
    with serve(make_app(dataset)) as base_url:
        whole = call(base_url, login(base_url), "LayDanhSachHoSo", Trang=1, SoBanGhi=50, **FULL)
    with serve(make_app(dataset, Faults(reset_rate=1.0, seed=2))) as base_url:
        for _ in range(3):
            status, headers, body, ending = raw_exchange(
                base_url, "/api/service", page_request(login(base_url))
            )
            assert status == b"HTTP/1.1 200 OK"
            assert int(headers["Content-Length"]) == len(whole.content) > len(body)
            assert whole.content.startswith(body)
            assert ending in ("reset", "closed")  # RST; a FIN only if the RST raced the read


def test_truncate_answers_a_complete_looking_reply_cut_short(dataset):
    with serve(make_app(dataset)) as base_url:
        whole = call(base_url, login(base_url), "LayDanhSachHoSo", Trang=1, SoBanGhi=50, **FULL)
    with serve(make_app(dataset, Faults(truncate_rate=1.0, seed=2))) as base_url:
        session = login(base_url)
        parts = urlsplit(base_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        lengths = set()
        for _ in range(3):  # on one keep-alive connection: the cut reply ends where it says
            conn.request("POST", "/api/service", body=json.dumps(page_request(session)))
            reply = conn.getresponse()
            body = reply.read()
            assert reply.status == 200 and int(reply.headers["Content-Length"]) == len(body)
            assert 0 < len(body) < len(whole.content) and whole.content.startswith(body)
            lengths.add(len(body))
        conn.close()
        assert len(lengths) > 1  # cut at different places
        # Only 2xx replies are cut: an error reply comes whole.
        expired = call(base_url, "no-such-session", "LayDanhMucCoQuan")
        assert expired.status_code == 401 and expired.json()["error_code"] == 2


@pytest.fixture
def instant_retries(monkeypatch):
    retry_without_waiting(monkeypatch)


@pytest.mark.parametrize("key", sorted(SOURCES))
@pytest.mark.parametrize("knob", ["reset_rate", "truncate_rate"])
@pytest.mark.usefixtures("instant_retries")
def test_every_stand_in_has_the_wire_cuts(key, knob):
    """Implemented once, in the server: the REST and the SOAP stand-ins all cut replies, and
    the connectors see a transient failure, retried until they give up."""
    faults = Faults(**{knob: 1.0})
    app = load_object(SOURCES[key].simulator)(seed=11, scenario="small", faults=faults)
    source = SOURCES[key]
    stream = source.streams[0]
    window = Window(datetime(2019, 1, 1, tzinfo=LOCAL_TZ), datetime(2019, 2, 1, tzinfo=LOCAL_TZ))
    with serve(PrefixDispatcher({f"/{key}": app})) as base_url:
        connector = load_object(source.connector)(stand_in_connection(base_url, key))
        with connector, pytest.raises(TransientError) as failure:
            list(connector.fetch(stream.name, window if stream.windowed else None))
    expected = "truncated" if knob == "truncate_rate" else "Error calling"
    assert expected in str(failure.value)
    assert app.injector.injected[knob.removesuffix("_rate")] == failure.value.attempts


@pytest.mark.parametrize("key", sorted(SOURCES))
def test_malformed_records_do_not_depend_on_the_wire_faults(key):
    """The quarantine a sync must end with is known from the data set alone."""
    make = load_object(SOURCES[key].simulator)
    data = Faults(malformed_rate=0.1, seed=5)
    wire = dataclasses.replace(data, error_rate=0.3, reset_rate=0.1, repeat_rate=0.5)
    first = make(seed=11, scenario="small", faults=data).dataset
    again = make(seed=11, scenario="small", faults=wire).dataset
    assert first.malformed == again.malformed and len(first.malformed) > 0
    assert [t.malformed_reason for t in first.truth] == [t.malformed_reason for t in again.truth]
