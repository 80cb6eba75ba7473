"""The LLTP stand-in: deterministic, coherent data sets with realistic (fake) content, a real SOAP
service over HTTP that keeps to its WSDL, and the shared fault knobs."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, time

import pytest
import requests
from lxml import etree

from connectors.soap import wsdl_path
from simulators.criminal_record import (
    CONTENT_MARKER,
    build_dataset,
    make_app,
    make_stand_in,
    sensitive_strings,
)
from simulators.criminal_record.scenario import MALFORMATIONS, TZ
from simulators.faults import Faults
from simulators.ministry_catalogue import procedures_of
from simulators.server import PrefixDispatcher, serve

NS = "http://lltp.moj.gov.vn/ws/lienthong/v1"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
H1_START, CLOCK = datetime(2019, 1, 1, tzinfo=TZ), datetime(2019, 7, 1, tzinfo=TZ)
NUMBER = re.compile(r"000\.00\.12\.H22-(\d{6})-(\d{4})")


@pytest.fixture(scope="module")
def big():
    return build_dataset("langson-2019h1")


@pytest.fixture(scope="module")
def small():
    return build_dataset("small", seed=3)


def local(stamp: str | None) -> datetime | None:
    return datetime.strptime(stamp, "%d/%m/%Y %H:%M:%S").replace(tzinfo=TZ) if stamp else None


def in_working_hours(moment: datetime) -> bool:
    clock = moment.time()
    return moment.weekday() < 5 and (
        time(7) <= clock <= time(11, 30) or time(13, 30) <= clock <= time(17)
    )


def test_the_same_scenario_and_seed_give_identical_records():
    assert build_dataset("small", seed=3) == build_dataset("small", seed=3)
    assert build_dataset("small", seed=3).dossiers != build_dataset("small", seed=4).dossiers
    with pytest.raises(ValueError, match="unknown scenario"):
        build_dataset("hanoi")


@pytest.mark.parametrize(
    "scenario, low, high", [("langson-2019h1", 1900, 2100), ("small", 130, 170)]
)
def test_volumes_received_in_h1_2019(scenario, low, high):
    truth = build_dataset(scenario).truth
    assert low <= sum(1 for t in truth if t.received_at and t.received_at >= H1_START) <= high
    assert min(t.updated_at for t in truth) >= datetime(2018, 10, 1, tzinfo=TZ)
    assert max(t.updated_at for t in truth) < CLOCK


def test_numbers_use_the_one_stop_format_and_a_range_the_one_stop_stand_in_never_uses(big):
    seen = [r["maHoSoMCDT"] for r in big.dossiers]
    assert len(set(seen)) == len(seen)
    for number in seen:
        match = NUMBER.fullmatch(number)
        assert match and int(match.group(2)) >= 5001, number
        submitted = local(next(r for r in big.dossiers if r["maHoSoMCDT"] == number)["ngayNopHoSo"])
        assert match.group(1) == submitted.strftime("%y%m%d")


def test_records_are_ordered_by_last_change_then_number(big):
    keys = [(local(r["ngayCapNhat"]), r["maHoSoMCDT"]) for r in big.dossiers]
    assert keys == sorted(keys)


def test_timelines_are_coherent_and_match_the_truth(big):
    codes = {p.code for p in procedures_of("criminal_record")}
    for record, truth in zip(big.dossiers, big.truth, strict=True):
        received, due = local(record["ngayTiepNhan"]), local(record["ngayHenTra"])
        issued = local((record["ketQua"] or {}).get("ngayCapPhieu"))
        returned = local(record["ngayTraKetQua"])
        assert truth.number == record["maHoSoMCDT"] and truth.agency_code == "000.00.12.H22"
        assert truth.procedure_code == record["maTTHC"] in codes
        assert truth.channel == int(record["hinhThucNop"])
        assert (truth.received_at, truth.due_at) == (received, due)
        assert truth.status == int(record["trangThaiXuLy"])
        assert truth.updated_at == local(record["ngayCapNhat"])
        assert local(record["ngayNopHoSo"]) <= (received or truth.updated_at) <= truth.updated_at
        if received is not None:
            assert in_working_hours(received) and in_working_hours(due) and received < due
        else:
            assert truth.status in (1, 3) and due is None
        if issued is not None:
            assert received < issued <= truth.updated_at and in_working_hours(issued)
            assert truth.ended_at == issued  # the first time it reached 9
        if returned is not None:
            assert issued is not None and issued < returned
        assert (truth.ended_at is None) == (truth.status not in (7, 8, 9, 10))
        assert (record["ketQua"] is not None) == (truth.status in (9, 10))


def test_the_mix_has_late_refused_withdrawn_stopped_and_pending_requests(big):
    statuses = Counter(t.status for t in big.truth)
    assert {1, 2, 3, 4, 5, 7, 8, 9, 10} <= set(statuses)
    resolved = [t for t in big.truth if t.status in (9, 10)]
    late = [t for t in resolved if t.ended_at.date() > t.due_at.date()]
    assert 0.04 < len(late) / len(resolved) < 0.15
    pending = [t for t in big.truth if t.received_at and t.ended_at is None]
    assert len(pending) > 50  # still being handled on the clock
    channels = Counter(t.channel for t in big.truth)
    assert set(channels) == {1, 2, 3} and channels[1] > channels[2] > channels[3]
    forms = Counter(r["loaiPhieu"] for r in big.dossiers)
    assert set(forms) == {"1", "2"} and forms["1"] > forms["2"]


def test_requesters_and_certificates_are_realistic_fakes_with_a_marker(big):
    issued = [r for r in big.dossiers if r["ketQua"]]
    assert all(CONTENT_MARKER in r["ketQua"]["noiDungPhieu"] for r in issued)
    convicted = [r for r in issued if r["ketQua"]["thongTinAnTich"]]
    assert convicted and all("Có án tích" in r["ketQua"]["noiDungPhieu"] for r in convicted)
    assert all(
        CONTENT_MARKER in c["toiDanh"] for r in convicted for c in r["ketQua"]["thongTinAnTich"]
    )
    assert sum("Không có án tích" in r["ketQua"]["noiDungPhieu"] for r in issued) > 0.9 * len(
        issued
    )
    for r in big.dossiers:
        assert re.fullmatch(r"\d{2}/\d{2}/(19[4-9]\d|200[01])", r["nycNgaySinh"])
        assert re.fullmatch(r"020\d{9}|08\d{7}", r["nycSoGiayTo"])
        assert len(r["nycHoTen"].split()) == 3
    # Unique enough to search for: every content string belongs to one request.
    content = Counter(s for r in issued for s in sensitive_strings(r) if CONTENT_MARKER in s)
    assert content and max(content.values()) == 1


def test_malformed_copies_are_deterministic_and_cover_every_kind(small):
    bad = small.with_malformed(0.2, seed=1)
    assert bad == small.with_malformed(0.2, seed=1) and small.malformed == {}
    assert set(bad.malformed.values()) == set(MALFORMATIONS)
    assert len(bad.malformed) == round(0.2 * len(small.dossiers))
    assert sum(t.malformed_reason is not None for t in bad.truth) == len(bad.malformed)
    for key, reason in bad.malformed.items():
        if reason == "missing_key":
            assert "maHoSoMCDT" not in bad.dossiers[key]
    # Personal data stays in a corrupted record: quarantine must still redact it.
    assert all(r.get("nycHoTen") for r in bad.dossiers)


# --- the SOAP service over HTTP -------------------------------------------------------------


def envelope(
    body: str,
    session: str | None = None,
    password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
) -> bytes:
    phien = f"<l:PhienLamViec><l:maPhien>{session}</l:maPhien></l:PhienLamViec>" if session else ""
    return (
        f'<s:Envelope xmlns:s="{SOAP}" xmlns:l="{NS}" xmlns:w="{WSSE}"><s:Header>{phien}'
        f"<w:Security><w:UsernameToken><w:Username>demo</w:Username>"
        f"<w:Password>{password}</w:Password></w:UsernameToken></w:Security></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def post(url: str, body: str, **kwargs) -> requests.Response:
    return requests.post(
        url, data=envelope(body, **kwargs), headers={"Content-Type": "text/xml"}, timeout=10
    )


def login(url: str) -> str:
    reply = post(url, "<l:DangNhap><l:maDonVi>000.00.01.H22</l:maDonVi></l:DangNhap>")
    assert reply.status_code == 200
    return etree.fromstring(reply.content).findtext(f".//{{{NS}}}maPhien")


def listing(page: int = 1, size: int = 50, start: str = "01/10/2018 00:00:00") -> str:
    return (
        f"<l:LayDanhSachHoSo><l:tuNgay>{start}</l:tuNgay><l:denNgay>01/07/2019 00:00:00"
        f"</l:denNgay><l:trang>{page}</l:trang><l:soBanGhi>{size}</l:soBanGhi></l:LayDanhSachHoSo>"
    )


def faultcode(reply: requests.Response) -> str:
    return etree.fromstring(reply.content).findtext(f".//{{{SOAP}}}Fault/faultcode")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """The WSDL's inline schema, to check replies against the contract."""
    wsdl = etree.parse(str(wsdl_path("criminal_record")))
    node = wsdl.find(".//{http://www.w3.org/2001/XMLSchema}schema")
    return etree.XMLSchema(node)


