"""RestClient retries, error typing and paging, against mocked HTTP (no real sleeping)."""

import logging
from email.utils import formatdate

import pytest
import requests
import responses

from connectors.errors import AuthError, ContractError, SourceError, TransientError
from connectors.paging import paginate
from connectors.rest import RestClient, RetryPolicy, parse_retry_after

BASE = "https://source.example/root"
URL = f"{BASE}/api/service"
NOW = 1_700_000_000.0  # the injected clock, so HTTP-date Retry-After is exact


class Sleeps(list):
    """Stands in for time.sleep and records every requested wait."""

    def __call__(self, seconds: float) -> None:
        self.append(float(seconds))


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps):
    with RestClient(BASE, sleep=sleeps, clock=lambda: NOW) as rest:
        yield rest


def test_retries_then_succeeds(rsps, client, sleeps) -> None:
    rsps.add(responses.POST, URL, status=503)
    rsps.add(responses.POST, URL, body=requests.exceptions.ConnectionError("refused"))
    rsps.add(responses.POST, URL, json={"error_code": 0})

    assert client.post_json("api/service", {"service": "x"}) == {"error_code": 0}
    assert len(rsps.calls) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ChunkedEncodingError("connection broken"),
        requests.exceptions.ContentDecodingError("bad gzip"),
    ],
)
def test_network_failures_are_retried(rsps, client, failure) -> None:
    rsps.add(responses.POST, URL, body=failure)
    rsps.add(responses.POST, URL, json={"error_code": 0})

    assert client.post_json("api/service", {}) == {"error_code": 0}
    assert len(rsps.calls) == 2


def test_body_shorter_than_content_length_is_retried(rsps, client) -> None:
    rsps.add(responses.POST, URL, body='{"error_code": 0}', headers={"Content-Length": "500"})
    rsps.add(responses.POST, URL, json={"error_code": 0})

    assert client.post_json("api/service", {}) == {"error_code": 0}
    assert len(rsps.calls) == 2


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_gives_up_after_max_attempts(rsps, sleeps, status) -> None:
    rsps.add(responses.POST, URL, status=status)
    client = RestClient(BASE, retry=RetryPolicy(max_attempts=5, jitter=0), sleep=sleeps)

    with pytest.raises(TransientError) as caught:
        client.post_json("api/service", {})

    assert len(rsps.calls) == 5
    assert caught.value.attempts == 5
    assert caught.value.status == status
    assert "after 5 attempts" in str(caught.value)
    assert sleeps == [0.5, 1.0, 2.0, 4.0]  # exponential from `initial`, no sleep after the last


def test_backoff_is_capped_at_the_maximum(rsps, sleeps) -> None:
    rsps.add(responses.POST, URL, status=502)
    policy = RetryPolicy(max_attempts=8, initial=1, maximum=5, jitter=3)
    client = RestClient(BASE, retry=policy, sleep=sleeps)

    with pytest.raises(TransientError):
        client.post_json("api/service", {})

    assert len(sleeps) == 7
    assert all(0 < wait <= 5 for wait in sleeps)


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_is_not_retried(rsps, client, sleeps, status) -> None:
    rsps.add(responses.POST, URL, status=status, json={"error_code": 1, "message": "bad login"})

    with pytest.raises(AuthError) as caught:
        client.post_json("api/service", {})

    assert len(rsps.calls) == 1
    assert sleeps == []
    assert caught.value.status == status
    assert caught.value.payload == {"error_code": 1, "message": "bad login"}


@pytest.mark.parametrize("status", [400, 404, 422, 501])
def test_other_client_errors_are_contract_errors_not_retried(rsps, client, status) -> None:
    rsps.add(responses.POST, URL, status=status, json={"error_code": 3, "message": "bad Trang"})

    with pytest.raises(ContractError) as caught:
        client.post_json("api/service", {})

    assert len(rsps.calls) == 1
    assert caught.value.status == status
    assert "bad Trang" in caught.value.excerpt


