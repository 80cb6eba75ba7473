"""The business registration stand-in: deterministic coherent data, and a real SOAP service."""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from datetime import datetime

import pytest
import requests
from lxml import etree
from stdnum.vn import mst

from simulators.business_registration import build_dataset, make_app, make_stand_in
from simulators.business_registration.app import NS
from simulators.business_registration.dataset import MALFORMATIONS, WIRE_STATUS
from simulators.faults import Faults
from simulators.ministry_catalogue import PLANNING_AND_INVESTMENT, procedures_of
from simulators.one_stop.scenario import TZ
from simulators.server import PrefixDispatcher, serve
from simulators.soap import PASSWORD_DIGEST, SOAP_ENV, WSSE, WSU

H1_START, H1_END = datetime(2019, 1, 1, tzinfo=TZ), datetime(2019, 7, 1, tzinfo=TZ)
DATES = ("NgayNop", "NgayTiepNhan", "NgayHenTra", "NgayQuyetDinh", "NgayTraKetQua", "NgayRutHoSo")


@pytest.fixture(scope="module")
def big():
    return build_dataset("langson-2019h1")


@pytest.fixture(scope="module")
def small():
    return build_dataset("small")


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(small):
    assert build_dataset("small") == small
    assert build_dataset("small", seed=1).dossiers != small.dossiers
    with pytest.raises(ValueError, match="unknown scenario"):
        build_dataset("atlantis")


@pytest.mark.parametrize(("scenario", "low", "high"), [("langson-2019h1", 1350, 1600)])
def test_volumes_of_the_half_year(big, scenario, low, high):
    received = [t for t in big.truth if t.received_at and H1_START <= t.received_at < H1_END]
    assert low <= len(received) <= high


def test_small_has_about_150_dossiers_in_the_half_year(small):
    received = [t for t in small.truth if t.received_at and H1_START <= t.received_at < H1_END]
    assert 130 <= len(received) <= 160


def test_records_are_coherent_timelines_as_of_the_clock(big):
    clock = big.as_of
    assert clock == H1_END
    procedures = {p.code for p in procedures_of("business_registration")}
    statuses = Counter()
    late = 0
    for record, truth in zip(big.dossiers, big.truth, strict=True):
        dates = {name: at(record.get(name)) for name in DATES}
        updated = at(record["NgayCapNhat"])
        assert record["MaThuTuc"] in procedures
        assert record["MaCoQuanDangKy"] == PLANNING_AND_INVESTMENT
        assert mst.is_valid(record["MaSoDoanhNghiep"])
        assert updated <= clock and updated >= datetime(2018, 9, 1, tzinfo=TZ)
        assert all(d is None or d <= updated for n, d in dates.items() if n != "NgayHenTra")
        received = dates["NgayTiepNhan"]
        if received is not None:
            # Received in working hours, after the submission, before the due date.
            assert received.weekday() < 5
            hm = received.hour * 60 + received.minute
            assert 7 * 60 <= hm < 11 * 60 + 30 or 13 * 60 + 30 <= hm < 17 * 60
            assert dates["NgayNop"] < received < dates["NgayHenTra"]
            assert received >= datetime(2018, 10, 1, tzinfo=TZ)
        assert truth.number == record["SoHoSo"]
        assert WIRE_STATUS[truth.status] == record["TrangThai"]
        assert truth.received_at == received and truth.updated_at == updated
        if truth.ended_at and truth.due_at and truth.ended_at.date() > truth.due_at.date():
            late += 1
        statuses[truth.status] += 1
    # Some of everything: pending, late, refused, withdrawn, stopped, handed over.
    assert {1, 3, 4, 5, 7, 8, 9, 10} <= set(statuses) and late > 10
    assert len({r["SoHoSo"] for r in big.dossiers}) == len(big.dossiers)
    keys = [(r["NgayCapNhat"], r["SoHoSo"]) for r in big.dossiers]
    assert keys == sorted(keys)


def test_some_dossiers_came_through_the_one_stop_counter(big):
    intake = [r for r in big.dossiers if r["MaHoSoMotCua"]]
    assert intake and all(r["KenhNop"] in ("TRUC_TIEP", None) for r in intake)
    assert all(r["MaHoSoMotCua"].startswith("000.00.03.H22-") for r in intake)
    assert any(len(mst.compact(r["MaSoDoanhNghiep"])) == 13 for r in big.dossiers)


def test_malformed_records_cover_every_kind(small):
    corrupted = small.with_malformed(0.05, seed=3)
    assert set(corrupted.malformed.values()) == set(MALFORMATIONS)
    assert sum(t.malformed_reason is not None for t in corrupted.truth) == len(corrupted.malformed)
    assert small.with_malformed(0.05, seed=3) == corrupted
    assert small.with_malformed(0) is small


