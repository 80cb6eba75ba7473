"""Per-source locks: two syncs of one source (a backfill and the nightly run, or the CLI and
Airflow) are serialised; different sources run in parallel.

PostgreSQL: a session-level advisory lock on a side connection held for the duration. That
connection can be lost while the sync runs (an idle timeout, a failover, a pooler restart
terminates its backend), and another sync of the source then takes the lock. Loading stays
correct by construction all the same, because the lock that matters is tied to the data:

- every batch's data transaction first takes `pg_advisory_xact_lock` on a second per-source key
  (`transaction_lock`), held until that transaction commits or rolls back and released by the
  server if its backend dies. Two loading transactions of one source never overlap, whatever
  became of the session lock, and each batch reads the stored rows after the previous one
  committed;
- the writes themselves keep the invariants (see `warehouse.bulk` and `move_watermark`): an
  older version never overwrites a newer one and the watermark only moves forward, in the
  statement that writes them.

A lost session lock is therefore reported (one warning line when the sync ends) rather than
failing batches that committed correctly. Syncs of one source whose session lock was lost may
interleave their batches; each batch is whole, and the result is that of the batches run one
after the other (tests/reliability/test_lost_lock.py).

SQLite: a file lock beside the database file (every writer of a SQLite warehouse is on the same
host, and SQLite itself admits one writing transaction at a time).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 6 * 3600.0  # a nightly run waits for a backfill rather than failing


class LockTimeout(RuntimeError):
    """Another run of the same source held its lock for longer than we may wait."""


def transaction_lock(conn: Connection, source: str) -> None:
    """Hold the source's loading lock until `conn`'s transaction ends (PostgreSQL only; SQLite
    admits one writing transaction at a time). Waits for another loading transaction of the
    source. A key of its own: the same key as the session lock would wait for our own session."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_id(f"{source}:load")})


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
            _unlock(conn, source, key)


def _unlock(conn: Connection, source: str, key: int) -> None:
    try:
        held = conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key}).scalar()
        conn.commit()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        held = False
    if not held:
        # Its backend was terminated: every batch still held the transaction lock (see above).
        log.warning(
            "the %s session lock was lost while the sync ran (its warehouse connection ended); "
            "each batch was still serialised by its transaction lock",
            source,
        )
