"""Fault knobs: parsing, determinism, and what a client sees over HTTP."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from simulators.faults import FaultInjector, Faults
from simulators.one_stop import build_dataset, make_app
from simulators.one_stop.scenario import MALFORMATIONS
from simulators.server import serve

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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("error_rate=0.1,explode=1", "explode"),
        ("error_rate", "no value"),
        ("error_rate=lots", "not a number"),
        ("error_rate=1.5", "fraction"),
        ("error_rate=0.7,rate_limit_rate=0.5", "exceeds"),
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
