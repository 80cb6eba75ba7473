"""The GPLX stand-in: deterministic, coherent data sets; docs/driving_licence_api.md served over
real HTTP with paging and the shared fault knobs; and a full sync through lienthong.pipeline whose
warehouse equals the stand-in's truth."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
import requests
from sqlalchemy import select

from connectors import driving_licence, rest
from lienthong import registry
from lienthong.pipeline import sync
from lienthong.settings import load
from mappings.canonical import Procedure
from simulators.driving_licence import build_dataset, make_app, make_stand_in
from simulators.driving_licence.scenario import MALFORMATIONS, STATUSES
from simulators.faults import Faults
from simulators.ministry_catalogue import procedures_of
from simulators.one_stop.catalogue import HOLIDAYS
from simulators.one_stop.scenario import TZ
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_connection
from tests.helpers import count, warehouse_digest
from warehouse import schema
from warehouse.loader import Batch

UNIT = "000.00.05.H22"
PASSWORD = "demo-secret"
CLOCK = datetime(2019, 7, 1, tzinfo=TZ)
FULL = {"ngayNhan1": "2018-08-01", "ngayNhan2": "2019-06-30"}
DETAIL_STAMP = "%d/%m/%Y %H:%M:%S"


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=2019)


@pytest.fixture(scope="module")
def big():
    return build_dataset("langson-2019h1", seed=2019)


@pytest.fixture(scope="module")
def base_url(dataset):
    with serve(PrefixDispatcher({"/driving_licence": make_app(dataset)})) as url:
        yield f"{url}/driving_licence"


def login(base_url: str, password: str = PASSWORD) -> requests.Response:
    body = {"username": "demo", "password": password}
    return requests.post(f"{base_url}/mapi/login", json=body, timeout=10)


def call(base_url: str, session: str | None, service: str, **params) -> requests.Response:
    body = {"session": session, "service": service, "donViXuLy": UNIT, **params}
    return requests.post(f"{base_url}/mapi/g", json=body, timeout=10)


@pytest.fixture(scope="module")
def session(base_url):
    return login(base_url).json()["session"]


def fetch_all(base_url: str, session: str, size: int, **params) -> list[dict]:
    rows, page = [], 1
    while True:
        reply = call(base_url, session, "DanhSachHoSo", page=page, pageSize=size, **params).json()
        assert reply["error_code"] == "0" and reply["page"] == page and reply["pageSize"] == size
        rows += reply["data"]
        if page >= reply["totalPages"]:
            assert len(rows) == reply["total"]
            return rows
        page += 1


def local(stamp: str) -> datetime:
    return datetime.strptime(stamp, DETAIL_STAMP).replace(tzinfo=TZ)


# -- the data sets ---------------------------------------------------------------------------


def test_the_same_scenario_and_seed_give_the_same_records(dataset):
    again = build_dataset("small", seed=2019)
    assert again.dossiers == dataset.dossiers and again.details == dataset.details
    assert again.truth == dataset.truth
    other = build_dataset("small", seed=7)
    assert other.dossiers != dataset.dossiers
    with pytest.raises(ValueError, match="unknown scenario"):
        build_dataset("hanoi")


def test_volumes(dataset, big):
    def received_in_h1(data):
        return sum(
            1 for t in data.truth if t.received_at and date(2019, 1, 1) <= t.received_at.date()
        )

    assert 140 <= len(dataset.dossiers) <= 160
    assert 2900 <= received_in_h1(big) <= 3100
    assert len(big.dossiers) < 5000


def test_records_are_ordered_keyed_and_described_by_the_truth(big):
    keys = [(r["ngayNhanHoSo"], r["maHoSo"]) for r in big.dossiers]
    assert keys == sorted(keys) and len({k for _, k in keys}) == len(keys)
    assert [t.number for t in big.truth] == [k for _, k in keys]
    assert set(big.details) == {k for _, k in keys}
    assert big.arrived == [r["ngayNhanHoSo"][:10] for r in big.dossiers]
    assert all(re.fullmatch(r"GPLX-H22-\d{6}-\d{4}", k) for _, k in keys)


def test_procedures_come_from_the_ministry_catalogue(big):
    codes = {p.code for p in procedures_of("driving_licence")}
    assert {d["MaTTHC"] for d in big.details.values()} == codes
    assert {t.agency_code for t in big.truth} == {UNIT}


def test_applicants_are_vietnamese_with_plausible_papers(big):
    rows = big.dossiers
    assert all(re.fullmatch(r"\d{9}|\d{12}", r["soCmnd"]) for r in rows)
    assert sum(
        bool(re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", r["hoTen"]))
        for r in rows
    ) > 0.8 * len(rows)
    for row in rows:
        born = date.fromisoformat(row["ngaySinh"])
        assert 18 <= (date.fromisoformat(row["ngayNhanHoSo"][:10]) - born).days // 365 <= 70
        assert re.fullmatch(r"20\d{8}", row["dvhcNoiCuTru"])
        assert row["gplxDaCap"] and row["gplxDaCap"][0]["hanggplx"] == row["hangDaoTao"]


def test_timelines_are_coherent_as_of_the_clock(big):
    for row, truth in zip(big.dossiers, big.truth, strict=True):
        detail = big.details[row["maHoSo"]]
        assert truth.updated_at <= CLOCK
        assert local(detail["NgayNop"]).strftime("%Y-%m-%dT%H:%M:%S") == row["ngayNhanHoSo"]
        if truth.received_at is None:
            assert truth.status in (1, 3) and detail["NgayTiepNhan"] == "" == row["ngayHenTraGplx"]
            continue
        received = truth.received_at
        assert received.date() >= date(2018, 10, 1) and received < CLOCK
        # Intake happens in working hours on working days.
        assert received.weekday() < 5 and received.date() not in HOLIDAYS
        assert time(7) <= received.time() < time(11, 30) or time(13, 30) <= received.time() < time(
            17
        )
        assert truth.due_at > received
        assert row["ngayHenTraGplx"] == truth.due_at.date().isoformat()
        if truth.ended_at is not None:
            assert received < truth.ended_at <= truth.updated_at
        assert detail["NgayCapNhat"] == truth.updated_at.strftime(DETAIL_STAMP)


def test_the_clock_shows_every_kind_of_dossier(big):
    statuses = Counter(t.status for t in big.truth)
    assert set(statuses) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
    assert {d["MaTrangThai"] for d in big.details.values()} == set(STATUSES)
    assert Counter(t.channel for t in big.truth).keys() == {1, 2, 3}
    late = [t for t in big.truth if t.ended_at and t.ended_at.date() > t.due_at.date()]
    on_time = [t for t in big.truth if t.ended_at and t.ended_at.date() <= t.due_at.date()]
    assert 0.03 < len(late) / len(on_time) < 0.2
    assert {d["HinhThucNhanKQ"] for d in big.details.values()} == {"0", "1"}


def test_malformed_records_are_a_fixed_seed_chosen_subset(dataset):
    bad = dataset.with_malformed(0.2, seed=3)
    assert bad.malformed == dataset.with_malformed(0.2, seed=3).malformed
    assert len(bad.malformed) == round(0.2 * len(dataset.dossiers))
    assert set(bad.malformed.values()) <= set(MALFORMATIONS)
    assert {t.malformed_reason for t in bad.truth} - {None} == set(bad.malformed.values())
    assert dataset.malformed == {} and all(t.malformed_reason is None for t in dataset.truth)
    assert bad.arrived == dataset.arrived  # corrupting a row never moves it in the list


# -- the API ---------------------------------------------------------------------------------


def test_login_needs_the_right_password(base_url):
    ok = login(base_url)
    assert ok.status_code == 200 and ok.json()["error_code"] == "0" and ok.json()["session"]
    assert ok.headers["Content-Type"] == "application/json; charset=utf-8"
    wrong = login(base_url, password="wrong")
    assert wrong.status_code == 200 and wrong.json()["error_code"] == "1"


@pytest.mark.parametrize("token", [None, "not-a-session"])
def test_a_call_without_a_live_session_is_error_2(base_url, token):
    reply = call(base_url, token, "TraCuuHoSo", mahoso="x")
    assert reply.status_code == 200 and reply.json()["error_code"] == "2"


@pytest.mark.parametrize(
    "params",
    [
        {"service": "LayGiDo"},
        {"service": "DanhSachHoSo"},
        {"service": "DanhSachHoSo", "ngayNhan1": "01/01/2019", "ngayNhan2": "2019-01-31"},
        {"service": "DanhSachHoSo", "ngayNhan1": "2019-02-30", "ngayNhan2": "2019-03-01"},
        {"service": "DanhSachHoSo", "ngayNhan1": "2019-03-01", "ngayNhan2": "2019-02-01"},
        {"service": "DanhSachHoSo", **FULL, "page": 1},
        {"service": "DanhSachHoSo", **FULL, "page": 0, "pageSize": 10},
        {"service": "DanhSachHoSo", **FULL, "page": 1, "pageSize": 501},
        {"service": "TraCuuHoSo"},
        {"service": "TraCuuHoSo", "mahoso": 7},
        {"service": "TraCuuHoSo", "mahoso": "x", "donViXuLy": "000.00.12.H22"},
    ],
)
def test_bad_requests_are_error_3(base_url, session, params):
    reply = call(base_url, session, **params)
    assert reply.status_code == 200 and reply.json()["error_code"] == "3"
    assert reply.json()["result"]


def test_only_post_on_known_paths(base_url):
    assert requests.get(f"{base_url}/mapi/g", timeout=10).status_code == 405
    assert requests.post(f"{base_url}/mapi/x", json={}, timeout=10).status_code == 404
    not_json = requests.post(f"{base_url}/mapi/login", data=b"{oops", timeout=10)
    assert not_json.json()["error_code"] == "3"


def test_paging_covers_the_range_once_in_order(base_url, session, dataset):
    assert fetch_all(base_url, session, 13, **FULL) == dataset.dossiers
    reply = call(base_url, session, "DanhSachHoSo", page=99, pageSize=13, **FULL).json()
    assert reply["data"] == [] and reply["totalPages"] == -(-len(dataset.dossiers) // 13)


def test_without_paging_the_whole_range_comes_at_once(base_url, session, dataset):
    reply = call(base_url, session, "DanhSachHoSo", **FULL).json()
    assert reply == {"error_code": "0", "data": dataset.dossiers}


def test_the_receive_date_range_is_inclusive_and_tiles(base_url, session, dataset):
    days = sorted(set(dataset.arrived))
    middle = days[len(days) // 2]
    one_day = fetch_all(base_url, session, 50, ngayNhan1=middle, ngayNhan2=middle)
    assert one_day and all(r["ngayNhanHoSo"].startswith(middle) for r in one_day)
    before = fetch_all(base_url, session, 50, ngayNhan1="2018-01-01", ngayNhan2=middle)
    after_day = date.fromordinal(date.fromisoformat(middle).toordinal() + 1).isoformat()
    after = fetch_all(base_url, session, 50, ngayNhan1=after_day, ngayNhan2="2019-12-31")
    assert before + after == dataset.dossiers


def test_the_detail_of_a_dossier(base_url, session, dataset):
    number = dataset.dossiers[10]["maHoSo"]
    reply = call(base_url, session, "TraCuuHoSo", mahoso=number).json()
    assert reply == {"error_code": "0", "data": [dataset.details[number]]}
    detail = reply["data"][0]
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", detail["NgayNop"])
    missing = call(base_url, session, "TraCuuHoSo", mahoso="GPLX-H22-000000-0000").json()
    assert missing == {"error_code": "0", "data": []}


def test_make_stand_in_is_the_registry_entry_point():
    app = make_stand_in(seed=7, scenario="small", faults=Faults())
    assert app.dataset.scenario == "small" and app.dataset.seed == 7
    with serve(app) as url:
        token = login(url).json()["session"]
        assert call(url, token, "DanhSachHoSo", **FULL).json()["error_code"] == "0"


# -- faults ----------------------------------------------------------------------------------


def test_the_session_expires_after_its_ttl(dataset):
    with serve(make_app(dataset, Faults(session_ttl=3))) as url:
        token = login(url).json()["session"]
        for _ in range(3):
            assert call(url, token, "TraCuuHoSo", mahoso="x").json()["error_code"] == "0"
        assert call(url, token, "TraCuuHoSo", mahoso="x").json()["error_code"] == "2"
        fresh = login(url).json()["session"]
        assert call(url, fresh, "TraCuuHoSo", mahoso="x").json()["error_code"] == "0"


def test_errors_and_rate_limits_fail_transiently_and_never_change_data(dataset):
    number = dataset.dossiers[0]["maHoSo"]
    with serve(make_app(dataset, Faults(error_rate=0.3, rate_limit_rate=0.2, seed=5))) as url:
        token = login(url).json()["session"]
        replies = [call(url, token, "TraCuuHoSo", mahoso=number) for _ in range(60)]
    statuses = Counter(r.status_code for r in replies)
    assert statuses.keys() == {200, 429, 500, 502, 503}
    assert all(r.headers["Retry-After"] == "1" for r in replies if r.status_code == 429)
    assert len({r.content for r in replies if r.status_code == 200}) == 1


def test_repeats_bring_back_the_previous_pages_tail(dataset):
    with serve(make_app(dataset, Faults(repeat_rate=1.0, seed=2))) as url:
        token = login(url).json()["session"]
        first = call(url, token, "DanhSachHoSo", page=1, pageSize=20, **FULL).json()["data"]
        second = call(url, token, "DanhSachHoSo", page=2, pageSize=20, **FULL).json()["data"]
    assert first == dataset.dossiers[:20]
    repeated = len(second) - 20
    assert 1 <= repeated <= 3 and second[:repeated] == first[-repeated:]
    assert second[repeated:] == dataset.dossiers[20:40]


def test_malformed_rate_serves_the_corrupted_subset(dataset):
    app = make_app(dataset, Faults(malformed_rate=0.1, seed=4))
    assert app.dataset.malformed == dataset.with_malformed(0.1, 4).malformed
    with serve(app) as url:
        token = login(url).json()["session"]
        rows = call(url, token, "DanhSachHoSo", **FULL).json()["data"]
    assert rows == app.dataset.dossiers != dataset.dossiers


# -- a full sync ---------------------------------------------------------------------------

KEY = "driving_licence"
SOURCE = registry.Source(
    key=KEY,
    title="Giấy phép lái xe — GPLX (Bộ Giao thông vận tải)",
    protocol="REST",
    connector="connectors.driving_licence:DrivingLicenceConnector",
    streams=(
        registry.Stream(
            "dossiers",
            "mappings.driving_licence:map_dossier",
            redact="mappings.driving_licence:redact_dossier",
        ),
    ),
    simulator="simulators.driving_licence:make_stand_in",
    lookback=timedelta(days=1),
)
SINCE = datetime(2018, 10, 1, tzinfo=TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=TZ)


@pytest.fixture
def registered(monkeypatch):
    """The source as the registry will name it (the entry itself belongs to the registry)."""
    monkeypatch.setitem(registry.SOURCES, KEY, SOURCE)


def serve_dataset(dataset, faults: Faults | None = None):
    return serve(PrefixDispatcher({f"/{KEY}": make_app(dataset, faults or Faults())}))


def run_sync(engine, base_url, since=SINCE, until=UNTIL):
    return sync(
        KEY,
        load(),
        since=since,
        until=until,
        engine=engine,
        connection=stand_in_connection(base_url, KEY),
        run_id="test",
    )


# Warehouse column -> the truth's field that it must equal.
COMPARED = {
    "agency_code": "agency_code",
    "procedure_code": "procedure_code",
    "channel": "channel",
    "received_at": "received_at",
    "due_at": "due_at",
    "ended_at": "ended_at",
    "status": "status",
    "source_updated_at": "updated_at",
}


def warehouse_rows(engine) -> dict[str, tuple]:
    d = schema.dossiers
    query = select(d.c.source_id, *(d.c[c] for c in COMPARED)).where(d.c.source == KEY)
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def truth_rows(truth) -> dict[str, tuple]:
    return {t.number: tuple(getattr(t, name) for name in COMPARED.values()) for t in truth}


@pytest.mark.usefixtures("registered")
def test_the_warehouse_equals_the_stand_ins_truth(engine, dataset):
    with serve_dataset(dataset) as base_url:
        results = run_sync(engine, base_url)

    assert [(r.stream, r.outcome) for r in results] == [("dossiers", "succeeded")]
    assert results[0].counts.read == len(dataset.dossiers) == results[0].counts.inserted
    assert warehouse_rows(engine) == truth_rows(dataset.truth)
    with engine.connect() as conn:
        d, h = schema.dossiers, schema.dossier_status_history
        attributes = conn.execute(select(d.c.attributes)).scalars().all()
        history = conn.execute(
            select(d.c.source_id, h.c.status).join(d, d.c.id == h.c.dossier_id)
        ).all()
    assert all(set(a) <= {"licence_class", "reason_code"} for a in attributes)
    current = {(t.number, t.status) for t in dataset.truth}
    assert current <= set(history)  # every dossier's current status is in its history


@pytest.mark.usefixtures("registered")
def test_consecutive_windows_load_what_one_window_loads(tmp_path, dataset):
    from warehouse.db import make_engine, upgrade

    once, twice = (make_engine(f"sqlite:///{tmp_path / n}.db") for n in ("once", "twice"))
    for e in (once, twice):
        upgrade(e)
    middle = datetime(2019, 4, 1, tzinfo=TZ)
    with serve_dataset(dataset) as base_url:
        run_sync(once, base_url)
        run_sync(twice, base_url, until=middle)
        # From the watermark: dossiers received up to 60 days before the window that changed in
        # it are found by the look-back.
        later = run_sync(twice, base_url, since=None)
        again = run_sync(twice, base_url, since=middle - SOURCE.lookback)
    start = middle - SOURCE.lookback
    changed = [t for t in dataset.truth if t.updated_at >= start]
    assert later[0].counts.read == len(changed)
    assert any(t.received_at and t.received_at < start for t in changed)
    assert warehouse_digest(twice) == warehouse_digest(once)
    assert again[0].counts.read == again[0].counts.unchanged == len(changed)


REASONS = {  # the stand-in's corruption -> the mapping's rejection reason
    "missing_key": "missing dossier number (maHoSo)",
    "missing_detail": "missing detail",
    "bad_list_date": "(expected yyyy-MM-ddTHH:mm:ss)",
    "bad_day_date": "(expected yyyy-MM-dd)",
    "bad_detail_date": "(expected dd/MM/yyyy HH:mm:ss)",
    "unknown_status": "unknown status code MaTrangThai='42'",
    "due_before_received": "due date before receive date",
    "unknown_channel": "unknown channel code HinhThucNop='7'",
}


def load_catalogue(engine) -> None:
    """The ministry's procedures as the province's catalogue lists them."""
    with Batch(engine, source="one_stop", stream="procedures", window=None, run_id="t") as batch:
        batch.load_page(
            [
                Procedure(
                    p.code,
                    p.name,
                    p.field_code,
                    p.field_name,
                    p.agency_code,
                    p.duration,
                    "day",
                    "level_3",
                    p.fee,
                )
                for p in procedures_of(KEY)
            ]
        )


@pytest.mark.usefixtures("registered")
def test_malformed_records_are_quarantined_without_personal_data(sqlite_engine, dataset):
    corrupted = dataset.with_malformed(0.25, seed=3)
    assert set(corrupted.malformed.values()) == {*REASONS, "unknown_procedure"}
    flagged = {k for k, v in corrupted.malformed.items() if v == "unknown_procedure"}
    rejected = {k: v for k, v in corrupted.malformed.items() if k not in flagged}
    load_catalogue(sqlite_engine)
    with serve_dataset(corrupted) as base_url:
        results = run_sync(sqlite_engine, base_url)

    assert results[0].outcome == "succeeded" and results[0].counts.rejected == len(rejected)
    q, d = schema.rejected_records, schema.dossiers
    with sqlite_engine.connect() as conn:
        rows = conn.execute(select(q.c.source_id, q.c.reason, q.c.payload)).all()
        flagged_rows = set(
            conn.execute(
                select(d.c.source_id).where(d.c.quality_flags == "unknown_procedure")
            ).scalars()
        )
    assert flagged_rows == flagged
    got = Counter(next(k for k, v in REASONS.items() if v in reason) for _, reason, _ in rows)
    assert got == Counter(rejected.values())
    for source_id, reason, _ in rows:
        if source_id is not None:
            assert REASONS[rejected[source_id]] in reason
    by_number = {r["maHoSo"]: r for r in dataset.dossiers}
    for source_id, _, payload in rows:
        stored = json.loads(payload)
        original = by_number.get(source_id) or next(
            r for r in dataset.dossiers if r["ngayNhanHoSo"] == stored["ngayNhanHoSo"]
        )
        for personal in ("hoTen", "ngaySinh", "soCmnd", "dvhcNoiCuTru"):
            assert original[personal] not in payload
        assert original["gplxDaCap"][0]["sogplx"] not in payload
    valid = [t for t in corrupted.truth if t.malformed_reason in (None, "unknown_procedure")]
    assert count(sqlite_engine, d) == len(valid)
    expected = truth_rows(valid)
    for number in flagged:  # loaded as the source named it, and flagged
        expected[number] = (expected[number][0], "9.999999", *expected[number][2:])
    assert warehouse_rows(sqlite_engine) == expected


@pytest.mark.usefixtures("registered")
def test_faults_on_the_wire_converge_to_the_fault_free_warehouse(tmp_path, monkeypatch, dataset):
    from warehouse.db import make_engine, upgrade

    # No real sleeping between retries: the faults are many, the backoff is not under test.
    monkeypatch.setattr(
        rest, "RetryPolicy", functools.partial(rest.RetryPolicy, initial=0, maximum=0, jitter=0)
    )
    # Small pages, so that the list pages and a shifting list's repeats happen too.
    monkeypatch.setattr(
        driving_licence,
        "DrivingLicenceConnector",
        functools.partial(driving_licence.DrivingLicenceConnector, page_size=20),
    )
    clean, faulty = (make_engine(f"sqlite:///{tmp_path / n}.db") for n in ("clean", "faulty"))
    for e in (clean, faulty):
        upgrade(e)
    with serve_dataset(dataset) as base_url:
        run_sync(clean, base_url)
    faults = Faults(error_rate=0.15, rate_limit_rate=0.05, repeat_rate=0.5, session_ttl=5, seed=11)
    app = make_app(dataset, faults)
    with serve(PrefixDispatcher({f"/{KEY}": app})) as base_url:
        results = run_sync(faulty, base_url)
    assert results[0].outcome == "succeeded"
    assert warehouse_digest(faulty) == warehouse_digest(clean)
    # The faults did happen: a fifth of the calls failed and were repeated.
    assert app.injector.calls > 1.2 * len(dataset.dossiers)
