"""The shape of a SOAP reply, kept when it breaks the contract: its structure and the kind of each
value, allow-listed technical values as sent, and never a character of anything else."""

from __future__ import annotations

import json

import pytest
import responses
from lxml import etree

from connectors.business_registration import DIAGNOSIS as BR
from connectors.criminal_record import DIAGNOSIS as LLTP
from connectors.criminal_record import KEPT_FIELDS
from connectors.errors import ContractError, PageShape
from connectors.soap import SOAP11_ENV, SoapClient, UnsafeXmlError, parse_reply, wsdl_path
from connectors.xml_shape import CODE, COUNTER, DOSSIER_NUMBER, ShapeRules, reply_shape, shape_of
from simulators.criminal_record import CONTENT_MARKER, build_dataset, sensitive_strings
from simulators.criminal_record.app import NS as LLTP_NS
from simulators.criminal_record.app import render_record
from tests.connectors.test_soap import ARGS, BINDING, OK, URL, fault11

XSI_DECL = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def shape(xml: str, rules: ShapeRules | None = None) -> dict:
    return reply_shape(parse_reply(xml.encode(), where="test"), rules)["xml"]


@pytest.mark.parametrize(
    ("value", "marker"),
    [
        ("001190012345", "<12 digits>"),
        (" 082928345 ", "<9 digits>"),
        ("04/10/2018 07:21:41", "<date-like 99/99/9999 99:99:99>"),
        ("2018-10-03T10:19:44+07:00", "<date-like 9999-99-99T99:99:99+99:99>"),
        ("2018-10-03", "<date-like 9999-99-99>"),
        ("-12.5", "<number>"),
        ("true", "true"),
        ("Nguyễn Văn An", "<text 13 chars>"),
        ("0913833467 / 001190012345", "<text 25 chars>"),
        ("", "<empty>"),
        (None, "<empty>"),
    ],
)
def test_a_value_becomes_the_marker_of_its_shape(value, marker):
    assert shape_of(value) == marker


def test_shape_of_without_lengths():
    assert shape_of("Nguyễn Văn An", lengths=False) == "<text>"
    assert shape_of("001190012345", lengths=False) == "<12 digits>"


def test_the_structure_is_kept_and_every_value_is_a_marker():
    assert shape(
        f'<r xmlns="urn:a" {XSI_DECL}><a>1</a><b><c>Lê Văn Bình</c></b><n xsi:nil="true"/>'
        '<t kind="x 123">v</t><d/><a>2</a><a><z>3</z></a>mixed<o xmlns="urn:b"><p/></o>'
        "<q xmlns=''>0</q></r>"
    ) == {
        "{urn:a}r": {
            "#text": "<text 5 chars>",
            "a": ["<1 digits>", "<1 digits>", {"z": "<1 digits>"}],  # repeated: a list
            "b": {"c": "<text 11 chars>"},
            "n": None,  # xsi:nil
            "t": {"@kind": "<text 5 chars>", "#text": "<text 1 chars>"},
            "d": "<empty>",
            "{urn:b}o": {"p": "<empty>"},  # the namespace shown where it changes
            "{}q": "<1 digits>",
        }
    }


def test_allow_listed_values_are_kept_only_when_they_look_technical():
    rules = ShapeRules(verbatim={"trang": COUNTER, "ma": CODE, "so": DOSSIER_NUMBER, "tt": CODE})
    assert shape(
        "<r><trang>2</trang><ma>DA_TRA_KET_QUA</ma><so>000.00.12.H22-181004-5001</so>"
        "<tt>Nguyễn Văn An</tt><x>XKLD</x></r>",
        rules,
    ) == {
        "r": {
            "trang": "2",
            "ma": "DA_TRA_KET_QUA",
            "so": "000.00.12.H22-181004-5001",
            "tt": "<text 13 chars>",  # not a code: its shape only
            "x": "<text 4 chars>",  # a code, but of an element not allow-listed
        }
    }
    # An ID number under an allow-listed name is never kept as it is.
    for xml in ("<r><so>001190012345</so></r>", "<r><so>ID-001190012345</so></r>"):
        assert shape(xml, rules)["r"]["so"] in ("<12 digits>", "<15 digits>", "<text 15 chars>")
    assert shape("<r><trang>12345678</trang></r>", rules)["r"]["trang"] == "<8 digits>"


def test_only_and_opened_leave_out_what_a_source_does_not_allow():
    rules = ShapeRules(
        only={"rec": frozenset({"keep", "res"}), "res": frozenset({"date"})},
        opened=frozenset({"list", "rec", "res"}),
    )
    got = shape(
        '<list><rec id="7"><keep>1</keep><name>Lê An</name><res convicted="true">'
        "<date>01/02/2019</date>"
        "<content><item>x</item><item>y</item></content></res></rec>"
        "<rec><res>a certificate as text</res></rec><rec>some text</rec>"
        "<other><item>x</item></other><leaf>y</leaf></list>",
        rules,
    )
    assert got == {
        "list": {
            "rec": [
                {"keep": "<1 digits>", "res": {"date": "<date-like 99/99/9999>"}},
                {"res": "<not kept>"},  # text where only some children may be: none of it
                "<not kept>",
            ],
            "other": "<not kept>",  # not an element the source opens
            "leaf": "<text 1 chars>",
        }
    }


