"""The one-stop connector's edge cases (docs/one_stop_api.md), against mocked HTTP."""

import json
import logging
from datetime import UTC, datetime

import pytest
import responses

from connectors.base import LOCAL_TZ, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import AuthError, ContractError
from connectors.one_stop import OneStopConnector
from connectors.rest import RestClient, RetryPolicy

BASE = "https://one-stop.test:8765/one_stop"
LOGIN = f"{BASE}/api/login"
SERVICE = f"{BASE}/api/service"
PASSWORD = "pw-S3CRET"
CONNECTION = Connection(
    "lienthong_one_stop",
    host="one-stop.test",
    port=8765,
    login="lienthong",
    password=PASSWORD,
    schema="one_stop",
    extra={"dstcode": "000.00.01.H22", "madonvi": "000.00.12.H22"},
)
WINDOW = Window(datetime(2019, 1, 1, tzinfo=LOCAL_TZ), datetime(2019, 1, 2, tzinfo=LOCAL_TZ))
EXPIRED = {"error_code": 2, "message": "session expired"}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_connector(connection: Connection = CONNECTION, page_size: int = 2) -> OneStopConnector:
    client = RestClient.for_connection(
        connection, retry=RetryPolicy(max_attempts=3), sleep=lambda _: None
    )
    return OneStopConnector(connection, page_size=page_size, client=client)


def login_ok(rsps, session: str = "tok-1") -> None:
    rsps.add(responses.POST, LOGIN, json={"error_code": 0, "session": session})


def page(rows: list[dict], trang: int, total_pages: int, size: int = 2) -> dict:
    return {
        "error_code": 0,
        "Trang": trang,
        "SoBanGhi": size,
        "TongSoBanGhi": 99,
        "TongSoTrang": total_pages,
        "data": rows,
    }


def dossiers(*keys: str) -> list[dict]:
    return [{"MaHoSo": key, "TrangThaiHoSo": "4"} for key in keys]


def bodies(rsps, url: str) -> list[dict]:
    return [json.loads(call.request.body) for call in rsps.calls if call.request.url == url]


def test_login_sends_dstcode_header_and_credentials(rsps) -> None:
    login_ok(rsps)
    agencies = [{"MaCoQuan": "000.00.12.H22", "TenCoQuan": "Sở Tư pháp", "MaCoQuanCha": None}]
    rsps.add(responses.POST, SERVICE, json={"error_code": 0, "data": agencies})

    with make_connector() as connector:
        assert list(connector.fetch("agencies")) == [agencies]

    login = rsps.calls[0].request
    assert login.headers["dstcode"] == "000.00.01.H22"
    assert json.loads(login.body) == {"username": "lienthong", "password": PASSWORD}
    assert bodies(rsps, SERVICE) == [
        {"session": "tok-1", "madonvi": "000.00.12.H22", "service": "LayDanhMucCoQuan"}
    ]


def test_madonvi_defaults_to_dstcode(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json={"error_code": 0, "data": []})
    connection = Connection(
        "c",
        host="one-stop.test",
        port=8765,
        login="u",
        password="p",
        schema="one_stop",
        extra={"dstcode": "000.00.01.H22"},
    )

    assert list(make_connector(connection).fetch("agencies")) == []
    assert bodies(rsps, SERVICE)[0]["madonvi"] == "000.00.01.H22"


def test_session_is_reused_across_pages(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json=page(dossiers("a", "b"), 1, 3))
    rsps.add(responses.POST, SERVICE, json=page(dossiers("c", "d"), 2, 3))
    # The last page may echo its own row count as SoBanGhi: accepted.
    rsps.add(responses.POST, SERVICE, json=page(dossiers("e"), 3, 3, size=1))

    pages = list(make_connector().fetch("dossiers", WINDOW))

    assert [[row["MaHoSo"] for row in p] for p in pages] == [["a", "b"], ["c", "d"], ["e"]]
    assert len(bodies(rsps, LOGIN)) == 1
    sent = bodies(rsps, SERVICE)
    assert [(b["session"], b["service"], b["Trang"], b["SoBanGhi"]) for b in sent] == [
        ("tok-1", "LayDanhSachHoSo", 1, 2),
        ("tok-1", "LayDanhSachHoSo", 2, 2),
        ("tok-1", "LayDanhSachHoSo", 3, 2),
    ]


@pytest.mark.parametrize("status", [401, 200])
def test_expired_session_logs_in_again_and_repeats_the_call(rsps, status) -> None:
    login_ok(rsps, "tok-1")
    login_ok(rsps, "tok-2")
    rsps.add(responses.POST, SERVICE, json=page(dossiers("a", "b"), 1, 2))
    rsps.add(responses.POST, SERVICE, status=status, json=EXPIRED)
    rsps.add(responses.POST, SERVICE, json=page(dossiers("c"), 2, 2))

    pages = list(make_connector().fetch("dossiers", WINDOW))

    assert [len(p) for p in pages] == [2, 1]
    assert len(bodies(rsps, LOGIN)) == 2
    assert [(b["session"], b["Trang"]) for b in bodies(rsps, SERVICE)] == [
        ("tok-1", 1),
        ("tok-1", 2),
        ("tok-2", 2),  # the same call, repeated with the new session
    ]


def test_second_expiry_in_a_row_is_an_auth_error(rsps) -> None:
    login_ok(rsps, "tok-1")
    login_ok(rsps, "tok-2")
    rsps.add(responses.POST, SERVICE, status=401, json=EXPIRED)

    with pytest.raises(AuthError, match="expired again"):
        list(make_connector().fetch("procedures"))
    assert len(bodies(rsps, LOGIN)) == 2
    assert len(bodies(rsps, SERVICE)) == 2


