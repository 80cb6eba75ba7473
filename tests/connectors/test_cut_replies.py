"""A reply cut short at any byte is retried by the REST and SOAP clients, over real HTTP.

The stand-ins' `truncate_rate` cuts replies at a random byte; these tests try every byte of a
small reply, so that no cut position fails the batch as "not JSON" / "not well-formed XML".
"""

from __future__ import annotations

import json

import pytest

from connectors.rest import RestClient, RetryPolicy
from connectors.soap import SOAP11_ENV, SoapClient, wsdl_path
from simulators.server import serve

NO_WAIT = RetryPolicy(max_attempts=2, initial=0, maximum=0, jitter=0)
# Every kind of JSON token a cut can land in: negative, decimal and exponent numbers, \u escapes
# (a surrogate pair too), literals, multi-byte characters.
JSON_BODY = json.dumps(
    {
        "error_code": 0,
        "data": [{"SoTien": -15000, "TyLe": 0.25, "Mu": 1.5e-7, "Xong": True, "Ghi": None}],
        "escaped": "Hồ sơ 😀",
        "plain": "Hồ sơ",
    },
    ensure_ascii=False,
).replace('"escaped": "Hồ sơ 😀"', '"escaped": "H\\u1ed3 s\\u01a1 \\ud83d\\ude00"')
NS = "http://dangkykinhdoanh.gov.vn/ws/hoso/v1"
SOAP_BODY = (
    f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body>'
    f'<LayDanhSachHoSoResponse xmlns="{NS}"><Trang>1</Trang><SoBanGhi>10</SoBanGhi>'
    "<TongSoBanGhi>0</TongSoBanGhi><TongSoTrang>0</TongSoTrang><DanhSachHoSo/>"
    "</LayDanhSachHoSoResponse></s:Body></s:Envelope>"
)


class CutThenWhole:
    """Answers ``body`` cut at the next position of ``cuts`` (Content-Length honest for the cut
    body, so only the client's parsing can tell), then whole on the retry."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type = body, content_type
        self.cuts = iter(range(1, len(body)))
        self.cut_next = True
        self.calls = 0

    def __call__(self, environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.calls += 1
        body = self.body[: next(self.cuts)] if self.cut_next else self.body
        self.cut_next = not self.cut_next
        start_response(
            "200 OK", [("Content-Type", self.content_type), ("Content-Length", str(len(body)))]
        )
        return [body]


def test_rest_client_retries_a_json_reply_cut_at_any_byte():
    app = CutThenWhole(JSON_BODY.encode(), "application/json; charset=utf-8")
    with serve(app) as base_url, RestClient(base_url, retry=NO_WAIT) as client:
        for position in range(1, len(app.body)):
            assert client.post_json("api", {}) == json.loads(JSON_BODY), position
    assert app.calls == 2 * (len(app.body) - 1)


@pytest.mark.parametrize("kind", ["declaration", "whole"])
def test_soap_client_retries_an_xml_reply_cut_at_any_byte(kind):
    body = SOAP_BODY.encode()
    app = CutThenWhole(body, "text/xml; charset=utf-8")
    # The declaration's ~40 bytes are where the parser reports a syntax error rather than an
    # early end; the rest is checked once over the whole reply.
    positions = range(1, 60) if kind == "declaration" else range(60, len(body))
    app.cuts = iter(positions)
    with serve(app) as base_url:
        client = SoapClient(
            wsdl_path("business_registration"),
            base_url,
            f"{{{NS}}}HoSoDangKyBinding",
            username="demo",
            password="demo-secret",  # noqa: S106 - a test server's login
            retry=NO_WAIT,
        )
        with client:
            for position in positions:
                reply = client.call_raw(
                    "LayDanhSachHoSo", TuNgay="2019-01-01T00:00:00", DenNgay="2019-02-01T00:00:00",
                    Trang=1, SoBanGhi=10,
                )
                assert reply.tag == f"{{{NS}}}LayDanhSachHoSoResponse", position
    assert app.calls == 2 * len(positions)
