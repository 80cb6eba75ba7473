"""The GPLX connector (docs/driving_licence_api.md): sessions, the widened receive-date range,
details merged into list rows, retries and contract checks, against mocked HTTP."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

import pytest
import responses

from connectors.base import LOCAL_TZ, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.driving_licence import DrivingLicenceConnector, receive_dates
from connectors.errors import AuthError, ContractError, TransientError
from connectors.rest import RestClient, RetryPolicy

BASE = "https://gplx.test:8080/apiDVC-GPLX/tcdbdvcdata"
LOGIN = f"{BASE}/mapi/login"
SERVICE = f"{BASE}/mapi/g"
PASSWORD = "pw-S3CRET"
CONNECTION = Connection(
    "lienthong_driving_licence",
    host="gplx.test",
    port=8080,
    login="lienthong",
    password=PASSWORD,
    schema="apiDVC-GPLX/tcdbdvcdata",
)
WINDOW = Window(datetime(2019, 3, 1, tzinfo=LOCAL_TZ), datetime(2019, 3, 2, tzinfo=LOCAL_TZ))
EXPIRED = {"error_code": "2", "result": "Phiên làm việc không tồn tại hoặc đã hết hạn"}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_connector(
    connection: Connection = CONNECTION, page_size: int = 2, lookback_days: int = 60
) -> DrivingLicenceConnector:
    client = RestClient.for_connection(
        connection, retry=RetryPolicy(max_attempts=3), sleep=lambda _: None
    )
    return DrivingLicenceConnector(
        connection, page_size=page_size, client=client, lookback_days=lookback_days
    )


def login_ok(rsps, session: str = "tok-1") -> None:
    rsps.add(responses.POST, LOGIN, json={"error_code": "0", "result": "OK", "session": session})


def listing(keys: list[str], page: int, total_pages: int, size: int = 2) -> dict:
    return {
        "error_code": "0",
        "page": page,
        "pageSize": size,
        "total": 99,
        "totalPages": total_pages,
        "data": [{"maHoSo": key, "hoTen": "Lê Văn Nam", "soCmnd": "081234567"} for key in keys],
    }


def detail(key: str) -> dict:
    return {"error_code": "0", "data": [{"MaHoSo": key, "MaTrangThai": "2"}]}


def details_by_key(request):
    """A TraCuuHoSo responder answering the dossier asked for."""
    body = json.loads(request.body)
    return 200, {}, json.dumps(detail(body["mahoso"]))


def serve_list_then_details(rsps, *pages: dict) -> None:
    """The list pages in order, and every detail call answered for its own dossier."""
    queue = list(pages)

    def respond(request):
        body = json.loads(request.body)
        if body["service"] == "TraCuuHoSo":
            return details_by_key(request)
        return 200, {}, json.dumps(queue.pop(0))

    rsps.add_callback(responses.POST, SERVICE, callback=respond)


def bodies(rsps, url: str) -> list[dict]:
    return [json.loads(call.request.body) for call in rsps.calls if call.request.url == url]


def test_login_then_list_and_details_merged_into_each_row(rsps) -> None:
    login_ok(rsps)
    serve_list_then_details(rsps, listing(["a", "b"], 1, 2), listing(["c"], 2, 2))

    with make_connector() as connector:
        pages = list(connector.fetch("dossiers", WINDOW))

    assert [[row["maHoSo"] for row in page] for page in pages] == [["a", "b"], ["c"]]
    first = pages[0][0]
    assert first["hoTen"] == "Lê Văn Nam"  # the list row as the source spells it
    assert first["chiTiet"] == {"MaHoSo": "a", "MaTrangThai": "2"}
    assert json.loads(rsps.calls[0].request.body) == {"username": "lienthong", "password": PASSWORD}
    sent = bodies(rsps, SERVICE)
    assert [(b["session"], b["service"], b.get("page"), b.get("mahoso")) for b in sent] == [
        ("tok-1", "DanhSachHoSo", 1, None),
        ("tok-1", "TraCuuHoSo", None, "a"),
        ("tok-1", "TraCuuHoSo", None, "b"),
        ("tok-1", "DanhSachHoSo", 2, None),
        ("tok-1", "TraCuuHoSo", None, "c"),
    ]
    assert all(b["donViXuLy"] == "000.00.05.H22" for b in sent)
    assert sent[0]["pageSize"] == 2


def test_the_handling_unit_comes_from_the_connection(rsps) -> None:
    login_ok(rsps)
    serve_list_then_details(rsps, listing([], 1, 0))
    other = Connection(
        "c",
        host="gplx.test",
        port=8080,
        login="u",
        password="p",
        schema="apiDVC-GPLX/tcdbdvcdata",
        extra={"donViXuLy": "000.00.05.H99"},
    )

    assert list(make_connector(other).fetch("dossiers", WINDOW)) == []
    assert bodies(rsps, SERVICE)[0]["donViXuLy"] == "000.00.05.H99"


@pytest.mark.parametrize(
    "window, lookback, expected",
    [
        (WINDOW, 60, ("2018-12-31", "2019-03-01")),
        (WINDOW, 0, ("2019-03-01", "2019-03-01")),  # the end is exclusive: 2 March not read
        # The same window in UTC: the local dates are what the source filters on.
        (
            Window(datetime(2019, 2, 28, 17, tzinfo=UTC), datetime(2019, 3, 1, 17, tzinfo=UTC)),
            60,
            ("2018-12-31", "2019-03-01"),
        ),
        # A window ending mid-day includes that whole day.
        (
            Window(
                datetime(2019, 3, 1, tzinfo=LOCAL_TZ), datetime(2019, 3, 2, 10, tzinfo=LOCAL_TZ)
            ),
            7,
            ("2019-02-22", "2019-03-02"),
        ),
    ],
    ids=["default-lookback", "no-lookback", "utc-window", "mid-day-end"],
)
def test_the_window_becomes_a_receive_date_range_widened_by_the_lookback(
    rsps, window, lookback, expected
) -> None:
    login_ok(rsps)
    serve_list_then_details(rsps, listing([], 1, 0))

    assert list(make_connector(lookback_days=lookback).fetch("dossiers", window)) == []

    sent = bodies(rsps, SERVICE)[0]
    assert (sent["ngayNhan1"], sent["ngayNhan2"]) == expected
    assert receive_dates(window, lookback) == tuple(date.fromisoformat(d) for d in expected)


def test_only_dossiers_changed_in_the_window_are_yielded(rsps) -> None:
    login_ok(rsps)
    changed = {
        "before": "28/02/2019 23:59:59",
        "first": "01/03/2019 00:00:00",
        "inside": "01/03/2019 16:30:00",
        "end": "02/03/2019 00:00:00",  # the window is half-open
        "blank": "",
        "odd": "1/3/2019 8:00:00",  # not the contract's format: the mapping decides
    }

    def respond(request):
        body = json.loads(request.body)
        if body["service"] == "DanhSachHoSo":
            return 200, {}, json.dumps(listing([*changed, "unknown"], 1, 1, size=10))
        if body["mahoso"] == "unknown":
            return 200, {}, json.dumps({"error_code": "0", "data": []})
        record = {"MaHoSo": body["mahoso"], "NgayCapNhat": changed[body["mahoso"]]}
        return 200, {}, json.dumps({"error_code": "0", "data": [record]})

    rsps.add_callback(responses.POST, SERVICE, callback=respond)

    pages = list(make_connector(page_size=10).fetch("dossiers", WINDOW))

    assert [row["maHoSo"] for page in pages for row in page] == [
        "first",
        "inside",
        "blank",
        "odd",
        "unknown",
    ]


def test_the_default_lookback_is_sixty_days() -> None:
    assert DrivingLicenceConnector(CONNECTION).lookback_days == 60


@pytest.mark.parametrize("status", [200, 401])
def test_expired_session_logs_in_again_and_repeats_the_call_once(rsps, status) -> None:
    login_ok(rsps, "tok-1")
    login_ok(rsps, "tok-2")
    rsps.add(responses.POST, SERVICE, json=listing(["a"], 1, 1))
    rsps.add(responses.POST, SERVICE, status=status, json=EXPIRED)
    rsps.add(responses.POST, SERVICE, json=detail("a"))

    pages = list(make_connector().fetch("dossiers", WINDOW))

    assert pages[0][0]["chiTiet"]["MaHoSo"] == "a"
    assert len(bodies(rsps, LOGIN)) == 2
    assert [(b["session"], b["service"]) for b in bodies(rsps, SERVICE)] == [
        ("tok-1", "DanhSachHoSo"),
        ("tok-1", "TraCuuHoSo"),
        ("tok-2", "TraCuuHoSo"),  # the same call, repeated with the new session
    ]


def test_a_second_expiry_in_a_row_is_an_auth_error(rsps) -> None:
    login_ok(rsps, "tok-1")
    login_ok(rsps, "tok-2")
    rsps.add(responses.POST, SERVICE, json=EXPIRED)

    with pytest.raises(AuthError, match="expired again"):
        list(make_connector().fetch("dossiers", WINDOW))
    assert len(bodies(rsps, LOGIN)) == 2
    assert len(bodies(rsps, SERVICE)) == 2


@pytest.mark.parametrize(
    "status, reply",
    [
        (200, {"error_code": "1", "result": "Sai tên đăng nhập hoặc mật khẩu"}),
        (401, {"error_code": "1", "result": "Sai tên đăng nhập hoặc mật khẩu"}),
        (403, None),
    ],
)
def test_wrong_credentials_are_an_auth_error_without_retry(rsps, status, reply) -> None:
    rsps.add(responses.POST, LOGIN, status=status, json=reply)

    with pytest.raises(AuthError, match="login refused") as caught:
        list(make_connector().fetch("dossiers", WINDOW))
    assert len(rsps.calls) == 1
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_failures_are_retried(rsps, status) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, status=status, body="<html>busy</html>")
    rsps.add(responses.POST, SERVICE, json=listing(["a"], 1, 1))
    rsps.add(responses.POST, SERVICE, status=status, body="<html>busy</html>")
    rsps.add(responses.POST, SERVICE, json=detail("a"))

    pages = list(make_connector().fetch("dossiers", WINDOW))

    assert pages == [[{**listing(["a"], 1, 1)["data"][0], "chiTiet": detail("a")["data"][0]}]]
    assert len(bodies(rsps, SERVICE)) == 4
    assert len(bodies(rsps, LOGIN)) == 1


def test_a_failure_that_does_not_go_away_is_a_transient_error(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, status=503)

    with pytest.raises(TransientError, match="3 attempts"):
        list(make_connector().fetch("dossiers", WINDOW))


def test_a_dossier_the_detail_does_not_know_comes_without_detail(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json=listing(["a"], 1, 1))
    rsps.add(responses.POST, SERVICE, json={"error_code": "0", "data": []})

    assert list(make_connector().fetch("dossiers", WINDOW)) == [
        [{**listing(["a"], 1, 1)["data"][0], "chiTiet": None}]
    ]


def test_a_row_without_a_key_is_yielded_without_a_lookup(rsps) -> None:
    login_ok(rsps)
    page = listing(["a"], 1, 1)
    page["data"].insert(0, {"hoTen": "Lê Văn Nam"})
    serve_list_then_details(rsps, page)

    rows = next(iter(make_connector().fetch("dossiers", WINDOW)))

    assert rows == [
        {"hoTen": "Lê Văn Nam", "chiTiet": None},
        {**page["data"][1], **{"chiTiet": detail("a")["data"][0]}},
    ]
    assert [b.get("mahoso") for b in bodies(rsps, SERVICE)] == [None, "a"]


def test_rows_a_shifting_list_repeats_from_the_previous_page_are_skipped(rsps) -> None:
    login_ok(rsps)
    serve_list_then_details(
        rsps, listing(["a", "b"], 1, 2), {**listing(["b", "c"], 2, 2), "pageSize": 2}
    )

    pages = list(make_connector().fetch("dossiers", WINDOW))

    assert [[row["maHoSo"] for row in page] for page in pages] == [["a", "b"], ["c"]]
    assert [b.get("mahoso") for b in bodies(rsps, SERVICE)] == [None, "a", "b", None, "c"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"totalPages": "3"}, "totalPages"),
        ({"page": None}, "page"),
        ({"total": 1.5}, "total"),
        ({"page": 2}, "asked for page 1"),  # the server ignored `page`
        ({"pageSize": 1}, "asked for page 1 of 2 rows"),  # the server capped the page size
        ({"data": {"maHoSo": "a"}}, "not a list"),
        ({"data": [{"maHoSo": "a"}, 7]}, r"data\[1\] is int"),
        ({"error_code": "x"}, "error_code must be a string of digits"),
        ({"error_code": None}, "error_code must be a string of digits"),
        ({"error_code": "3", "result": "ngayNhan1 không hợp lệ"}, "error_code 3"),
    ],
)
def test_list_reply_shape_is_validated(rsps, change, message) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json={**listing(["a", "b"], 1, 3), **change})

    with pytest.raises(ContractError, match=message):
        list(make_connector().fetch("dossiers", WINDOW))


@pytest.mark.parametrize(
    "reply, message",
    [
        ({"error_code": "0", "data": [{"MaHoSo": "b"}]}, r"got 1 of \['b'\]"),
        ({"error_code": "0", "data": [{"MaHoSo": "a"}, {"MaHoSo": "a"}]}, "got 2 of"),
        ({"error_code": "0", "data": [{}]}, r"got 1 of \['None'\]"),
        ({"error_code": "0"}, "no 'data' list"),
        ({"data": []}, "no error_code"),
    ],
)
def test_detail_reply_shape_is_validated(rsps, reply, message) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json=listing(["a"], 1, 1))
    rsps.add(responses.POST, SERVICE, json=reply)

    with pytest.raises(ContractError, match=message):
        list(make_connector().fetch("dossiers", WINDOW))


def test_an_integer_error_code_is_accepted(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, json={**listing([], 1, 0), "error_code": 0})

    assert list(make_connector().fetch("dossiers", WINDOW)) == []


@pytest.mark.parametrize(
    "reply, message",
    [
        ({"error_code": "0", "session": ""}, "no session"),
        ({"error_code": "0"}, "no session"),
        ({"error_code": "9", "result": "?"}, "login failed with error_code 9"),
    ],
)
def test_login_reply_is_validated(rsps, reply, message) -> None:
    rsps.add(responses.POST, LOGIN, json=reply)

    with pytest.raises(ContractError, match=message):
        list(make_connector().fetch("dossiers", WINDOW))


def test_non_json_reply_is_a_contract_error(rsps) -> None:
    login_ok(rsps)
    rsps.add(responses.POST, SERVICE, body="<html>Đang bảo trì</html>", status=200)

    with pytest.raises(ContractError, match="not JSON"):
        list(make_connector().fetch("dossiers", WINDOW))


def test_requests_are_checked_when_fetch_is_called() -> None:
    connector = make_connector()

    with pytest.raises(ValueError, match="no stream"):
        connector.fetch("ratings", WINDOW)
    with pytest.raises(ValueError, match="needs a window"):
        connector.fetch("dossiers", None)


def test_connection_and_arguments_are_checked() -> None:
    with pytest.raises(ConnectionNotConfigured, match="lacks password"):
        DrivingLicenceConnector(Connection("lienthong_driving_licence", host="h", login="u"))
    with pytest.raises(ValueError, match="page_size"):
        DrivingLicenceConnector(CONNECTION, page_size=501)
    with pytest.raises(ValueError, match="lookback_days"):
        DrivingLicenceConnector(CONNECTION, lookback_days=-1)


def test_session_token_and_password_are_never_logged(rsps, caplog) -> None:
    login_ok(rsps, "tok-S3CRET-1")
    login_ok(rsps, "tok-S3CRET-2")
    rsps.add(responses.POST, SERVICE, status=503)
    rsps.add(responses.POST, SERVICE, json=EXPIRED)
    rsps.add(responses.POST, SERVICE, json=listing(["a"], 1, 1))
    rsps.add(
        responses.POST, SERVICE, status=500, json={"error_code": "-1", "session": "tok-S3CRET-2"}
    )
    rsps.add(responses.POST, SERVICE, json=detail("a"))

    with caplog.at_level(logging.DEBUG, logger="connectors"):
        assert len(list(make_connector().fetch("dossiers", WINDOW))) == 1

    assert "logging in again" in caplog.text
    assert "S3CRET" not in caplog.text
