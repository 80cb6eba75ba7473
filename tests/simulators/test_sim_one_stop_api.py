"""The one-stop stand-in serves docs/one_stop_api.md: login, sessions, errors, paging, windows."""

from __future__ import annotations

import pytest
import requests

from simulators.faults import Faults
from simulators.one_stop import build_dataset, make_app, make_stand_in
from simulators.server import PrefixDispatcher, serve

DSTCODE = "000.00.01.H22"
PASSWORD = "demo-secret"
FULL = {"TuNgay": "20180101000000", "DenNgay": "20190701000000"}


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=2019)


@pytest.fixture(scope="module")
def base_url(dataset):
    with serve(PrefixDispatcher({"/one_stop": make_app(dataset)})) as url:
        yield f"{url}/one_stop"


def login(base_url: str, password: str = PASSWORD, dstcode: str | None = DSTCODE):
    headers = {"dstcode": dstcode} if dstcode else {}
    return requests.post(
        f"{base_url}/api/login",
        json={"username": "demo", "password": password},
        headers=headers,
        timeout=10,
    )


def call(base_url: str, session: str | None, service: str, **params):
    body = {"session": session, "madonvi": DSTCODE, "service": service, **params}
    return requests.post(f"{base_url}/api/service", json=body, timeout=10)


@pytest.fixture(scope="module")
def session(base_url):
    return login(base_url).json()["session"]


def fetch_all(base_url: str, session: str, service: str, size: int, **params) -> list[dict]:
    rows, page = [], 1
    while True:
        reply = call(base_url, session, service, Trang=page, SoBanGhi=size, **params).json()
        assert reply["error_code"] == 0 and reply["Trang"] == page and reply["SoBanGhi"] == size
        rows += reply["data"]
        if page >= reply["TongSoTrang"]:
            assert len(rows) == reply["TongSoBanGhi"]
            return rows
        page += 1


def test_login_needs_dstcode_and_the_right_password(base_url):
    ok = login(base_url)
    assert ok.status_code == 200 and ok.json()["error_code"] == 0 and ok.json()["session"]
    assert ok.headers["Content-Type"] == "application/json; charset=utf-8"
    for reply in (login(base_url, password="wrong"), login(base_url, dstcode=None)):
        assert reply.status_code == 401 and reply.json()["error_code"] == 1
        assert reply.json()["message"]


@pytest.mark.parametrize("session_value", [None, "not-a-session"])
def test_a_call_without_a_live_session_is_refused(base_url, session_value):
    reply = call(base_url, session_value, "LayDanhMucCoQuan")
    assert reply.status_code == 401
    assert reply.json() == {"error_code": 2, "message": "session expired"}


@pytest.mark.parametrize(
    "params",
    [
        {"service": "LayGiDo"},
        {"service": "LayDanhMucTTHC", "Trang": 1, "SoBanGhi": 0},
        {"service": "LayDanhMucTTHC", "Trang": 1, "SoBanGhi": 1001},
        {"service": "LayDanhMucTTHC", "Trang": 0, "SoBanGhi": 10},
        {"service": "LayDanhMucTTHC", "SoBanGhi": 10},
        {"service": "LayDanhSachHoSo", "Trang": 1, "SoBanGhi": 10},  # no window
        {
            "service": "LayDanhSachHoSo",
            "Trang": 1,
            "SoBanGhi": 10,
            "TuNgay": "2019-01-01",
            "DenNgay": "20190201000000",
        },
        {
            "service": "LayDanhSachHoSo",
            "Trang": 1,
            "SoBanGhi": 10,
            "TuNgay": "20190231000000",
            "DenNgay": "20190301000000",
        },
        {
            "service": "LayDanhSachHoSo",
            "Trang": 1,
            "SoBanGhi": 10,
            "TuNgay": "20190301000000",
            "DenNgay": "20190201000000",
        },
    ],
)
def test_bad_parameters_are_error_3(base_url, session, params):
    service = params.pop("service")
    reply = call(base_url, session, service, **params)
    assert reply.status_code == 400 and reply.json()["error_code"] == 3


def test_madonvi_is_required(base_url, session):
    reply = requests.post(
        f"{base_url}/api/service",
        json={"session": session, "service": "LayDanhMucCoQuan"},
        timeout=10,
    )
    assert reply.status_code == 400 and reply.json()["error_code"] == 3