def request_body(
    username: str = "demo",
    password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
    digest: bool = False,
    **args: str,
) -> bytes:
    params = {"TuNgay": "2018-10-01T00:00:00+07:00", "DenNgay": "2019-07-01T00:00:00+07:00"}
    params |= {"Trang": "1", "SoBanGhi": "1000"} | args
    if digest:
        nonce, created = b"0123456789abcdef", "2019-07-01T00:00:00Z"
        value = base64.b64encode(
            hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324
        ).decode()
        secret = (
            f'<w:Password Type="{PASSWORD_DIGEST}">{value}</w:Password>'
            f"<w:Nonce>{base64.b64encode(nonce).decode()}</w:Nonce>"
            f'<u:Created xmlns:u="{WSU}">{created}</u:Created>'
        )
    else:
        secret = f"<w:Password>{password}</w:Password>"
    fields = "".join(f"<b:{k}>{v}</b:{k}>" for k, v in params.items())
    return (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:w="{WSSE}" xmlns:b="{NS}"><s:Header>'
        f"<w:Security><w:UsernameToken><w:Username>{username}</w:Username>{secret}"
        f"</w:UsernameToken></w:Security></s:Header><s:Body><b:LayDanhSachHoSo>{fields}"
        "</b:LayDanhSachHoSo></s:Body></s:Envelope>"
    ).encode()


@pytest.fixture(scope="module")
def service(small):
    with serve(PrefixDispatcher({"/business_registration": make_app(small)})) as url:
        yield f"{url}/business_registration"


def post(url: str, body: bytes) -> tuple[int, etree._Element]:
    reply = requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
    return reply.status_code, etree.fromstring(reply.content)


def fault_code(root: etree._Element) -> str:
    return root.findtext(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault/faultcode")


def test_the_wsdl_is_served_with_the_address_of_the_mount(service):
    reply = requests.get(f"{service}?wsdl", timeout=10)
    assert reply.status_code == 200
    root = etree.fromstring(reply.content)
    (address,) = root.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == service


@pytest.mark.parametrize("digest", [False, True])
def test_a_list_call_answers_a_page(service, small, digest):
    status, root = post(service, request_body(digest=digest, SoBanGhi="50"))
    assert status == 200
    reply = root.find(f"{{{SOAP_ENV}}}Body/{{{NS}}}LayDanhSachHoSoResponse")
    assert reply.findtext(f"{{{NS}}}TongSoBanGhi") == str(len(small.dossiers))
    assert len(reply.find(f"{{{NS}}}DanhSachHoSo")) == 50


@pytest.mark.parametrize(
    "credentials",
    [{"password": "wrong"}, {"username": "other"}, {"password": "wrong", "digest": True}],
)
def test_bad_credentials_get_an_authentication_fault(service, credentials):
    status, root = post(service, request_body(**credentials))
    assert status == 500 and fault_code(root) == "wsse:FailedAuthentication"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"Trang": "0"}, "Trang"),
        ({"SoBanGhi": "1001"}, "SoBanGhi"),
        ({"TuNgay": "2019-13-01T00:00:00"}, "TuNgay"),
        ({"TuNgay": "2019-07-02T00:00:00+07:00"}, "after DenNgay"),
    ],
)
def test_bad_parameters_get_a_client_fault(service, args, message):
    status, root = post(service, request_body(**args))
    assert status == 500 and fault_code(root) == "soap:Client"
    assert message in root.findtext(".//faultstring")


def test_a_request_with_a_doctype_gets_a_client_fault(service):
    body = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + request_body()
    status, root = post(service, body)
    assert status == 500 and fault_code(root) == "soap:Client"
    assert "DOCTYPE" in root.findtext(".//faultstring")


def test_a_share_of_errors_is_answered_as_a_server_fault(small):
    app = make_app(small, Faults(error_rate=1.0, seed=1))
    seen = Counter()
    with serve(PrefixDispatcher({"/br": app})) as url:
        for _ in range(30):
            reply = requests.post(f"{url}/br", data=request_body(), timeout=10)
            kind = "fault" if b"soap:Server" in reply.content else "proxy"
            seen[(reply.status_code, kind)] += 1
    assert seen[(500, "fault")] > 0 and seen[(502, "proxy")] + seen[(503, "proxy")] > 0
    assert set(seen) <= {(500, "fault"), (502, "proxy"), (503, "proxy")}


def test_the_registry_entry_point_builds_the_stand_in():
    app = make_stand_in(seed=3, scenario="small", faults=Faults(malformed_rate=0.05, seed=2))
    assert app.dataset.malformed and app.dataset.seed == 3