def test_redirect_is_not_followed(rsps, client) -> None:
    rsps.add(responses.POST, URL, status=302, headers={"Location": "https://elsewhere/"})

    with pytest.raises(ContractError, match="HTTP 302"):
        client.post_json("api/service", {})
    assert len(rsps.calls) == 1


def test_retry_after_seconds_is_honoured(rsps, client, sleeps) -> None:
    rsps.add(responses.POST, URL, status=429, headers={"Retry-After": "7"})
    rsps.add(responses.POST, URL, json={"error_code": 0})

    client.post_json("api/service", {})

    assert sleeps[0] >= 7


def test_retry_after_http_date_is_honoured(rsps, client, sleeps) -> None:
    when = formatdate(NOW + 12, usegmt=True)
    rsps.add(responses.POST, URL, status=503, headers={"Retry-After": when})
    rsps.add(responses.POST, URL, json={"error_code": 0})

    client.post_json("api/service", {})

    assert sleeps[0] >= 12


def test_retry_after_is_capped_at_the_policy_maximum(rsps, client, sleeps) -> None:
    rsps.add(responses.POST, URL, status=429, headers={"Retry-After": "3600"})
    rsps.add(responses.POST, URL, json={"error_code": 0})

    client.post_json("api/service", {})

    assert sleeps == [30]


