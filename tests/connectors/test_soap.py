"""The shared SOAP client: retries, fault classes, hardened parsing, size bound, no secrets out."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

import pytest
import requests
import responses

from connectors.errors import AuthError, ContractError, PageShape, TransientError
from connectors.rest import RetryPolicy
from connectors.soap import (
    SOAP11_ENV,
    SOAP12_ENV,
    SoapClient,
    UnsafeXmlError,
    element_to_record,
    find_fault,
    parse_reply,
    wsdl_path,
)

NS = "http://dangkykinhdoanh.gov.vn/ws/hoso/v1"
BINDING = f"{{{NS}}}HoSoDangKyBinding"
URL = "https://dkkd.test/ws"
PASSWORD = "s3cret-Pa55"
ARGS = {
    "TuNgay": datetime(2019, 1, 1, tzinfo=UTC),
    "DenNgay": datetime(2019, 2, 1, tzinfo=UTC),
    "Trang": 1,
    "SoBanGhi": 10,
}
OK = (
    f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body>'
    f'<LayDanhSachHoSoResponse xmlns="{NS}"><Trang>1</Trang><SoBanGhi>10</SoBanGhi>'
    "<TongSoBanGhi>1</TongSoBanGhi><TongSoTrang>1</TongSoTrang><DanhSachHoSo><HoSo>"
    "<SoHoSo>DKKD-1</SoHoSo><MaSoDoanhNghiep>0100109106</MaSoDoanhNghiep>"
    "<MaThuTuc>1.005167</MaThuTuc><MaCoQuanDangKy>000.00.03.H22</MaCoQuanDangKy>"
    '<NgayTiepNhan xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
    "<TrangThai>DA_TIEP_NHAN</TrangThai><NgayCapNhat>2019-01-02T08:00:00+07:00</NgayCapNhat>"
    "</HoSo></DanhSachHoSo></LayDanhSachHoSoResponse></s:Body></s:Envelope>"
)


def fault11(code: str, text: str = "boom", declare: str = "") -> str:
    return (
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"{declare}><s:Body><s:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{text}</faultstring>"
        "</s:Fault></s:Body></s:Envelope>"
    )


WSSE_DECL = (
    ' xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/'
    'oasis-200401-wss-wssecurity-secext-1.0.xsd"'
)
FAULT12_AUTH = (
    f'<e:Envelope xmlns:e="{SOAP12_ENV}"{WSSE_DECL}><e:Body><e:Fault><e:Code>'
    "<e:Value>e:Sender</e:Value><e:Subcode><e:Value>wsse:FailedAuthentication</e:Value>"
    "</e:Subcode></e:Code><e:Reason><e:Text>bad token</e:Text></e:Reason></e:Fault></e:Body>"
    "</e:Envelope>"
)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    c = SoapClient(
        wsdl_path("business_registration"),
        URL,
        BINDING,
        username="demo",
        password=PASSWORD,
        retry=RetryPolicy(max_attempts=4, initial=0.01, maximum=30, jitter=0),
        sleep=sleeps.append,
    )
    yield c
    c.close()


def test_the_wsdl_loads_from_the_repository_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the WSDL must not be fetched")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    client = SoapClient(wsdl_path("business_registration"), URL, BINDING)
    assert client.address == URL
    with pytest.raises(FileNotFoundError):
        wsdl_path("no_such_system")


def test_a_wsdl_importing_a_remote_schema_is_refused(tmp_path):
    wsdl = wsdl_path("business_registration").read_text(encoding="utf-8")
    remote = '<xsd:import namespace="urn:x" schemaLocation="http://evil.test/x.xsd"/>'
    wsdl = wsdl.replace(
        'elementFormDefault="qualified">', 'elementFormDefault="qualified">' + remote
    )
    (tmp_path / "remote.wsdl").write_text(wsdl, encoding="utf-8")
    with responses.RequestsMock():  # any request at all would fail the test
        with pytest.raises(Exception, match="evil.test"):
            SoapClient(tmp_path / "remote.wsdl", URL, BINDING)


def test_tls_verification_cannot_be_turned_off():
    with pytest.raises(ValueError, match="cannot be turned off"):
        SoapClient(wsdl_path("business_registration"), URL, BINDING, verify=False)


@responses.activate
def test_raw_call_sends_the_username_token_and_returns_the_payload(client):
    responses.post(URL, body=OK)
    payload = client.call_raw("LayDanhSachHoSo", **ARGS)
    listing = payload.find(f"{{{NS}}}DanhSachHoSo")
    assert [element_to_record(r) for r in listing] == [
        {
            "SoHoSo": "DKKD-1",
            "MaSoDoanhNghiep": "0100109106",
            "MaThuTuc": "1.005167",
            "MaCoQuanDangKy": "000.00.03.H22",
            "NgayTiepNhan": None,
            "TrangThai": "DA_TIEP_NHAN",
            "NgayCapNhat": "2019-01-02T08:00:00+07:00",
        }
    ]
    sent = responses.calls[0].request
    assert b"<wsse:Username>demo</wsse:Username>" in sent.body
    assert sent.headers["SOAPAction"] == f'"{NS}/LayDanhSachHoSo"'
    assert b"<ns0:TuNgay>2019-01-01T00:00:00Z</ns0:TuNgay>" in sent.body


@responses.activate
def test_bound_call_gives_typed_values(client):
    responses.post(URL, body=OK)
    reply = client.call("LayDanhSachHoSo", **ARGS)
    (record,) = reply["DanhSachHoSo"]["HoSo"]
    assert reply["TongSoBanGhi"] == 1
    assert record["NgayCapNhat"].isoformat() == "2019-01-02T08:00:00+07:00"


@responses.activate
@pytest.mark.parametrize(
    "value",
    ["12a", "9" * 5000, "NaN"],
    ids=["not a number", "5,000 digits", "NaN"],
)
def test_a_bound_value_its_xsd_type_cannot_hold_is_a_contract_error(client, value):
    responses.post(URL, body=OK.replace("<TongSoBanGhi>1<", f"<TongSoBanGhi>{value}<"))
    with pytest.raises(ContractError, match="does not bind to the WSDL") as caught:
        client.call("LayDanhSachHoSo", **ARGS)
    assert len(responses.calls) == 1
    assert isinstance(caught.value.page, PageShape)  # its shape, for the pipeline to keep
    assert value not in str(caught.value.page)


@responses.activate
def test_a_server_fault_is_retried_then_the_call_succeeds(client, sleeps):
    responses.post(URL, status=500, body=fault11("soap:Server"))
    responses.post(URL, status=500, body=fault11("Server"))
    responses.post(URL, status=500, body=fault11("soap:Server.Busy"))
    responses.post(URL, body=OK)
    client.call_raw("LayDanhSachHoSo", **ARGS)
    assert len(responses.calls) == 4 and len(sleeps) == 3


@responses.activate
def test_a_subclass_can_give_its_own_fault_codes_a_meaning(sleeps):
    class Sessions(SoapClient):
        def fault_error(self, fault, where, *, status):
            if fault.codes == ("Client.PhienHetHan",):
                return AuthError("session expired")
            return super().fault_error(fault, where, status=status)

    client = Sessions(wsdl_path("business_registration"), URL, BINDING)
    responses.post(URL, status=500, body=fault11("soap:Client.PhienHetHan"))
    with pytest.raises(AuthError, match="session expired"):
        client.call_raw("LayDanhSachHoSo", **ARGS)


@responses.activate
def test_a_soap12_receiver_fault_is_retried(client, sleeps):
    body = FAULT12_AUTH.replace("e:Sender", "e:Receiver").replace(
        "wsse:FailedAuthentication", "e:Busy"
    )
    responses.post(URL, status=500, body=body)
    responses.post(URL, body=OK)
    client.call_raw("LayDanhSachHoSo", **ARGS)
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    "code", ["soap:Client", "Client", "soap:Client.Validation", "soap:VersionMismatch"]
)
@responses.activate
def test_a_client_fault_is_a_contract_error_and_not_retried(client, sleeps, code):
    responses.post(URL, status=500, body=fault11(code, "Trang must be >= 1"))
    with pytest.raises(ContractError, match="Trang must be >= 1"):
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert len(responses.calls) == 1 and sleeps == []


@pytest.mark.parametrize(
    "body",
    [
        fault11("wsse:FailedAuthentication", declare=WSSE_DECL),
        fault11("soap:Client.FailedAuthentication"),
        FAULT12_AUTH,
    ],
)
@responses.activate
def test_an_authentication_fault_is_an_auth_error_and_not_retried(client, sleeps, body):
    responses.post(URL, status=500, body=body)
    with pytest.raises(AuthError, match="FailedAuthentication"):
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert len(responses.calls) == 1


@responses.activate
def test_http_401_is_an_auth_error(client):
    responses.post(URL, status=401, body="Unauthorized")
    with pytest.raises(AuthError):
        client.call_raw("LayDanhSachHoSo", **ARGS)


@responses.activate
def test_5xx_and_timeouts_are_retried_up_to_the_bound(client, sleeps):
    responses.post(URL, status=503, body="<html><body>Service Unavailable</body></html>")
    responses.post(URL, body=requests.exceptions.ReadTimeout("slow"))
    responses.post(URL, body=requests.exceptions.ConnectionError("refused"))
    responses.post(URL, status=502, body="bad gateway")
    with pytest.raises(TransientError) as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert caught.value.attempts == 4 and len(responses.calls) == 4
    assert "gave up after 4 attempts" in str(caught.value)


@responses.activate
def test_retry_after_is_honoured(client, sleeps):
    responses.post(URL, status=429, headers={"Retry-After": "7"}, body="slow down")
    responses.post(URL, body=OK)
    client.call_raw("LayDanhSachHoSo", **ARGS)
    assert sleeps == [7]


@responses.activate
def test_a_truncated_reply_is_retried(client, sleeps):
    responses.post(URL, body=OK[: len(OK) // 2])
    responses.post(URL, body=OK)
    client.call_raw("LayDanhSachHoSo", **ARGS)
    assert len(responses.calls) == 2


@responses.activate
def test_a_reply_that_is_not_soap_is_a_contract_error(client):
    responses.post(URL, body='{"error_code": 0}', content_type="application/json")
    with pytest.raises(ContractError, match="not well-formed XML"):
        client.call_raw("LayDanhSachHoSo", **ARGS)
    responses.replace(responses.POST, URL, body="<html><body>hello</body></html>")
    with pytest.raises(ContractError, match="not a SOAP envelope"):
        client.call_raw("LayDanhSachHoSo", **ARGS)


@responses.activate
def test_an_oversized_reply_is_refused(sleeps):
    client = SoapClient(wsdl_path("business_registration"), URL, BINDING, max_reply_bytes=1000)
    responses.post(URL, body=OK + " " * 2000)
    with pytest.raises(ContractError, match="1000 bytes"):
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert len(responses.calls) == 1


ENVELOPE = f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body><x>&e;</x></s:Body></s:Envelope>'
HOSTILE = {
    "doctype": "<!DOCTYPE s:Envelope>" + ENVELOPE.replace("&e;", "1"),
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY e "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' + ENVELOPE
    ),
    "external entity": '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + ENVELOPE,
    "external dtd": '<!DOCTYPE x SYSTEM "http://evil.test/x.dtd">' + ENVELOPE.replace("&e;", "1"),
    "parameter entity": (
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://evil.test/p.dtd"> %p;]>'
        + ENVELOPE.replace("&e;", "1")
    ),
}


@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
@responses.activate
def test_a_reply_with_a_dtd_or_entities_is_refused_unparsed(client, sleeps, body, status):
    responses.post(URL, body=body, status=status)
    with pytest.raises(UnsafeXmlError, match="DOCTYPE") as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd
    assert len(responses.calls) == 1  # no DTD or entity fetched, and not retried


def test_a_doctype_hidden_in_utf16_is_refused_too():
    body = ('<?xml version="1.0" encoding="utf-16"?>' + HOSTILE["billion laughs"][21:]).encode(
        "utf-16"
    )
    with pytest.raises(UnsafeXmlError, match="DOCTYPE"):
        parse_reply(body, where="test")


def test_find_fault_reads_both_soap_versions():
    fault = find_fault(parse_reply(FAULT12_AUTH.encode(), where="t"))
    assert fault is not None and fault.codes == ("Sender", "FailedAuthentication")
    assert fault.kind == "auth" and fault.reason == "bad token"
    assert find_fault(parse_reply(fault11("soap:Server").encode(), where="t")).kind == "server"
    assert find_fault(parse_reply(OK.encode(), where="t")) is None


def test_element_to_record_handles_lists_nesting_and_refuses_repeats():
    root = parse_reply(
        b"<r><a>1</a><b><c>2</c></b><l><i>x</i><i>y</i></l><e/><w>  </w></r>", where="t"
    )
    assert element_to_record(root, list_fields=["l"]) == {
        "a": "1",
        "b": {"c": "2"},
        "l": ["x", "y"],
        "e": None,
        "w": None,
    }
    with pytest.raises(ContractError, match="repeated"):
        element_to_record(parse_reply(b"<r><a>1</a><a>2</a></r>", where="t"))


@responses.activate
def test_the_password_never_reaches_logs_or_reprs(client, caplog):
    caplog.set_level(logging.DEBUG)
    responses.post(URL, status=500, body=fault11("soap:Server", "retry please"))
    responses.post(URL, status=500, body=fault11("wsse:FailedAuthentication", declare=WSSE_DECL))
    with pytest.raises(AuthError) as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert "retrying" in caplog.text
    for text in (caplog.text, repr(client), str(caught.value), repr(client._zeep.wsse)):
        assert PASSWORD not in text
