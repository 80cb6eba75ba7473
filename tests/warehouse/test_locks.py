"""Per-source locks: same source serialised across processes, different sources in parallel."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from warehouse.locks import LockTimeout, source_lock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from warehouse.db import make_engine
    from warehouse.locks import source_lock
    with source_lock(make_engine(sys.argv[1]), sys.argv[2]):
        print("held", flush=True)
        time.sleep(float(sys.argv[3]))
    """
)


def hold_in_another_process(url: str, source: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, source, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def url_of(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_the_same_source_waits_for_the_other_process(engine):
    holder = hold_in_another_process(url_of(engine), "one_stop", 1.5)
    started = time.monotonic()
    with source_lock(engine, "one_stop"):
        waited = time.monotonic() - started
        assert holder.poll() is not None or waited > 0.5  # we got it only once it was released
    holder.wait(timeout=10)
    assert waited > 0.5


def test_another_source_does_not_wait(engine):
    holder = hold_in_another_process(url_of(engine), "one_stop", 3)
    try:
        with source_lock(engine, "criminal_record", timeout=0.5):
            assert holder.poll() is None  # the other source still holds its own lock
    finally:
        holder.wait(timeout=10)


def test_waiting_longer_than_the_timeout_is_a_clear_error(engine):
    holder = hold_in_another_process(url_of(engine), "one_stop", 3)
    try:
        with pytest.raises(LockTimeout, match="another one_stop sync"):
            with source_lock(engine, "one_stop", timeout=0.6):
                pass
    finally:
        holder.wait(timeout=10)
