"""Connection settings from Airflow's AIRFLOW_CONN_<ID> form, URI and JSON."""

import json
from urllib.parse import quote, urlencode

import pytest

from connectors.connection import Connection, ConnectionNotConfigured, get_connection

PASSWORD = "p@ss:w/rd%&"  # every character that must be percent-encoded in a URI
URI = (
    f"http://lienthong:{quote(PASSWORD, safe='')}@one-stop.example:8765/one_stop"
    "?dstcode=000.00.01.H22&madonvi=000.00.12.H22"
)


def env(value: str) -> dict[str, str]:
    return {"AIRFLOW_CONN_ONE_STOP": value}


def test_uri_is_parsed_and_percent_decoded() -> None:
    conn = get_connection("one_stop", env(URI))

    assert conn.conn_type == "http"
    assert conn.host == "one-stop.example"
    assert conn.port == 8765
    assert conn.login == "lienthong"
    assert conn.password == PASSWORD
    assert conn.schema == "one_stop"
    assert conn.extra == {"dstcode": "000.00.01.H22", "madonvi": "000.00.12.H22"}
    # Airflow's "http" connection type asks for no protocol: a remote host is reached over TLS.
    assert conn.base_url == "https://one-stop.example:8765/one_stop"


def test_uri_extra_can_be_airflow_json_param() -> None:
    extra = {"dstcode": "000.00.01.H22", "protocol": "https"}
    uri = "http://u:p@host/?" + urlencode({"__extra__": json.dumps(extra)})

    conn = get_connection("one_stop", env(uri))

    assert conn.extra == extra
    assert conn.schema is None
    assert conn.base_url == "https://host"


def test_uri_keeps_host_case_and_dashed_scheme_becomes_underscore() -> None:
    conn = get_connection("x", {"AIRFLOW_CONN_X": "my-type://Host.Example"})

    assert conn.host == "Host.Example"
    assert conn.conn_type == "my_type"
    assert conn.base_url == "https://Host.Example"  # not http(s): the default, https


def test_json_form_with_extra_as_string() -> None:
    value = json.dumps(
        {
            "conn_type": "https",
            "host": "dvc.example",
            "port": "443",
            "login": "lienthong",
            "password": PASSWORD,
            "schema": "one_stop",
            "extra": json.dumps({"dstcode": "000.00.01.H22"}),
        }
    )

    conn = get_connection("one_stop", env(value))

    assert conn.port == 443
    assert conn.password == PASSWORD
    assert conn.extra == {"dstcode": "000.00.01.H22"}
    assert conn.base_url == "https://dvc.example:443/one_stop"


def test_json_form_with_extra_as_object() -> None:
    conn = get_connection("one_stop", env('{"host": "h", "extra": {"dstcode": "X"}}'))

    assert conn.extra == {"dstcode": "X"}
    assert conn.conn_type == "http"


def test_missing_variable_names_the_variable_to_set() -> None:
    with pytest.raises(ConnectionNotConfigured, match="AIRFLOW_CONN_LIENTHONG_ONE_STOP"):
        get_connection("lienthong_one_stop", {})
    with pytest.raises(ConnectionNotConfigured, match="AIRFLOW_CONN_ONE_STOP"):
        get_connection("one_stop", env("   "))


@pytest.mark.parametrize(
    "value",
    [
        f"http://u:{PASSWORD}x@host:notaport/one_stop",
        '{"host": "h", "password": "' + PASSWORD + '", ',
        '{"host": "h", "password": "' + PASSWORD + '", "extra": "[1, 2]"}',
        "not a uri " + PASSWORD,
    ],
)
def test_malformed_value_is_reported_without_the_password(value: str) -> None:
    with pytest.raises(ConnectionNotConfigured) as caught:
        get_connection("one_stop", env(value))

    assert "AIRFLOW_CONN_ONE_STOP" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    # The parser's own error (which may quote the value) is not chained into the traceback.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_unknown_json_keys_are_named() -> None:
    with pytest.raises(ConnectionNotConfigured, match="passwrod"):
        get_connection("one_stop", env('{"host": "h", "passwrod": "x"}'))


def test_repr_and_str_mask_the_password_and_secret_extras() -> None:
    conn = Connection(
        "one_stop",
        host="h",
        login="lienthong",
        password=PASSWORD,
        extra={"dstcode": "000.00.01.H22", "api_token": "tok-123"},
    )

    for text in (repr(conn), str(conn), f"{conn}", f"{conn!r}", repr([conn])):
        assert PASSWORD not in text
        assert "tok-123" not in text
        assert "password='***'" in text
        assert "000.00.01.H22" in text


def test_base_url_variants() -> None:
    assert Connection("c", "https", host="h").base_url == "https://h"
    assert Connection("c", "http", host="h", extra={"protocol": "https"}).base_url == "https://h"
    assert Connection("c", "http", host="https://h").base_url == "https://h"
    assert Connection("c", "http", host="::1", port=8765).base_url == "http://[::1]:8765"
    assert Connection("c", "http", host="h", schema="/api/v1/").base_url == "https://h/api/v1"
    assert Connection("c", "http", host="127.0.0.1").base_url == "http://127.0.0.1"
    with pytest.raises(ConnectionNotConfigured, match="no host"):
        _ = Connection("c").base_url
    with pytest.raises(ConnectionNotConfigured, match="ftp"):
        _ = Connection("c", host="h", extra={"protocol": "ftp"}).base_url


def test_tls_verification_cannot_be_disabled(tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")

    assert Connection("c", host="h").verify is True
    with pytest.raises(ConnectionNotConfigured, match="TLS verification off"):
        _ = Connection("c", host="h", extra={"verify": False}).verify
    assert Connection("c", host="h", extra={"ca_bundle": str(bundle)}).verify == str(bundle)
    with pytest.raises(ConnectionNotConfigured, match="ca_bundle"):
        _ = Connection("c", host="h", extra={"ca_bundle": str(tmp_path / "missing.pem")}).verify


def test_timeouts_come_from_extra_and_are_checked():
    from connectors.connection import Connection, ConnectionNotConfigured

    conn = Connection("c", extra={"read_timeout": "120", "connect_timeout": 3})
    assert conn.timeouts == {"read_timeout": 120.0, "connect_timeout": 3.0}
    assert Connection("c").timeouts == {}
    for bad in ("0", "-1", "soon", "7200"):
        with pytest.raises(ConnectionNotConfigured, match="read_timeout"):
            _ = Connection("c", extra={"read_timeout": bad}).timeouts


def test_a_rest_client_takes_the_connection_timeouts():
    from connectors.connection import Connection
    from connectors.rest import RestClient

    client = RestClient.for_connection(Connection("c", host="h", extra={"read_timeout": 7}))
    assert client.timeout == (5.0, 7.0)
