"""The installed product without the stand-ins: `lienthong` runs in its own process where
`simulators` cannot be imported, syncs from a stand-in this test serves and reports; the two
commands that need the stand-ins say so in one line (exit 2)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.one_stop import build_dataset, make_app
from simulators.server import PrefixDispatcher, serve
from simulators.standins import stand_in_uri

# Loaded by the child's interpreter at start-up (PYTHONPATH): every import of the stand-ins, or
# of what only they once needed, fails as it would where they are not installed, and is noted.
REFUSE = """
import os, sys

REFUSED = {"simulators", "spyne"}


class RefuseStandIns:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in REFUSED:
            with open(os.environ["REFUSED_IMPORTS"], "a") as log:
                log.write(name + "\\n")
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, RefuseStandIns())
"""


@pytest.fixture(scope="module")
def stand_in():
    app = PrefixDispatcher({"/one_stop": make_app(build_dataset("small", seed=5))})
    with serve(app) as base_url:
        yield base_url


@pytest.fixture
def run(tmp_path):
    """`lienthong ARGS` in a process without the stand-ins; the imports it tried are logged."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(REFUSE)
    refused = tmp_path / "refused.txt"
    script = shutil.which("lienthong", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "lienthong.cli"]
    env = {
        **os.environ,
        "PYTHONPATH": str(hook),
        "REFUSED_IMPORTS": str(refused),
        "LIENTHONG_VAR_DIR": str(tmp_path / "var"),
    }

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        refused.unlink(missing_ok=True)
        done = subprocess.run(
            [*command, *args],
            env={**env, **extra},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
        done.refused = refused.read_text().split() if refused.exists() else []
        return done

    return run


def test_syncs_and_reports_run_without_the_stand_ins(engine, stand_in, run):
    env = {
        "LIENTHONG_WAREHOUSE_URL": engine.url.render_as_string(hide_password=False),
        "AIRFLOW_CONN_LIENTHONG_ONE_STOP": stand_in_uri(stand_in, "one_stop"),
    }
    synced = run("sync", "one_stop", "--since", "2018-10-01", "--until", "2019-07-01", **env)
    assert synced.returncode == 0, synced.stderr
    assert "one_stop.dossiers" in synced.stdout and "succeeded" in synced.stdout
    assert synced.refused == []

    report = run(
        "report",
        "phu-luc-01",
        "--from",
        "2019-01-01",
        "--to",
        "2019-06-30",
        "--format",
        "csv",
        **env,
    )
    assert report.returncode == 0, report.stderr
    rows = list(csv.DictReader(io.StringIO(report.stdout)))
    assert rows[-1]["agency_code"] == "TOTAL" and int(rows[-1]["received_total"]) > 0
    assert report.refused == []


@pytest.mark.parametrize("command", [["simulate", "--port", "0"], ["demo"]])
def test_the_commands_that_need_the_stand_ins_say_so_in_one_line(command, run, tmp_path):
    done = run(*command, LIENTHONG_WAREHOUSE_URL=f"sqlite:///{tmp_path / 'demo.db'}")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "lienthong: error: the stand-ins are not installed (no module named 'simulators'): "
        "they are development tooling of the repository; install it with `make install` "
        "(pip install -e '.[dev]')"
    ]
    assert done.refused == ["simulators"]  # the hook was there, and its refusal is the cause
    # Refused before anything was created: the demo's warehouse does not exist.
    assert not (tmp_path / "demo.db").exists()
