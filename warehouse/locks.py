"""Per-source locks: two syncs of one source (a backfill and the nightly run, or the CLI and
Airflow) are serialised; different sources run in parallel.

PostgreSQL: a session-level advisory lock on a connection held for the duration. SQLite: a file
lock beside the database file (every writer of a SQLite warehouse is on the same host).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 6 * 3600.0  # a nightly run waits for a backfill rather than failing


class LockTimeout(RuntimeError):
    """Another run of the same source held its lock for longer than we may wait."""


def _lock_id(name: str) -> int:
    # A stable signed 64-bit key for pg_advisory_lock, the same in every process.
    return int.from_bytes(
        hashlib.sha256(f"lienthong:{name}".encode()).digest()[:8], "big", signed=True
    )


@contextmanager
def source_lock(engine: Engine, source: str, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Hold the source's lock for the duration of the block, waiting up to `timeout` seconds."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, source, timeout):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield  # a private in-memory database has no other writer
        return
    path = Path(f"{database}.{source}.lock")
    lock = FileLock(path)
    try:
        if not _try(lambda: lock.acquire(timeout=0)):
            log.info("waiting for another %s sync to finish (lock %s)", source, path)
            lock.acquire(timeout=timeout)
    except Timeout:
        raise LockTimeout(
            f"another {source} sync still holds {path} after {timeout:.0f}s"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _try(acquire) -> bool:
    try:
        acquire()
    except Timeout:
        return False
    return True


@contextmanager
def _advisory_lock(engine: Engine, source: str, timeout: float) -> Iterator[None]:
    key = _lock_id(source)
    with engine.connect() as conn:
        deadline = time.monotonic() + timeout
        waited = False
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.rollback()  # end the implicit transaction while we wait
            if not waited:
                log.info("waiting for another %s sync to finish (advisory lock)", source)
                waited = True
            if time.monotonic() > deadline:
                raise LockTimeout(
                    f"another {source} sync still holds its lock after {timeout:.0f}s"
                )
            time.sleep(0.5)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
