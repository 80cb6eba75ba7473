"""The LLTP connector against its stand-in over real HTTP: session, paging, windows, faults, and
that the certificate and the requester's data never leave the connector."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from connectors.base import LOCAL_TZ, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.criminal_record import (
    KEPT_FIELDS,
    CriminalRecordConnector,
    CriminalRecordSoapClient,
    local_stamp,
    minimised_record,
)
from connectors.errors import AuthError, ContractError
from connectors.rest import RetryPolicy
from simulators.criminal_record import CONTENT_MARKER, build_dataset, make_app, sensitive_strings
from simulators.criminal_record.app import SESSION_EXPIRED, CriminalRecordApp, sort_key
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.soap import SoapFaultReply

KEY = "criminal_record"
SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
FULL = Window(SINCE, UNTIL)
FAST = RetryPolicy(max_attempts=8, initial=0, maximum=0, jitter=0)
NS = "http://lltp.moj.gov.vn/ws/lienthong/v1"


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=5)


def connection(base_url: str, password: str = "demo-secret", **extra) -> Connection:  # noqa: S107
    host, port = base_url.removeprefix("http://").split(":")
    return Connection(
        conn_id=f"lienthong_{KEY}",
        host=host,
        port=int(port),
        login="demo",
        password=password,
        schema=KEY,
        extra={"dstcode": "000.00.01.H22", **extra},
    )


def connector(base_url: str, **kwargs) -> CriminalRecordConnector:
    conn = connection(base_url, kwargs.pop("password", "demo-secret"), **kwargs.pop("extra", {}))
    return CriminalRecordConnector(conn, retry=FAST, sleep=lambda _: None, **kwargs)


def served(app: CriminalRecordApp):
    return serve(PrefixDispatcher({f"/{KEY}": app}))


def numbers(pages) -> list[str]:
    return [r["maHoSoMCDT"] for page in pages for r in page]


@pytest.mark.parametrize("page_size", [500, 37])
def test_paging_covers_every_record_once_in_order(dataset, page_size):
    app = make_app(dataset)
    with served(app) as url, connector(url, page_size=page_size) as c:
        pages = list(c.fetch("dossiers", FULL))
    assert numbers(pages) == [r["maHoSoMCDT"] for r in dataset.dossiers]
    assert all(len(p) == page_size for p in pages[:-1]) and 0 < len(pages[-1]) <= page_size
    assert app.logins == 1  # one session serves the whole sync


def test_records_keep_only_what_the_mapping_needs(dataset):
    with served(make_app(dataset)) as url, connector(url) as c:
        records = [r for page in c.fetch("dossiers", FULL) for r in page]
    assert all(set(r) <= KEPT_FIELDS | {"ketQua"} for r in records)
    issued = [r for r in records if r.get("ketQua")]
    assert issued and all(set(r["ketQua"]) == {"ngayCapPhieu"} for r in issued)
    # Values as the source spelled them, for the fields that are kept.
    by_number = {r["maHoSoMCDT"]: r for r in dataset.dossiers}
    for record in records:
        source = by_number[record["maHoSoMCDT"]]
        assert {k: v for k, v in record.items() if k != "ketQua"} == {
            k: source[k] for k in KEPT_FIELDS
        }
        if source["ketQua"]:
            assert record["ketQua"] == {"ngayCapPhieu": source["ketQua"]["ngayCapPhieu"]}
    # Nothing personal but the ID number (hashed later by the mapping), nothing of the certificate.
    text = repr(records)
    secrets = set().union(*(sensitive_strings(r) for r in dataset.dossiers))
    ids = {r["nycSoGiayTo"] for r in dataset.dossiers}
    assert CONTENT_MARKER not in text and "án tích" not in text.lower()
    assert not [s for s in secrets - ids if s in text]


def test_a_window_holds_exactly_the_records_changed_in_it(dataset):
    cut_record = dataset.dossiers[len(dataset.dossiers) // 2]
    cut = datetime.strptime(cut_record["ngayCapNhat"], "%d/%m/%Y %H:%M:%S").replace(tzinfo=LOCAL_TZ)
    with served(make_app(dataset)) as url, connector(url, page_size=50) as c:
        before = numbers(c.fetch("dossiers", Window(SINCE, cut)))
        after = numbers(c.fetch("dossiers", Window(cut, UNTIL)))
        empty = numbers(c.fetch("dossiers", Window(UNTIL, UNTIL + timedelta(days=30))))
    key = sort_key(cut_record["ngayCapNhat"])
    assert before == [r["maHoSoMCDT"] for r in dataset.dossiers if sort_key(r["ngayCapNhat"]) < key]
    assert cut_record["maHoSoMCDT"] in after  # half-open: the cut belongs to the later window
    assert before + after == [r["maHoSoMCDT"] for r in dataset.dossiers] and empty == []


def test_window_bounds_are_sent_in_local_time_to_the_second():
    assert local_stamp(datetime(2019, 3, 31, 17, 0, 0, 999, tzinfo=UTC)) == "01/04/2019 00:00:00"


def test_an_expired_session_is_renewed_once_and_the_call_repeated(dataset, caplog):
    app = make_app(dataset, Faults(session_ttl=2))
    caplog.set_level(logging.DEBUG)
    with served(app) as url, connector(url, page_size=20) as c:
        pages = list(c.fetch("dossiers", FULL))
    assert numbers(pages) == [r["maHoSoMCDT"] for r in dataset.dossiers]
    assert app.logins == -(-len(pages) // 2)  # a fresh session every two pages
    assert "session expired during LayDanhSachHoSo; logging in again" in caplog.text
    # Neither the password nor a session token reaches the log.
    assert "demo-secret" not in caplog.text
    assert not [token for token in app._sessions if token in caplog.text]


class _AlwaysExpired(CriminalRecordApp):
    def _use_session(self, request):
        raise SoapFaultReply(SESSION_EXPIRED, "session expired")


def test_a_session_expired_again_right_after_a_fresh_login_is_an_auth_error(dataset):
    app = _AlwaysExpired(dataset)
    with served(app) as url, connector(url) as c:
        with pytest.raises(AuthError, match="expired again right after a fresh login"):
            list(c.fetch("dossiers", FULL))
    assert app.logins == 2  # one renewal, not a loop


def test_wrong_credentials_are_an_auth_error_and_not_retried(dataset):
    app = make_app(dataset)
    with served(app) as url, connector(url, password="wrong") as c:
        with pytest.raises(AuthError, match="LLTP login refused for user 'demo'") as caught:
            list(c.fetch("dossiers", FULL))
    assert app.injector.calls == 1 and app.logins == 0
    assert "wrong" not in str(caught.value)


def test_an_agency_the_account_may_not_read_is_an_auth_error(dataset):
    app = make_app(dataset)
    with served(app) as url, connector(url, extra={"madonvi": "000.00.01.H99"}) as c:
        with pytest.raises(AuthError, match="may not read this agency"):
            list(c.fetch("dossiers", FULL))
    assert app.injector.calls == 1


def test_a_bad_parameter_is_a_contract_error_and_not_retried(dataset):
    app = make_app(dataset)
    with served(app) as url:
        client = CriminalRecordSoapClient.for_connection(
            connection(url),
            KEY,
            f"{{{NS}}}LienThongLLTPBinding",
            retry=FAST,
            sleep=lambda _: None,
        )
        with client:
            token = client.call_raw("DangNhap", maDonVi="000.00.01.H22").findtext(
                f"{{{NS}}}maPhien"
            )
            with pytest.raises(ContractError, match="ThamSoKhongHopLe"):
                client.call_raw(
                    "LayDanhSachHoSo",
                    tuNgay="2019-01-01T00:00:00",
                    denNgay="01/07/2019 00:00:00",
                    trang=1,
                    soBanGhi=10,
                    _soapheaders={"phien": {"maPhien": token}},
                )
    assert app.injector.calls == 2


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_rate=0.4, seed=3),  # SOAP Server faults and a proxy's 502/503 pages
        Faults(rate_limit_rate=0.4, seed=4),  # 429 with Retry-After
        Faults(error_rate=0.2, rate_limit_rate=0.1, session_ttl=3, seed=5),
    ],
    ids=["server_faults", "rate_limited", "mixed"],
)
def test_transient_failures_are_retried_and_converge(dataset, faults):
    app = make_app(dataset, faults)
    with served(app) as url, connector(url, page_size=25) as c:
        pages = list(c.fetch("dossiers", FULL))
    assert numbers(pages) == [r["maHoSoMCDT"] for r in dataset.dossiers]
    assert app.injector.calls > len(pages) + 1  # some calls did fail


def test_repeated_records_on_a_shifting_source_are_passed_on(dataset):
    app = make_app(dataset, Faults(repeat_rate=1.0, seed=2))
    with served(app) as url, connector(url, page_size=30) as c:
        got = numbers(c.fetch("dossiers", FULL))
    assert set(got) == {r["maHoSoMCDT"] for r in dataset.dossiers} and len(got) > len(set(got))


def _hoso(xml: str) -> etree._Element:
    return etree.fromstring(
        f'<hoSo xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{xml}</hoSo>'
    )


def test_minimising_one_record():
    record = minimised_record(
        _hoso(
            "<maHoSoMCDT>000.00.12.H22-190105-5001</maHoSoMCDT><nycHoTen>Lê Thị Lan</nycHoTen>"
            '<ngayTiepNhan xsi:nil="true"/><ngayHenTra></ngayHenTra><!-- a comment -->'
            "<trangThaiXuLy><ma>4</ma><ten>Đang xử lý</ten></trangThaiXuLy>"
            "<ketQua><soPhieuLLTP>1/19/STP</soPhieuLLTP><ngayCapPhieu>18/01/2019 15:00:00"
            "</ngayCapPhieu><noiDungPhieu>Không có án tích</noiDungPhieu></ketQua>"
            "<truongMoi>dữ liệu mới</truongMoi>"
        )
    )
    assert record == {
        "maHoSoMCDT": "000.00.12.H22-190105-5001",
        "ngayTiepNhan": None,
        "ngayHenTra": None,
        # Children where text belongs: their names only, never their content.
        "trangThaiXuLy": {"unexpected_children": ["ma", "ten"]},
        "ketQua": {"ngayCapPhieu": "18/01/2019 15:00:00"},
    }
    assert minimised_record(_hoso('<ketQua xsi:nil="true"/>')) == {"ketQua": None}
    with pytest.raises(ContractError, match="repeated"):
        minimised_record(_hoso("<loaiPhieu>1</loaiPhieu><loaiPhieu>2</loaiPhieu>"))


def test_misconfiguration_fails_early():
    base = connection("http://127.0.0.1:1")
    with pytest.raises(ConnectionNotConfigured, match="password"):
        CriminalRecordConnector(
            Connection(base.conn_id, host="127.0.0.1", login="demo", extra=base.extra)
        )
    with pytest.raises(ConnectionNotConfigured, match="madonvi"):
        CriminalRecordConnector(
            Connection(base.conn_id, host="127.0.0.1", login="demo", password="x")
        )
    with pytest.raises(ValueError, match="page_size"):
        CriminalRecordConnector(base, page_size=1001)
    with CriminalRecordConnector(base) as c:
        assert c.agency == "000.00.01.H22"
        with pytest.raises(ValueError, match="no stream"):
            c.fetch("ratings", FULL)
        with pytest.raises(ValueError, match="needs a window"):
            c.fetch("dossiers")
