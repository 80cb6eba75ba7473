"""docker-compose.yml agrees with the code: connection ids, warehouse driver, stand-in port.

No Docker engine is needed: the file is read as YAML, and `docker-compose config` (when the binary
exists) validates it against the Compose schema without starting anything.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
CONN_PREFIX = "AIRFLOW_CONN_"

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
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
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


def stand_in_port(services: dict[str, dict[str, Any]]) -> int:
    command = services["stand-ins"]["command"]
    if isinstance(command, str):
        command = command.split()
    assert "simulate" in command
    return int(command[command.index("--port") + 1])


def test_every_airflow_connection_is_a_registered_source(services) -> None:
    from lienthong.registry import SOURCES

    # Airflow looks AIRFLOW_CONN_<CONN_ID upper-cased> up for conn_id.
    registered = {spec.conn_id.upper(): key for key, spec in SOURCES.items()}
    variables = connection_variables(services)
    assert variables, "compose defines no Airflow connection"
    unknown = sorted(v for v in variables if v.removeprefix(CONN_PREFIX) not in registered)
    assert not unknown, (
        f"{unknown} name no conn_id in lienthong.registry.SOURCES "
        f"(known: {sorted(CONN_PREFIX + c for c in registered)})"
    )


def test_connections_follow_the_lienthong_source_naming(services) -> None:
    for variable in connection_variables(services):
        assert variable.startswith(f"{CONN_PREFIX}LIENTHONG_"), variable


def test_connections_reach_the_stand_ins_on_their_port(services) -> None:
    port = stand_in_port(services)
    published = {str(p).rsplit(":", 1)[-1].split("/")[0] for p in services["stand-ins"]["ports"]}
    assert str(port) in published, f"stand-ins listen on {port} but publish {published}"
    for variable, uri in connection_variables(services).items():
        parts = urlsplit(uri)
        assert (parts.hostname, parts.port) == ("stand-ins", port), f"{variable}={uri}"


@pytest.mark.parametrize(
    ("service", "variable", "database_service"),
    [
        ("airflow", "LIENTHONG_WAREHOUSE_URL", "warehouse"),
        ("airflow", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "airflow-metadata"),
        ("airflow", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", "airflow-metadata"),
    ],
)
def test_database_urls_use_psycopg_and_match_their_server(
    services, service: str, variable: str, database_service: str
) -> None:
    url = make_url(environment(services[service])[variable])
    server = environment(services[database_service])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == (database_service, 5432)
    # Same user, password (same variable, same demo default) and database as the server creates.
    assert url.username == server["POSTGRES_USER"]
    assert url.password == server["POSTGRES_PASSWORD"]
    assert url.database == server["POSTGRES_DB"]


def test_airflow_starts_after_its_databases_are_healthy(services) -> None:
    depends_on = services["airflow"]["depends_on"]
    for name in ("warehouse", "airflow-metadata"):
        assert depends_on[name]["condition"] == "service_healthy"
        assert "healthcheck" in services[name]


def test_interpolate_defaults_follows_compose_rules() -> None:
    assert interpolate_defaults("a${X:-b}c${Y}d$${Z}") == "abcd${Z}"
    assert interpolate_defaults({"k": ["${X-v}", 1]}) == {"k": ["v", 1]}


def test_docker_compose_accepts_the_file() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        # CI installs the binary (.ci/run): there a missing one is a broken pipeline, not a skip.
        if os.environ.get("CI", "").lower() not in {"", "0", "false"}:
            pytest.fail("docker-compose is not installed in CI")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=COMPOSE_FILE.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
