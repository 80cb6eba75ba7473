"""docker-compose.yml agrees with the code: one connection per registered source and one for the
warehouse, database and broker URLs, the Celery deployment, the stores, the stand-ins profile.

No Docker engine is needed: the file is read as YAML, and `docker-compose config` (when the binary
exists) validates it against the Compose schema without starting anything.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from connectors.connection import get_connection
from lienthong import orchestration
from lienthong.registry import SOURCES
from lienthong.standins import stand_in_uri

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
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

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error};
# one pass, so that an escaped "$${X}" is never read as a variable.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _resolve(match: re.Match[str]) -> str:
    if match[0] == "$$":
        return "$"
    return match["arg"] if match["op"] in {"-", ":-"} else ""


def interpolate_defaults(value: Any) -> Any:
    """Resolve ${...} as compose would with an empty environment: the demo defaults.

    The caller's environment is ignored on purpose, so the checks see the file, not the shell.
    """
    if isinstance(value, str):
        return _VARIABLE.sub(_resolve, value)
    if isinstance(value, list):
        return [interpolate_defaults(item) for item in value]
    if isinstance(value, dict):
        return {key: interpolate_defaults(item) for key, item in value.items()}
    return value


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))  # resolves << merges
    return interpolate_defaults(document["services"])


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


def test_only_the_workers_hold_connections_and_the_pseudonym_key(services) -> None:
    for name, service in services.items():
        secrets = {k for k in environment(service) if k.startswith(CONN_PREFIX) or "PSEUDONYM" in k}
        assert not secrets or name == "airflow-worker", f"{name} holds {secrets}"
    assert "LIENTHONG_PSEUDONYM_KEY" in environment(services["airflow-worker"])


def test_source_connections_default_to_the_stand_ins(services) -> None:
    port = stand_in_port(services)
    published = {str(p).rsplit(":", 1)[-1] for p in services["stand-ins"]["ports"]}
    assert str(port) in published, f"stand-ins listen on {port} but publish {published}"
    worker = environment(services["airflow-worker"])
    for key, source in SOURCES.items():
        # Exactly what `lienthong simulate` prints for a stand-in reached as `stand-ins`.
        assert worker[source.env_var] == stand_in_uri(f"http://stand-ins:{port}", key)


def test_the_stand_ins_are_a_trial_profile_nobody_depends_on(services) -> None:
    assert services["stand-ins"]["profiles"] == ["trial"]
    for name, service in services.items():
        assert "stand-ins" not in (service.get("depends_on") or {}), name


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


def test_published_ports_are_loopback_only(services) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_interpolate_defaults_follows_compose_rules() -> None:
    assert interpolate_defaults("a${X:-b}c${Y}d$${Z}") == "abcd${Z}"
    assert interpolate_defaults({"k": ["${X-v}", 1]}) == {"k": ["v", 1]}


@pytest.mark.parametrize("profile", [[], ["--profile", "trial"]], ids=["production", "trial"])
def test_docker_compose_accepts_the_file(profile) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        # CI installs the binary (.ci/run): there a missing one is a broken pipeline, not a skip.
        if os.environ.get("CI", "").lower() not in {"", "0", "false"}:
            pytest.fail("docker-compose is not installed in CI")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), *profile, "config", "-q"],
        cwd=COMPOSE_FILE.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
