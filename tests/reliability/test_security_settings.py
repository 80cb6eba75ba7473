"""Security settings that must not drift: TLS verification cannot be turned off (a connection
that tries is refused, loudly), remote hosts are reached over https only (plain http is for
loopback), and the bandit rules stay on for the product's code."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from connectors.connection import Connection, ConnectionNotConfigured, get_connection
from connectors.rest import RestClient
from connectors.soap import SoapClient
from lienthong.cli import main
from lienthong.settings import load

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["lienthong", "connectors", "mappings", "warehouse", "dags"]
TLS_OFF = [
    {"verify": False},
    {"verify": "false"},
    {"verify": "0"},
    {"verify": "/etc/ssl/private-ca.pem"},  # a CA belongs in ca_bundle, where it is checked
    {"verify_ssl": "no"},
    {"ssl_verify": "off"},
    {"insecure": True},
    {"insecure": "1"},
    {"no_verify": "yes"},
    {"Insecure-Skip-Verify": "true"},
    {"cert_reqs": "CERT_NONE"},
]


@pytest.mark.parametrize("extra", TLS_OFF, ids=lambda extra: json.dumps(extra))
def test_an_extra_turning_tls_verification_off_is_refused(extra):
    connection = Connection("lienthong_one_stop", host="motcua.example", password="pw", extra=extra)
    with pytest.raises(ConnectionNotConfigured, match="TLS verification off") as caught:
        _ = connection.verify
    assert "ca_bundle" in str(caught.value) and "pw" not in str(caught.value)
    with pytest.raises(ConnectionNotConfigured):  # every client builds from .verify
        RestClient.for_connection(connection)


@pytest.mark.parametrize(
    "value",
    [
        "https://u:p@motcua.example/?verify=false",
        "https://u:p@motcua.example/?insecure=true",
        json.dumps({"conn_type": "http", "host": "motcua.example", "extra": {"verify": False}}),
    ],
)
def test_the_refusal_holds_for_connections_from_the_environment(value):
    connection = get_connection("lienthong_x", {"AIRFLOW_CONN_LIENTHONG_X": value})
    with pytest.raises(ConnectionNotConfigured, match="TLS verification off"):
        _ = connection.verify


def test_verification_stays_on_and_a_ca_bundle_is_per_connection(tmp_path):
    bundle = tmp_path / "ministry-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert Connection("c", host="h").verify is True
    for extra in ({"verify": True}, {"verify": "true"}, {"insecure": "false"}, {"verify": 1}):
        assert Connection("c", host="h", extra=extra).verify is True
    with_ca = Connection("c", host="h", extra={"ca_bundle": str(bundle)})
    assert with_ca.verify == str(bundle)
    assert RestClient.for_connection(with_ca).verify == str(bundle)
    assert RestClient.for_connection(Connection("c", host="h")).verify is True


def test_a_sync_with_tls_turned_off_fails_at_once_with_the_reason(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_LIENTHONG_ONE_STOP",
        "https://demo:demo-secret@127.0.0.1:1/one_stop?dstcode=000.00.01.H22&verify=false",
    )
    assert main(["sync", "one_stop", "--since", "2019-01-01", "--until", "2019-01-02"]) == 2
    err = capsys.readouterr().err
    assert "TLS verification off" in err and "demo-secret" not in err


PLAIN_HTTP_TO_REMOTE = [
    Connection(
        "lienthong_one_stop", host="motcua.example", password="pw", extra={"protocol": "http"}
    ),
    Connection("lienthong_one_stop", host="http://motcua.example", password="pw"),
    Connection("lienthong_one_stop", host="10.0.0.5", password="pw", extra={"protocol": "HTTP"}),
    Connection("lienthong_one_stop", host="stand-ins", password="pw", extra={"protocol": "http"}),
    get_connection(
        "lienthong_one_stop",
        {"AIRFLOW_CONN_LIENTHONG_ONE_STOP": "http://u:pw@motcua.example:80/?protocol=http"},
    ),
]


@pytest.mark.parametrize("connection", PLAIN_HTTP_TO_REMOTE, ids=lambda c: c.host)
def test_plain_http_to_a_remote_host_is_refused_with_the_reason(connection):
    with pytest.raises(ConnectionNotConfigured, match="plain http to .* unencrypted") as caught:
        _ = connection.base_url
    assert "loopback" in str(caught.value) and "pw" not in str(caught.value)
    with pytest.raises(ConnectionNotConfigured):  # every client builds from .base_url
        RestClient.for_connection(connection)
    with pytest.raises(ConnectionNotConfigured):
        SoapClient.for_connection(connection, "business_registration", "{x}Binding")


def test_remote_hosts_get_https_unasked_and_loopback_may_speak_http():
    for conn_type in ("http", "https"):
        assert Connection("c", conn_type, host="motcua.example").base_url.startswith("https://")
    for host in ("127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"):
        plain = Connection("c", host=host, extra={"protocol": "http"}).base_url
        assert plain.startswith("http://"), host
        assert Connection("c", host=host).base_url.startswith("http://"), host  # unasked: http
        assert Connection("c", host=host, extra={"protocol": "https"}).base_url.startswith(
            "https://"
        )
    for near_miss in ("localhost.example", "127.0.0.1.nip.io", "0.0.0.0", "::ffff:10.0.0.1"):  # noqa: S104
        with pytest.raises(ConnectionNotConfigured, match="plain http"):
            _ = Connection("c", host=near_miss, extra={"protocol": "http"}).base_url


def test_only_the_demo_may_name_hosts_for_plain_http():
    """The demo compose override reaches its stand-ins by container name: it alone sets both
    LIENTHONG_DEMO=1 and the hosts; one without the other allows nothing. The settings read
    them; the connection gets them from its caller, as it is read from the environment."""

    def connection(environ: dict[str, str], host: str = "stand-ins") -> Connection:
        uri = f"http://u:pw@{host}/?protocol=http"
        return get_connection(
            "lienthong_one_stop",
            {"AIRFLOW_CONN_LIENTHONG_ONE_STOP": uri},
            plain_http_hosts=load(environ).demo_plain_http_hosts,
        )

    named = {"LIENTHONG_DEMO_PLAIN_HTTP_HOSTS": "stand-ins"}
    with pytest.raises(ConnectionNotConfigured, match="plain http"):
        _ = connection(named).base_url
    demo = named | {"LIENTHONG_DEMO": "1"}
    assert connection(demo).base_url == "http://stand-ins"
    with pytest.raises(ConnectionNotConfigured, match="plain http"):
        _ = connection(demo, "motcua.example").base_url
    with pytest.raises(ConnectionNotConfigured, match="plain http"):
        _ = connection({"LIENTHONG_DEMO": "1"}).base_url


def test_a_sync_over_plain_http_to_a_remote_host_fails_before_any_connection(
    monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_LIENTHONG_ONE_STOP",
        "http://demo:demo-secret@motcua.example:80/one_stop?protocol=http&dstcode=000.00.01.H22",
    )
    looked_up = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kw: looked_up.append(args) or [])
    assert main(["sync", "one_stop", "--since", "2019-01-01", "--until", "2019-01-02"]) == 2
    err = capsys.readouterr().err
    assert "plain http to 'motcua.example'" in err and "demo-secret" not in err
    assert "Traceback" not in err
    assert looked_up == []  # the password never left the process


def test_ruff_runs_the_bandit_rules_and_ignores_none_of_the_sql_or_tls_ones():
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    never_ignored = {"S", "S6", "S60", "S608", "S5", "S50", "S501", "S323"}
    assert never_ignored.isdisjoint(lint.get("ignore", []))
    for pattern, rules in lint.get("per-file-ignores", {}).items():
        assert never_ignored.isdisjoint(rules), pattern
    # No line of the product silences them either.
    silenced = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in PRODUCT
        for path in (ROOT / folder).rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "noqa" in line and any(rule in line for rule in ("S608", "S501", "S323"))
    ]
    assert silenced == []


def test_the_product_code_passes_the_bandit_rules():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    done = subprocess.run(
        [ruff, "check", "--select", "S", "--output-format", "concise", *PRODUCT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