def test_parse_retry_after() -> None:
    assert parse_retry_after("5", NOW) == 5
    assert parse_retry_after(formatdate(NOW - 60, usegmt=True), NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("nan", NOW) is None
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"error_code": 0, "data": [{"MaHoSo": "000.00.12.H22-190105-0001"',
        b'{"error_code": 0, "data": [{"MaHoSo": "000.00',
        b'{"error_code": 0, "data": [{"KenhThucHien": 2, "TaiCho": tr',
        '{"error_code": 0, "data": [{"ChuHoSo": "Nguyễn"}]}'.encode()[:-13],
    ],
    ids=["after-value", "in-string", "in-literal", "in-multibyte-char"],
)
def test_truncated_json_body_is_retried(rsps, client, body) -> None:
    rsps.add(responses.POST, URL, body=body, content_type="application/json")
    rsps.add(responses.POST, URL, json={"error_code": 0})

    assert client.post_json("api/service", {}) == {"error_code": 0}
    assert len(rsps.calls) == 2


def test_always_truncated_body_gives_up(rsps, client) -> None:
    rsps.add(responses.POST, URL, body=b'{"error_code": 0, "data": [', status=200)

    with pytest.raises(TransientError, match="truncated"):
        client.post_json("api/service", {})
    assert len(rsps.calls) == 5


@pytest.mark.parametrize(
    "body", [b"<html>Service Unavailable</html>", b"", b'{"error_code": 0} trailing']
)
def test_non_json_reply_is_a_contract_error(rsps, client, body) -> None:
    rsps.add(responses.POST, URL, body=body, status=200)

    with pytest.raises(ContractError, match="not JSON"):
        client.post_json("api/service", {})
    assert len(rsps.calls) == 1


def test_json_that_is_not_an_object_is_a_contract_error(rsps, client) -> None:
    rsps.add(responses.POST, URL, json=[{"error_code": 0}])

    with pytest.raises(ContractError, match="not a JSON object"):
        client.post_json("api/service", {})


def test_certificate_failure_is_not_retried(rsps, client) -> None:
    failure = requests.exceptions.SSLError("certificate verify failed: self-signed certificate")
    rsps.add(responses.POST, URL, body=failure)

    with pytest.raises(SourceError, match="ca_bundle") as caught:
        client.post_json("api/service", {})
    assert not isinstance(caught.value, TransientError)
    assert len(rsps.calls) == 1


def test_request_carries_timeouts_headers_and_tls_setting(rsps, sleeps) -> None:
    rsps.add(responses.POST, URL, json={"error_code": 0})
    client = RestClient(BASE, verify="/etc/ca.pem", connect_timeout=2, read_timeout=9)

    client.post_json("/api/service", {"a": 1}, headers={"dstcode": "000.00.01.H22"})

    request = rsps.calls[0].request
    assert request.req_kwargs["timeout"] == (2, 9)
    assert request.req_kwargs["verify"] == "/etc/ca.pem"
    assert request.headers["dstcode"] == "000.00.01.H22"
    assert RestClient(BASE).timeout == (5.0, 60.0)


def test_retry_log_has_attempt_status_wait_and_no_secrets(rsps, client, caplog) -> None:
    rsps.add(responses.POST, URL, status=503, body='{"session": "tok-SECRET"}')
    rsps.add(responses.POST, URL, json={"error_code": 0})

    with caplog.at_level(logging.INFO, logger="connectors"):
        client.post_json("api/service", {"session": "tok-SECRET", "password": "pw-SECRET"})

    assert f"HTTP 503 from POST {URL} (attempt 1 of 5); retrying in" in caplog.text
    assert "retrying in" in caplog.text
    assert "SECRET" not in caplog.text


# ---- paginate ----------------------------------------------------------------------------


def pages_of(*pages: list, total_pages: int | None = None):
    """A fetch_page serving the given pages, recording which page numbers were asked for."""
    asked: list[int] = []

    def fetch(page: int) -> dict:
        asked.append(page)
        rows = pages[page - 1] if page <= len(pages) else []
        return {"data": rows, "TongSoTrang": total_pages}

    return fetch, asked


def rows(n: int) -> list[dict]:
    return [{"MaHoSo": str(i)} for i in range(n)]


def test_paging_stops_on_a_short_page() -> None:
    fetch, asked = pages_of(rows(3), rows(3), rows(1), rows(3))

    assert [len(p) for p in paginate(fetch, page_size=3)] == [3, 3, 1]
    assert asked == [1, 2, 3]


def test_paging_stops_on_an_empty_page() -> None:
    fetch, asked = pages_of(rows(3), rows(3))

    assert [len(p) for p in paginate(fetch)] == [3, 3]
    assert asked == [1, 2, 3]


def test_paging_stops_after_the_reported_last_page() -> None:
    fetch, asked = pages_of(rows(3), rows(3), rows(3), total_pages=2)

    assert [len(p) for p in paginate(fetch, total_pages_key="TongSoTrang", page_size=3)] == [3, 3]
    assert asked == [1, 2]


def test_paging_has_a_hard_bound() -> None:
    def endless(page: int) -> dict:
        return {"data": rows(3)}

    pages = paginate(endless, page_size=3, max_pages=4)

    assert len(next(pages)) == 3
    with pytest.raises(ContractError, match="after 4 pages"):
        list(pages)


@pytest.mark.parametrize(
    "reply, message",
    [
        ({"data": {"MaHoSo": "1"}}, "not a list"),
        ({"data": [{"MaHoSo": "1"}, "MaHoSo=2"]}, r"data\[1\] is str"),
        ({"rows": []}, "no 'data'"),
        ({"data": [{}], "TongSoTrang": "2"}, "TongSoTrang"),
        ({"data": [{}], "TongSoTrang": True}, "TongSoTrang"),
    ],
)
def test_paging_validates_the_reply(reply, message) -> None:
    with pytest.raises(ContractError, match=message):
        list(paginate(lambda page: reply, total_pages_key="TongSoTrang"))


@responses.activate
def test_a_reply_over_the_size_bound_is_refused_not_retried():
    from connectors.rest import RestClient

    responses.post("https://src.example/api", body=b'{"data": "' + b"x" * 5000 + b'"}')
    client = RestClient("https://src.example", max_reply_bytes=1000, sleep=lambda s: None)
    with pytest.raises(ContractError, match="over 1,000 bytes|exceeds 1,000 bytes"):
        client.post_json("/api", {})
    assert len(responses.calls) == 1


def test_tls_verification_cannot_be_turned_off_in_code_either() -> None:
    with pytest.raises(ValueError, match="cannot be turned off"):
        RestClient("https://motcua.example.gov.vn", verify=False)
    assert RestClient("https://motcua.example.gov.vn", verify="/etc/ssl/ca.pem").verify