def test_the_wsdl_is_served_with_the_address_of_its_mount():
    with serve(PrefixDispatcher({"/lltp/v1": make_stand_in()})) as url:
        reply = requests.get(f"{url}/lltp/v1?wsdl", timeout=10)
    assert reply.status_code == 200
    address = etree.fromstring(reply.content).find(
        ".//{http://schemas.xmlsoap.org/wsdl/soap/}address"
    )
    assert address.get("location") == f"{url}/lltp/v1"


def test_a_session_lists_pages_that_keep_to_the_schema_and_carry_the_content(small, schema):
    with serve(make_app(small)) as url:
        session = login(url)
        replies = [post(url, listing(page, 100), session=session) for page in (1, 2, 3)]
    assert [r.status_code for r in replies] == [200, 200, 200]
    payloads = [etree.fromstring(r.content).find(f"{{{SOAP}}}Body")[0] for r in replies]
    for payload in payloads:
        schema.assertValid(payload)
    assert [p.findtext(f"{{{NS}}}tongSoBanGhi") for p in payloads] == [str(len(small.dossiers))] * 3
    rows = [h for p in payloads for h in p.iter(f"{{{NS}}}hoSo")]
    assert [h.findtext(f"{{{NS}}}maHoSoMCDT") for h in rows] == [
        r["maHoSoMCDT"] for r in small.dossiers
    ]
    wire = b"".join(r.content for r in replies).decode()
    assert CONTENT_MARKER in wire and "nycHoTen" in wire  # realistic: the source does send it


