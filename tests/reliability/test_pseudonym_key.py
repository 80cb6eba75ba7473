"""The pseudonym key cannot be a public one in production: the published demo key is refused
outside the demo (LIENTHONG_DEMO=1, set only by the demo entry points), and so is any key shorter
than the floor, each with a one-line error that says how to make a good key."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lienthong import demo as demo_module
from lienthong.cli import main
from lienthong.settings import (
    DEMO_PSEUDONYM_KEY,
    MIN_PSEUDONYM_KEY_LENGTH,
    SettingsError,
    demo_environ,
    load,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("flag", [None, "", "0", "true", "yes"])
def test_the_published_demo_key_is_refused_outside_the_demo(flag):
    environ = {"LIENTHONG_PSEUDONYM_KEY": DEMO_PSEUDONYM_KEY}
    if flag is not None:
        environ["LIENTHONG_DEMO"] = flag
    with pytest.raises(SettingsError) as caught:
        load(environ)
    message = str(caught.value)
    assert "published demo key" in message and "LIENTHONG_DEMO=1" in message
    assert "secrets.token_urlsafe(32)" in message and "\n" not in message
    assert DEMO_PSEUDONYM_KEY not in message


def test_the_demo_alone_may_use_it():
    settings = load({"LIENTHONG_PSEUDONYM_KEY": DEMO_PSEUDONYM_KEY, "LIENTHONG_DEMO": "1"})
    assert settings.require_pseudonym_key() == DEMO_PSEUDONYM_KEY.encode()


@pytest.mark.parametrize("demo", [False, True])
def test_keys_shorter_than_the_floor_are_refused_even_in_the_demo(demo):
    assert MIN_PSEUDONYM_KEY_LENGTH == 32
    flag = {"LIENTHONG_DEMO": "1"} if demo else {}
    short = "k" * (MIN_PSEUDONYM_KEY_LENGTH - 1)
    with pytest.raises(SettingsError, match=r"too short \(31 characters, at least 32"):
        load({"LIENTHONG_PSEUDONYM_KEY": short, **flag})
    enough = "k" * MIN_PSEUDONYM_KEY_LENGTH
    assert load({"LIENTHONG_PSEUDONYM_KEY": enough, **flag}).pseudonym_key == enough.encode()


def test_a_sync_on_the_demo_key_stops_with_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LIENTHONG_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("LIENTHONG_PSEUDONYM_KEY", DEMO_PSEUDONYM_KEY)
    assert main(["sync", "one_stop", "--since", "2019-01-01"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "published demo key" in err and "Traceback" not in err
    assert not (tmp_path / "w.db").exists()  # refused before anything was touched


def test_lienthong_demo_runs_on_the_demo_key_unless_given_one(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(demo_module, "run_demo", lambda settings, seed: seen.append(settings) or 0)
    monkeypatch.delenv("LIENTHONG_PSEUDONYM_KEY")
    assert main(["demo"]) == 0
    assert seen[-1].pseudonym_key == DEMO_PSEUDONYM_KEY.encode()
    own = "an-operator-chosen-key-of-40-characters!!"
    monkeypatch.setenv("LIENTHONG_PSEUDONYM_KEY", own)
    assert main(["demo"]) == 0
    assert seen[-1].pseudonym_key == own.encode()
    assert demo_environ({})["LIENTHONG_DEMO"] == "1"


def test_only_the_demo_targets_of_the_makefile_say_they_are_the_demo():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    printed = subprocess.run(
        [make, "-n", "demo", "test", "airflow"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    demo = next(line for line in printed.splitlines() if line.rstrip().endswith("lienthong demo"))
    assert "LIENTHONG_DEMO=1" in demo and DEMO_PSEUDONYM_KEY in demo
    tests = next(line for line in printed.splitlines() if "-m pytest" in line)
    assert "LIENTHONG_DEMO" not in tests and "PSEUDONYM" not in tests
    assert printed.count("LIENTHONG_DEMO=1") == 2  # make demo and make airflow
