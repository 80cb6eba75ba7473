"""docker-compose.yml agrees with the code: one connection per registered source and one for the
warehouse, database and broker URLs, the Celery deployment, the stores; it has no fallback for any
secret or connection, and the demo (docker-compose.demo.yml with docker-compose.demo.env) is the
only place with the stand-ins and demo-only values.

No Docker engine is needed: the files are read as YAML, and `docker-compose config` (when the binary
exists) validates them against the Compose schema without starting anything.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from connectors.connection import ConnectionNotConfigured, get_connection
from lienthong import orchestration, settings
from lienthong.registry import SOURCES
from simulators.standins import stand_in_uri

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DEMO_OVERRIDE = ROOT / "docker-compose.demo.yml"
DEMO_ENV = ROOT / "docker-compose.demo.env"
CONN_PREFIX = "AIRFLOW_CONN_"
WAREHOUSE_CONN = f"{CONN_PREFIX}{orchestration.WAREHOUSE_CONN_ID.upper()}"
AIRFLOW_COMMANDS = {
    "airflow-init": ["airflow", "db", "migrate"],
    "airflow-api-server": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-triggerer": ["airflow", "triggerer"],
    "airflow-worker": ["airflow", "celery", "worker"],
}
# Every secret and every connection of the production file: none may have a fallback.
REQUIRED = sorted(
    {
        "LIENTHONG_DB_PASSWORD",
        "AIRFLOW_DB_PASSWORD",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_FERNET_KEY",
        "LIENTHONG_PSEUDONYM_KEY",
        "LIENTHONG_LANDING_KEY",
    }
    | {source.env_var for source in SOURCES.values()}
)
# What an operator sets for production (made-up values of the right form).
PRODUCTION_ENV = {
    "LIENTHONG_DB_PASSWORD": "Wh-0a8c1f3e9b7d",
    "AIRFLOW_DB_PASSWORD": "Af-6d2e4b8c0a1f",
    "AIRFLOW_JWT_SECRET": "jwt-3f9a0c7e1b5d2a4c",
    "AIRFLOW_FERNET_KEY": "n8Q1wVx0Z3m5aP7sK9dF2hJ4lR6tY8uI0oE1cB3gN5k=",
    "LIENTHONG_PSEUDONYM_KEY": "p3Xv9QmZt7LrK2wYc8NdF5hJ1sA6gB4e0uT9iO7yR3",
    "LIENTHONG_LANDING_KEY": "Lk7Rt2Wq9Zx4Cv6Bn1Mm8Ha3Sd5Fg0Jk2Pl4Oi6Uy8T",
} | {
    source.env_var: f"https://center:pw@{key.replace('_', '-')}.example.gov.vn:443/api"
    for key, source in SOURCES.items()
}

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error};
# one pass, so that an escaped "$${X}" is never read as a variable.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(LookupError):
    """A ${NAME:?message} whose variable is unset or empty, as compose refuses it."""


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Resolve ${...} as compose does with ``env`` as the whole environment.

    The caller's environment is ignored on purpose, so the checks see the files, not the shell.
    """
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if not isinstance(value, str):
        return value

    def resolve(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        given = env.get(name)
        unset = given is None or (op.startswith(":") and given == "")
        if op.endswith("?") and unset:
            raise MissingVariable(arg or name)
        return arg if op.endswith("-") and unset else (given or "")

    return _VARIABLE.sub(resolve, value)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, # comments: the subset of compose's env-file syntax the demo uses."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Compose's merge of an override's services, for the keys the demo override uses: mappings
    (environment, depends_on) merged key by key, anything else replaced."""
    services = {name: dict(service) for name, service in base.items()}
    for name, service in override.items():
        target = services.setdefault(name, {})
        for key, value in service.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key] = {**target[key], **value}
            else:
                target[key] = value
    return services


def raw_services(path: Path) -> dict[str, dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["services"]  # resolves << merges


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    """The production file as an operator who set every secret and connection gets it."""
    return interpolate(raw_services(COMPOSE_FILE), PRODUCTION_ENV)


@pytest.fixture(scope="module")
def demo_services() -> dict[str, dict[str, Any]]:
    """The production file with the demo override, on the demo's values."""
    demo = read_env_file(DEMO_ENV)
    return merged(
        interpolate(raw_services(COMPOSE_FILE), demo),
        interpolate(raw_services(DEMO_OVERRIDE), demo),
    )


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "KEY=value" list form
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def connection_variables(services: dict[str, dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for service in services.values():
        found.update({k: v for k, v in environment(service).items() if k.startswith(CONN_PREFIX)})
    return found


def airflow_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if s.get("command", [""])[0] == "airflow"}


def stand_in_port(services: dict[str, dict[str, Any]]) -> int:
    command = services["stand-ins"]["command"]
    assert "simulate" in command
    return int(command[command.index("--port") + 1])


def test_every_registered_source_has_a_connection_and_nothing_else_does(services) -> None:
    expected = {source.env_var for source in SOURCES.values()} | {WAREHOUSE_CONN}
    found = set(connection_variables(services))
    assert not expected - found, f"no connection in docker-compose.yml for {expected - found}"
    assert not found - expected, f"{found - expected} name no source of lienthong.registry"


@pytest.mark.parametrize("variant", ["production", "demo"])
def test_only_the_workers_hold_connections_and_the_pseudonym_key(
    services, demo_services, variant
) -> None:
    chosen = services if variant == "production" else demo_services
    for name, service in chosen.items():
        secrets = {k for k in environment(service) if k.startswith(CONN_PREFIX) or "PSEUDONYM" in k}
        assert not secrets or name == "airflow-worker", f"{name} holds {secrets}"
    assert "LIENTHONG_PSEUDONYM_KEY" in environment(chosen["airflow-worker"])


def test_every_secret_and_connection_is_required_without_a_fallback() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    uses = [m for m in _VARIABLE.finditer(text) if m["name"]]
    for match in uses:
        name = match["name"]
        if name in REQUIRED or re.search(r"PASSWORD|SECRET|KEY|CONN", name):
            assert match["op"] == ":?", f"{match[0]} has a fallback"
            assert name in match["arg"], f"{match[0]} does not name its variable"
    assert {m["name"] for m in uses} >= set(REQUIRED)
    values = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "demo" not in values.lower() and "stand-ins" not in values


def test_the_stand_ins_are_only_in_the_demo_override(services, demo_services) -> None:
    assert "stand-ins" not in services
    for name, service in services.items():
        assert "stand-ins" not in (service.get("depends_on") or {}), name
    assert set(raw_services(DEMO_OVERRIDE)) == {"stand-ins", "airflow-worker"}
    port = stand_in_port(demo_services)
    published = {str(p).rsplit(":", 1)[-1] for p in demo_services["stand-ins"]["ports"]}
    assert str(port) in published, f"stand-ins listen on {port} but publish {published}"
    worker = environment(demo_services["airflow-worker"])
    for key, source in SOURCES.items():
        # Exactly what `lienthong simulate` prints for a stand-in reached as `stand-ins`.
        assert worker[source.env_var] == stand_in_uri(f"http://stand-ins:{port}", key)


def test_the_demo_values_work_only_with_the_demo_override(services, demo_services) -> None:
    """The demo worker's key and plain-http stand-ins are accepted; the same values in the
    production file, without the override's switches, are refused."""
    demo_worker = environment(demo_services["airflow-worker"])
    assert demo_worker["LIENTHONG_DEMO"] == "1"
    assert demo_worker["LIENTHONG_PSEUDONYM_KEY"] == settings.DEMO_PSEUDONYM_KEY
    assert settings.load(demo_worker).pseudonym_key == settings.DEMO_PSEUDONYM_KEY.encode()
    one_stop = SOURCES["one_stop"].conn_id
    # The settings name the hosts; the task passes them to the connection it reads.
    demo_hosts = settings.load(demo_worker).demo_plain_http_hosts
    demo_conn = get_connection(one_stop, demo_worker, plain_http_hosts=demo_hosts)
    assert demo_conn.base_url == "http://stand-ins:8765/one_stop"

    without = environment(
        interpolate(raw_services(COMPOSE_FILE), read_env_file(DEMO_ENV))["airflow-worker"]
    )
    assert "LIENTHONG_DEMO" not in without
    with pytest.raises(settings.SettingsError, match="published demo key"):
        settings.load(without)
    # The key is refused above; here, the hosts: without the switch, none is named.
    hosts = settings.load(without | {"LIENTHONG_PSEUDONYM_KEY": ""}).demo_plain_http_hosts
    assert hosts == frozenset()
    with pytest.raises(ConnectionNotConfigured, match="plain http to 'stand-ins'"):
        _ = get_connection(one_stop, without, plain_http_hosts=hosts).base_url


def test_one_demo_key_everywhere() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"DEMO_PSEUDONYM_KEY := {settings.DEMO_PSEUDONYM_KEY}\n" in makefile
    assert read_env_file(DEMO_ENV)["LIENTHONG_PSEUDONYM_KEY"] == settings.DEMO_PSEUDONYM_KEY
    # The image carries no secret of its own: everything comes from the environment.
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith(("ENV", "ARG", " ")):
            assert not re.search(r"PASSWORD|SECRET|_KEY\b|CONN_", line), line


def test_the_warehouse_connection_is_the_warehouse_server(services) -> None:
    worker = environment(services["airflow-worker"])
    assert "LIENTHONG_WAREHOUSE_URL" not in worker  # one place: the connection
    conn = get_connection(orchestration.WAREHOUSE_CONN_ID, environ=worker)
    airflow_form = SimpleNamespace(**dataclasses.asdict(conn), extra_dejson=conn.extra)
    url = make_url(orchestration.warehouse_url_from_connection(airflow_form))
    server = environment(services["warehouse"])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("warehouse", 5432)
    assert (url.username, url.password, url.database) == (
        server["POSTGRES_USER"],
        server["POSTGRES_PASSWORD"],
        server["POSTGRES_DB"],
    )


def test_every_airflow_component_runs_with_celery_and_the_same_settings(services) -> None:
    components = airflow_services(services)
    assert {name: s["command"] for name, s in components.items()} == AIRFLOW_COMMANDS
    shared = environment(components["airflow-scheduler"])
    assert shared["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    broker = urlsplit(shared["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname) == ("redis", "redis") and "redis" in services
    assert urlsplit(shared["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).hostname == (
        "airflow-api-server"
    )
    assert shared["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == orchestration.TIMEZONE
    for name, service in components.items():
        env = environment(service)
        # Tokens signed by one component are checked by another: one secret, one database.
        assert {k: env.get(k) for k in shared} == shared, name


@pytest.mark.parametrize(
    ("variable", "prefix"),
    [
        ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ""),
        ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", ""),
        ("AIRFLOW__CELERY__RESULT_BACKEND", "db+"),
    ],
)
def test_metadata_urls_use_psycopg_and_match_their_server(services, variable, prefix) -> None:
    value = environment(services["airflow-scheduler"])[variable]
    assert value.startswith(prefix)
    url = make_url(value.removeprefix(prefix))
    server = environment(services["airflow-metadata"])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("airflow-metadata", 5432)
    assert (url.username, url.password, url.database) == (
        server["POSTGRES_USER"],
        server["POSTGRES_PASSWORD"],
        server["POSTGRES_DB"],
    )


def test_the_stores_of_the_workers_are_on_a_volume(services) -> None:
    worker = services["airflow-worker"]
    mounts = {v.split(":")[1] for v in worker["volumes"]}
    for variable in ("LIENTHONG_LANDING_URL", "LIENTHONG_REPORTS_URL"):
        url = urlsplit(environment(worker)[variable])
        # A local folder must be a volume (it outlives the container); else object storage.
        if url.scheme == "file":
            assert any(url.path.startswith(m + "/") for m in mounts), variable


def test_airflow_starts_after_its_databases_and_broker(services) -> None:
    assert services["airflow-init"]["depends_on"] == {
        "airflow-metadata": {"condition": "service_healthy"}
    }
    for name in set(AIRFLOW_COMMANDS) - {"airflow-init"}:
        depends_on = services[name]["depends_on"]
        assert depends_on["airflow-init"] == {"condition": "service_completed_successfully"}
        assert depends_on["redis"] == {"condition": "service_healthy"}
    assert services["airflow-worker"]["depends_on"]["warehouse"] == {"condition": "service_healthy"}
    for name in ("warehouse", "airflow-metadata", "redis"):
        assert "healthcheck" in services[name]


def test_published_ports_are_loopback_only(demo_services) -> None:
    for name, service in demo_services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_interpolate_follows_compose_rules() -> None:
    assert interpolate("a${X:-b}c${Y}d$${Z}", {}) == "abcd${Z}"
    assert interpolate({"k": ["${X-v}", 1]}, {}) == {"k": ["v", 1]}
    assert interpolate("${X:-d}${Y-d}", {"X": "", "Y": ""}) == "d"
    assert interpolate("${X:?X is not set}", {"X": "x"}) == "x"
    for env in ({}, {"X": ""}):
        with pytest.raises(MissingVariable, match="X is not set"):
            interpolate("${X:?X is not set}", env)


def docker_compose(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        # CI installs the binary (.ci/run): there a missing one is a broken pipeline, not a skip.
        if os.environ.get("CI", "").lower() not in {"", "0", "false"}:
            pytest.fail("docker-compose is not installed in CI")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    return subprocess.run(
        [binary, *args, "config", "-q"],
        cwd=ROOT,
        # Only what is given: neither the shell's variables nor a .env beside the file count.
        env={"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")} | dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_docker_compose_accepts_production_with_every_secret_set(tmp_path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = docker_compose("--env-file", str(empty), "-f", str(COMPOSE_FILE), env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", REQUIRED)
def test_docker_compose_refuses_production_without_a_secret(tmp_path, missing) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = docker_compose("--env-file", str(empty), "-f", str(COMPOSE_FILE), env=env)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_docker_compose_accepts_the_demo_override_alone() -> None:
    files = ("-f", str(COMPOSE_FILE), "-f", str(DEMO_OVERRIDE))
    result = docker_compose("--env-file", str(DEMO_ENV), *files, env={})
    assert result.returncode == 0, result.stderr