def test_wrong_credentials_are_an_auth_error_without_retry(rsps) -> None:
    rsps.add(responses.POST, LOGIN, status=401, json={"error_code": 1, "message": "sai mật khẩu"})

    with pytest.raises(AuthError, match="login refused") as caught:
        list(make_connector().fetch("agencies"))
    assert len(rsps.calls) == 1
    assert PASSWORD not in str(caught.value)


def test_error_code_1_on_a_service_call_is_an_auth_error(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json={"error_code": 1, "message": "no right"})

    with pytest.raises(AuthError, match="no right"):
        list(make_connector().fetch("agencies"))


@pytest.mark.parametrize("status, code", [(200, 9), (400, 3)])
def test_other_error_codes_are_contract_errors(rsps, status, code) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, status=status, json={"error_code": code, "message": "x"})

    with pytest.raises(ContractError):
        list(make_connector().fetch("agencies"))
    assert len(bodies(rsps, SERVICE)) == 1


@pytest.mark.parametrize(
    "window",
    [
        WINDOW,
        Window(datetime(2018, 12, 31, 17, tzinfo=UTC), datetime(2019, 1, 1, 17, tzinfo=UTC)),
    ],
    ids=["local", "utc"],
)
@pytest.mark.parametrize("stream", ["dossiers", "ratings"])
def test_window_is_sent_in_local_time(rsps, window, stream) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json=page([], 1, 0))

    assert list(make_connector().fetch(stream, window)) == []

    sent = bodies(rsps, SERVICE)[0]
    assert (sent["TuNgay"], sent["DenNgay"]) == ("20190101000000", "20190102000000")
    expected = {"dossiers": "LayDanhSachHoSo", "ratings": "LayDanhSachDanhGia"}[stream]
    assert sent["service"] == expected


def test_procedures_are_paged_without_a_window(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json=page([{"MaTTHC": "1.001612"}], 1, 1))

    assert list(make_connector().fetch("procedures")) == [[{"MaTTHC": "1.001612"}]]
    sent = bodies(rsps, SERVICE)[0]
    assert sent["service"] == "LayDanhMucTTHC"
    assert "TuNgay" not in sent and "DenNgay" not in sent


@pytest.mark.parametrize(
    "reply, message",
    [
        ({"error_code": 0, "data": {"MaHoSo": "a"}}, "not a list"),
        ({"error_code": 0, "data": ["a", "b"]}, r"data\[0\] is str"),
        ({"data": []}, "no error_code"),
        ({"error_code": "0", "data": []}, "error_code"),
    ],
)
def test_agency_reply_shape_is_validated(rsps, reply, message) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json=reply)

    with pytest.raises(ContractError, match=message):
        list(make_connector().fetch("agencies"))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"TongSoTrang": "3"}, "TongSoTrang"),
        ({"Trang": None}, "Trang"),
        ({"Trang": 1.0 + 1}, "Trang"),
        ({"Trang": 2}, "asked for page 1"),  # the server ignored Trang
        ({"SoBanGhi": 1}, "asked for page 1 of 2 rows"),  # the server capped the page size
        ({"data": [{"MaHoSo": "a"}, 7]}, r"data\[1\] is int"),
    ],
)
def test_paged_reply_shape_is_validated(rsps, change, message) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json={**page(dossiers("a", "b"), 1, 3), **change})

    with pytest.raises(ContractError, match=message):
        list(make_connector().fetch("dossiers", WINDOW))


def test_non_json_reply_is_a_contract_error(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, body="<html>Đang bảo trì</html>", status=200)

    with pytest.raises(ContractError, match="not JSON"):
        list(make_connector().fetch("agencies"))
    assert len(bodies(rsps, SERVICE)) == 1


def test_login_reply_without_session_is_a_contract_error(rsps) -> None:
    rsps.add(responses.POST, LOGIN, json={"error_code": 0, "session": ""})

    with pytest.raises(ContractError, match="no session"):
        list(make_connector().fetch("agencies"))


def test_requests_are_checked_when_fetch_is_called() -> None:
    connector = make_connector()

    with pytest.raises(ValueError, match="no stream"):
        connector.fetch("payments", WINDOW)
    with pytest.raises(ValueError, match="needs a window"):
        connector.fetch("dossiers", None)
    with pytest.raises(ValueError, match="catalogue"):
        connector.fetch("agencies", WINDOW)


def test_connection_must_carry_credentials_and_dstcode() -> None:
    bare = Connection("lienthong_one_stop", host="h", login="u")

    with pytest.raises(ConnectionNotConfigured, match=r"password, extra\.dstcode"):
        OneStopConnector(bare)
    with pytest.raises(ValueError, match="page_size"):
        OneStopConnector(CONNECTION, page_size=1001)


def test_session_token_and_password_are_never_logged(rsps, caplog) -> None:
    login_ok(rsps, "tok-S3CRET-1")
    login_ok(rsps, "tok-S3CRET-2")
    rsps.add(responses.POST, SERVICE, status=503)
    rsps.add(responses.POST, SERVICE, status=401, json=EXPIRED)
    rsps.add(responses.POST, SERVICE, json=page(dossiers("a"), 1, 1))

    with caplog.at_level(logging.DEBUG, logger="connectors"):
        assert len(list(make_connector().fetch("dossiers", WINDOW))) == 1

    assert "logging in again" in caplog.text
    assert "S3CRET" not in caplog.text


def test_window_must_be_aware_and_ordered() -> None:
    start = datetime(2019, 1, 1, tzinfo=LOCAL_TZ)

    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2019, 1, 1), datetime(2019, 1, 2))
    with pytest.raises(ValueError, match="before end"):
        Window(start, start)
    assert start in WINDOW and WINDOW.end not in WINDOW  # half-open
