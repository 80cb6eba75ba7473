"""Airflow's scheduler, dag-processor and API server as processes of a test, driven through the
public REST API v2 (a JWT from /auth/token, as the UI and operators' scripts use it).

Everything binds 127.0.0.1 on a free port; each process is a session of its own, so stopping it
stops whatever it started (task runners included).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dags.conftest import airflow_env

STARTUP_TIMEOUT = 90
RUN_TIMEOUT = 90
USER = "admin"
COMPONENTS = {
    # Task logs are files in AIRFLOW_HOME: no log server listening on every interface.
    "scheduler": ["airflow", "scheduler", "--skip-serve-logs"],
    "dag-processor": ["airflow", "dag-processor"],
    "api-server": ["airflow", "api-server"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalAirflow:
    """Airflow's scheduler, dag-processor and API server, each in its own process group."""

    home: Path
    env: dict[str, str]
    url: str
    password: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    token: str | None = None

    @classmethod
    def create(cls, home: Path, settings: dict[str, str]) -> LocalAirflow:
        """An Airflow in `home` (SQLite metadata, the project's DAGs) with `settings` on top;
        the caller's AIRFLOW_* and LIENTHONG_* variables are left out."""
        port, password = free_port(), secrets.token_urlsafe(12)
        (home / "passwords.json").write_text(json.dumps({USER: password}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LIENTHONG_"))}
        env |= airflow_env(home) | {
            # `airflow` of this interpreter's environment.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            # Scheduler and API server sign and check each other's tokens.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        }
        return cls(home, env | settings, f"http://127.0.0.1:{port}", password)

    def start(self) -> None:
        subprocess.run(
            ["airflow", "db", "migrate"],
            env=self.env,
            cwd=self.home,
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in COMPONENTS:
            self._spawn(name)

    def _spawn(self, name: str, **env: str) -> None:
        with open(self.home / f"{name}.log", "ab") as out:
            self.processes[name] = subprocess.Popen(
                COMPONENTS[name],
                env=self.env | env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def restart_scheduler(self, **env: str) -> None:
        _stop([self.processes.pop("scheduler")])
        self._spawn("scheduler", **env)
        self.wait("the scheduler to be healthy again", self.healthy, STARTUP_TIMEOUT)

    def wait(self, what: str, check: Callable[[], Any], timeout: float = RUN_TIMEOUT) -> Any:
        """Poll `check` every second until it returns something truthy; fail after `timeout`,
        with the end of each component's log."""
        deadline = time.monotonic() + timeout
        while not (result := check()):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")
            time.sleep(1)
        return result

    def stop(self) -> None:
        _stop(list(self.processes.values()))

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-4000:]
            for p in sorted(self.home.glob("*.log"))
        )

    # -- REST API (the public API v2, as the UI and operators' scripts use it) --------------------
    def api(self, method: str, path: str, **kwargs) -> Any:
        if self.token is None:
            reply = requests.post(
                f"{self.url}/auth/token",
                timeout=30,
                json={"username": USER, "password": self.password},
            )
            reply.raise_for_status()
            self.token = reply.json()["access_token"]
        reply = requests.request(
            method,
            f"{self.url}/api/v2{path}",
            timeout=30,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )
        assert reply.ok, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json()

    def healthy(self) -> bool:
        try:
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
        except (requests.RequestException, ValueError):
            return False
        for name, proc in self.processes.items():
            assert proc.poll() is None, f"{name} exited early:\n{self.logs()}"
        return all(
            health.get(part, {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "dag_processor")
        )

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_run(self, dag_id: str, run_id: str) -> str:
        return self.wait(
            f"{dag_id} {run_id} to finish",
            lambda: (state := self.run_state(dag_id, run_id)) in ("success", "failed") and state,
        )

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, tuple[str, int]]:
        found = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        return {t["task_id"]: (t["state"], t["try_number"]) for t in found["task_instances"]}


def _stop(processes: list[subprocess.Popen]) -> None:
    for proc in processes:
        _signal_group(proc, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _signal_group(proc, signal.SIGKILL)  # whatever the group still holds (task runners)
        proc.wait(timeout=10)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the leader's pid
    except ProcessLookupError:
        pass