def test_authentication_and_session_faults():
    app = make_stand_in(faults=Faults(session_ttl=2))
    with serve(app) as url:
        wrong = post(url, listing(), password="nope")
        missing = post(url, listing())
        session = login(url)
        used = [post(url, listing(), session=session).status_code for _ in range(3)]
        agency = post(url, "<l:DangNhap><l:maDonVi>01</l:maDonVi></l:DangNhap>")
    assert (wrong.status_code, faultcode(wrong)) == (500, "wsse:FailedAuthentication")
    assert faultcode(missing) == "soap:Client.PhienHetHan"
    assert used == [200, 200, 500]  # the session served session_ttl calls, then expired
    assert faultcode(agency) == "soap:Client.KhongCoQuyen"


@pytest.mark.parametrize(
    "body, message",
    [
        (listing(start="2018-10-01"), "tuNgay is not dd/MM/yyyy HH:mm:ss"),
        (listing(start="31/02/2019 00:00:00"), "tuNgay is not dd/MM/yyyy HH:mm:ss"),
        (listing(size=1001), "soBanGhi must be an integer 1..1000"),
        (listing(page=0), "trang must be an integer >= 1"),
        (listing(start="02/07/2019 00:00:00"), "tuNgay is after denNgay"),
    ],
)
def test_bad_parameters_are_client_faults(body, message):
    with serve(make_stand_in()) as url:
        reply = post(url, body, session=login(url))
    assert faultcode(reply) == "soap:Client.ThamSoKhongHopLe"
    assert message in etree.fromstring(reply.content).findtext(f".//{{{SOAP}}}Fault/faultstring")


def test_server_faults_and_proxy_errors_are_deterministic():
    def fates(seed: int) -> list[tuple[int, str | None]]:
        with serve(
            make_stand_in(faults=Faults(error_rate=0.5, rate_limit_rate=0.2, seed=seed))
        ) as url:
            replies = [
                post(url, "<l:DangNhap><l:maDonVi>000.00.01.H22</l:maDonVi></l:DangNhap>")
                for _ in range(30)
            ]
        return [(r.status_code, r.headers.get("Retry-After")) for r in replies]

    first = fates(8)
    assert first == fates(8)
    statuses = Counter(status for status, _ in first)
    assert {200, 429, 500} <= set(statuses) and statuses[502] + statuses[503] > 0
    assert all(retry == "1" for status, retry in first if status == 429)


def test_a_server_fault_is_a_soap_server_fault():
    with serve(make_stand_in(faults=Faults(error_rate=1.0, seed=1))) as url:
        replies = [post(url, listing()) for _ in range(12)]
    soap_faults = [r for r in replies if r.status_code == 500]
    assert soap_faults and all(faultcode(r) == "soap:Server" for r in soap_faults)


def test_malformed_rate_corrupts_a_fixed_subset_served_as_is():
    app = make_stand_in(faults=Faults(malformed_rate=0.1, seed=6))
    assert app.dataset.malformed == build_dataset("small").with_malformed(0.1, 6).malformed
    with serve(app) as url:
        reply = post(url, listing(size=1000), session=login(url))
    assert reply.text.count("<hoSo>") == len(app.dataset.dossiers)
    assert "31/02/2019 25:00:00" in reply.text or "<loaiPhieu>3</loaiPhieu>" in reply.text


def test_repeat_rate_repeats_the_previous_pages_tail(small):
    app = make_app(small, Faults(repeat_rate=1.0, seed=1))
    with serve(app) as url:
        session = login(url)
        pages = [post(url, listing(page, 40), session=session) for page in (1, 2)]
    first, second = (
        [
            h.findtext(f"{{{NS}}}maHoSoMCDT")
            for h in etree.fromstring(p.content).iter(f"{{{NS}}}hoSo")
        ]
        for p in pages
    )
    assert len(first) == 40 and 40 < len(second) <= 43 and second[0] in first