def test_only_post_on_known_paths(base_url):
    assert requests.get(f"{base_url}/api/service", timeout=10).status_code == 405
    assert requests.post(f"{base_url}/api/other", json={}, timeout=10).status_code == 404
    not_json = requests.post(
        f"{base_url}/api/login", data=b"{oops", headers={"dstcode": "x"}, timeout=10
    )
    assert not_json.status_code == 400 and not_json.json()["error_code"] == 3


def test_agencies_are_not_paged(base_url, session, dataset):
    reply = call(base_url, session, "LayDanhMucCoQuan").json()
    assert reply["error_code"] == 0 and reply["data"] == dataset.agencies
    assert len(reply["data"]) == 17


def test_procedure_paging_returns_each_once(base_url, session, dataset):
    rows = fetch_all(base_url, session, "LayDanhMucTTHC", 7)
    assert rows == dataset.procedures
    assert len({r["MaTTHC"] for r in rows}) == len(rows) == 62


def test_dossier_paging_covers_every_record_once_in_cursor_order(base_url, session, dataset):
    rows = fetch_all(base_url, session, "LayDanhSachHoSo", 97, **FULL)
    assert rows == dataset.dossiers
    keys = [(r["NgayCapNhat"], r["MaHoSo"]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    reply = call(base_url, session, "LayDanhSachHoSo", Trang=99, SoBanGhi=97, **FULL).json()
    assert reply["data"] == [] and reply["TongSoTrang"] == -(-len(rows) // 97)


def test_page_numbers_may_come_as_strings(base_url, session):
    reply = call(base_url, session, "LayDanhMucTTHC", Trang="2", SoBanGhi="10").json()
    assert reply["error_code"] == 0 and reply["Trang"] == 2 and len(reply["data"]) == 10


def test_windows_are_half_open_and_tile_the_range(base_url, session, dataset):
    cuts = [
        "20180101000000",
        "20181115000000",
        "20190101000000",
        "20190402083000",
        "20190628000000",
        "20190701000000",
    ]
    tiled = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        rows = fetch_all(base_url, session, "LayDanhSachHoSo", 50, TuNgay=start, DenNgay=end)
        assert all(start <= r["NgayCapNhat"] < end for r in rows)
        tiled += rows
    assert tiled == dataset.dossiers
    stamp = dataset.dossiers[100]["NgayCapNhat"]
    starting = call(
        base_url,
        session,
        "LayDanhSachHoSo",
        Trang=1,
        SoBanGhi=1000,
        TuNgay=stamp,
        DenNgay="20190701000000",
    ).json()["data"]
    ending = call(
        base_url,
        session,
        "LayDanhSachHoSo",
        Trang=1,
        SoBanGhi=1000,
        TuNgay="20180101000000",
        DenNgay=stamp,
    ).json()["data"]
    assert starting[0]["NgayCapNhat"] == stamp
    assert all(r["NgayCapNhat"] < stamp for r in ending)
    assert len(starting) + len(ending) == len(dataset.dossiers)


def test_ratings_window_on_rating_date(base_url, session, dataset):
    h1 = {"TuNgay": "20190101000000", "DenNgay": "20190701000000"}
    rows = fetch_all(base_url, session, "LayDanhSachDanhGia", 25, **h1)
    assert rows == [r for r in dataset.ratings if "20190101" <= r["NgayDanhGia"] < "20190701"]
    assert {r["MucDoHaiLong"] for r in rows} == {"1", "2", "3"}
    assert set(rows[0]) == {"MaDanhGia", "MaHoSo", "MaCoQuan", "MucDoHaiLong", "NgayDanhGia"}


def test_session_expires_after_its_ttl_and_login_renews_it(dataset):
    with serve(make_app(dataset, Faults(session_ttl=3))) as base_url:
        token = login(base_url).json()["session"]
        for _ in range(3):
            assert call(base_url, token, "LayDanhMucCoQuan").status_code == 200
        expired = call(base_url, token, "LayDanhMucCoQuan")
        assert expired.status_code == 401 and expired.json()["error_code"] == 2
        fresh = login(base_url).json()["session"]
        assert call(base_url, fresh, "LayDanhMucCoQuan").status_code == 200


def test_make_stand_in_is_the_registry_entry_point():
    app = make_stand_in(seed=7, scenario="small", faults=Faults())
    assert app.dataset.scenario == "small" and app.dataset.seed == 7
    with serve(app) as base_url:
        token = login(base_url).json()["session"]
        assert call(base_url, token, "LayDanhMucCoQuan").json()["error_code"] == 0