def criminal_record_page(records: list[dict]) -> str:
    head = (
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body><LayDanhSachHoSoResponse xmlns="{LLTP_NS}" '
        f"{XSI_DECL}><trang>1</trang><soBanGhi>40</soBanGhi><tongSoBanGhi>3</tongSoBanGhi>"
        "<tongSoTrang>1</tongSoTrang><danhSachHoSo>"
    )
    body = b"".join(render_record(r) for r in records).decode()
    # A broken contract may put a certificate anywhere: in the list, in an unknown record.
    moved = (
        "<thongTinAnTich><anTich><toiDanh>Trộm cắp tài sản</toiDanh></anTich></thongTinAnTich>"
        f"<hoSoKhac>{body}</hoSoKhac>"
    )
    return head + body + moved + "</danhSachHoSo></LayDanhSachHoSoResponse></s:Body></s:Envelope>"


def test_a_criminal_record_page_keeps_no_requester_data_and_no_certificate():
    dataset = build_dataset("small", seed=13)
    convicted = [r for r in dataset.dossiers if (r.get("ketQua") or {}).get("thongTinAnTich")]
    records = [*convicted[:2], *dataset.dossiers[:2]]
    assert convicted and records[-1]["nycHoTen"]
    got = shape(criminal_record_page(records), LLTP)
    text = json.dumps(got, ensure_ascii=False).lower()
    needles = set().union(*(sensitive_strings(r) for r in records))
    assert needles and [n for n in needles if n.lower() in text] == []
    listing = got[f"{{{SOAP11_ENV}}}Envelope"]["Body"][f"{{{LLTP_NS}}}LayDanhSachHoSoResponse"]
    # What a contract break moved out of a record is named, never opened.
    assert listing["danhSachHoSo"]["thongTinAnTich"] == "<not kept>"
    assert listing["danhSachHoSo"]["hoSoKhac"] == "<not kept>"
    rows = listing["danhSachHoSo"]["hoSo"]
    assert {name for row in rows for name in row} <= {*KEPT_FIELDS, "ketQua"}
    assert {name for row in rows for name in row["ketQua"]} == {"ngayCapPhieu"}
    assert CONTENT_MARKER.lower() not in text and "toidanh" not in text
    assert "chars" not in text  # no text length either
    assert {k: listing[k] for k in ("trang", "soBanGhi", "tongSoBanGhi")} == {
        "trang": "1",
        "soBanGhi": "40",
        "tongSoBanGhi": "3",
    }
    assert [row["maHoSoMCDT"] for row in rows] == [r["maHoSoMCDT"] for r in records]
    assert rows[0]["nycSoGiayTo"] in ("<9 digits>", "<12 digits>")
    assert rows[0]["ketQua"] == {"ngayCapPhieu": "<date-like 99/99/9999 99:99:99>"}
    assert rows[0]["trangThaiXuLy"] == records[0]["trangThaiXuLy"]


@pytest.fixture
def client():
    return SoapClient(
        wsdl_path("business_registration"), URL, BINDING, sleep=lambda _: None, password="p"
    )


def envelope_of(error: ContractError) -> dict:
    assert isinstance(error.page, PageShape)
    return error.page["xml"][f"{{{SOAP11_ENV}}}Envelope"]


@responses.activate
def test_a_client_fault_carries_the_shape_of_its_envelope(client):
    responses.post(URL, status=500, body=fault11("soap:Client.ThamSoKhongHopLe", "Lê An 0123"))
    with pytest.raises(ContractError, match="ThamSoKhongHopLe") as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert envelope_of(caught.value) == {
        "Body": {
            "Fault": {
                "{}faultcode": "soap:Client.ThamSoKhongHopLe",
                "{}faultstring": "<text 10 chars>",
            }
        }
    }


@responses.activate
def test_a_reply_that_parsed_but_is_not_the_agreed_one_carries_its_shape(client):
    responses.post(URL, body=f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body/></s:Envelope>')
    with pytest.raises(ContractError, match="empty Body") as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert envelope_of(caught.value) == {"Body": "<empty>"}
    responses.replace(responses.POST, URL, body="<html><body>Lê An</body></html>")
    with pytest.raises(ContractError, match="not a SOAP envelope") as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert caught.value.page["xml"] == {"html": {"body": "<text 5 chars>"}}
    responses.replace(responses.POST, URL, status=404, body=OK)
    with pytest.raises(ContractError, match="HTTP 404") as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    kept = json.dumps(caught.value.page)
    assert "0100109106" not in kept and "DKKD-1" not in kept  # no rules: no value kept
    with SoapClient(
        wsdl_path("business_registration"), URL, BINDING, password="p", diagnosis=BR
    ) as source_client:
        with pytest.raises(ContractError, match="HTTP 404") as caught:
            source_client.call_raw("LayDanhSachHoSo", **ARGS)
    kept = json.dumps(caught.value.page)
    assert "0100109106" not in kept and '"SoHoSo": "DKKD-1"' in kept  # the source's rules


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (OK.replace("</HoSo>", "</HoSoX>"), ContractError),
        ('<!DOCTYPE x [<!ENTITY e "Lê An">]>' + OK, UnsafeXmlError),
    ],
    ids=["malformed", "doctype"],
)
@responses.activate
def test_a_reply_that_did_not_parse_carries_nothing_of_itself(client, body, error):
    responses.post(URL, body=body)
    with pytest.raises(error) as caught:
        client.call_raw("LayDanhSachHoSo", **ARGS)
    assert caught.value.page is None


def test_the_shape_of_a_reply_is_the_whole_document():
    root = parse_reply(OK.encode(), where="t")
    payload = root[0][0]
    assert etree.QName(payload).localname == "LayDanhSachHoSoResponse"
    assert reply_shape(payload) == reply_shape(root)
