"""Is a `running` batch still loading? Heartbeats of a live batch, and the rules by which the
next run, on any host, marks a dead one `abandoned`.

A batch's audit row carries `pid`, `host` and `heartbeat_at`. While the batch loads, a thread
touches `heartbeat_at` in its own short transaction every `stale_after / 5` seconds (at most
30 s): one UPDATE by primary key. A `running` row is abandoned when
- it is of this host and its process is gone (kill -9, a crash of the machine's worker); or
- its last sign of life (heartbeat, else start) is older than `LIENTHONG_BATCH_STALE_AFTER`
  seconds (default 600): its process or its host is gone, whatever host looks.

SQLite admits one writing transaction at a time, so a batch's heartbeat could not be written
while it loads: there the heartbeat is the start time, and the stale rule applies to rows of
other hosts only (a SQLite warehouse's writers share one host; see `warehouse.locks`).
A live batch wrongly judged abandoned (a process paused past the timeout) still commits
whole, and its audit row then says `succeeded`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, select, update

from warehouse import schema

log = logging.getLogger(__name__)

# Read and checked with the other settings (lienthong.settings); the caller passes its value.
STALE_AFTER_VARIABLE = "LIENTHONG_BATCH_STALE_AFTER"
DEFAULT_STALE_AFTER = 600.0  # seconds; ten minutes without a heartbeat
MAX_INTERVAL = 30.0


def host_name() -> str:
    return socket.gethostname()[:200]


def _now() -> datetime:
    return datetime.now(UTC)


class Heartbeat:
    """Touches a running batch's `heartbeat_at` from a daemon thread until stopped."""

    def __init__(self, engine: Engine, batch_id: int, stale_after_s: float) -> None:
        self.engine = engine
        self.batch_id = batch_id
        self.interval = min(MAX_INTERVAL, stale_after_s / 5)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        if self.engine.dialect.name == "postgresql":  # see the module's docstring for SQLite
            self._thread = threading.Thread(
                target=self._run, name=f"heartbeat-{self.batch_id}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 10)
            self._thread = None

    def beat(self) -> None:
        lb = schema.load_batches
        with self.engine.begin() as conn:
            conn.execute(
                update(lb)
                .where(and_(lb.c.id == self.batch_id, lb.c.outcome == "running"))
                .values(heartbeat_at=_now())
            )

    def _run(self) -> None:
        warned = False
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - the load itself reports a lost warehouse
                if not warned:
                    log.warning("batch %s: heartbeat not written: %s", self.batch_id, exc)
                    warned = True


def mark_abandoned(engine: Engine, source: str, stream: str, stale_after_s: float) -> list[int]:
    """Mark the stream's dead `running` batches `abandoned`; their ids."""
    lb = schema.load_batches
    host = host_name()
    now = _now()
    cutoff = now - timedelta(seconds=stale_after_s)
    last_sign = func.coalesce(lb.c.heartbeat_at, lb.c.started_at)
    running = and_(lb.c.source == source, lb.c.stream == stream, lb.c.outcome == "running")
    heartbeats = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        rows = conn.execute(
            select(lb.c.id, lb.c.pid, lb.c.host, lb.c.started_at, lb.c.heartbeat_at).where(running)
        ).all()
        dead = [r.id for r in rows if r.host == host and (r.pid is None or not _alive(r.pid))]
        stale = [
            r.id
            for r in rows
            if r.id not in dead
            and (heartbeats or r.host != host)
            and (r.heartbeat_at or r.started_at) < cutoff
        ]
        if dead:
            conn.execute(
                update(lb)
                .where(and_(running, lb.c.id.in_(dead)))
                .values(outcome="abandoned", error="the process ended without finishing")
            )
        if stale:
            # Guarded again in the statement: a heartbeat that came since the read keeps it.
            conn.execute(
                update(lb)
                .where(and_(running, lb.c.id.in_(stale), last_sign < cutoff))
                .values(
                    outcome="abandoned",
                    error=f"no heartbeat for over {stale_after_s:.0f}s "
                    f"({STALE_AFTER_VARIABLE}): its process or host is gone",
                )
            )
    for batch_id in dead + stale:
        log.warning("batch %s of %s %s marked abandoned", batch_id, source, stream)
    return dead + stale


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
