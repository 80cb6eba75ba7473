"""Security settings that must not drift: TLS verification cannot be turned off (a connection
that tries is refused, loudly), and the bandit rules stay on for the product's code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from connectors.connection import Connection, ConnectionNotConfigured, get_connection
from connectors.rest import RestClient
from lienthong.cli import main

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
