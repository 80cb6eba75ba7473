"""The sync of one source: connector -> mapping -> warehouse, one batch per stream.

The same function runs from the CLI and from Airflow; the caller gives the window (Airflow's
data interval) or lets the watermark decide.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from connectors.base import Window
from connectors.connection import Connection, get_connection
from lienthong.registry import Source, Stream, get, load_object
from lienthong.settings import Settings, SettingsError
from mappings.canonical import Rejection
from mappings.common import MappingContext
from warehouse import schema
from warehouse.db import make_engine, upgrade
from warehouse.loader import Batch, BatchCounts, read_watermark

log = logging.getLogger(__name__)


@dataclass
class StreamResult:
    source: str
    stream: str
    batch_id: int | None
    window: Window | None
    counts: BatchCounts
    seconds: float
    outcome: str

    def summary(self) -> str:
        span = (
            f" {self.window.start.isoformat()}..{self.window.end.isoformat()}"
            if self.window
            else ""
        )
        rate = self.counts.read / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.source}.{self.stream}{span} batch={self.batch_id} {self.outcome} "
            f"{self.counts.summary()} ({self.seconds:.1f}s, {rate:,.0f} rec/s)"
        )


Progress = Callable[[str, BatchCounts, float], None]


def sync(
    source_key: str,
    settings: Settings,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    engine: Engine | None = None,
    connection: Connection | None = None,
    run_id: str = "cli",
    progress: Progress | None = None,
) -> list[StreamResult]:
    """Sync every stream of a source for a window (default: from the watermark to now)."""
    source = get(source_key)
    key = settings.require_pseudonym_key()
    engine = engine or make_engine(settings.warehouse_url)
    upgrade(engine)
    connection = connection or get_connection(source.conn_id)
    until = until or datetime.now(UTC)
    results = []
    connector = load_object(source.connector)(connection)
    with connector:
        for stream in source.streams:
            window = _window(engine, source, stream, since, until)
            ctx = MappingContext(
                key, _known_procedures(engine) if stream.name == "dossiers" else None
            )
            results.append(
                _sync_stream(engine, source, stream, connector, window, ctx, run_id, progress)
            )
    return results


def _window(
    engine: Engine, source: Source, stream: Stream, since: datetime | None, until: datetime
) -> Window | None:
    if not stream.windowed:
        return None
    if since is None:
        mark = read_watermark(engine, source.key, stream.name)
        if mark is None:
            raise SettingsError(
                f"{source.key}.{stream.name} has never been synced: give --since for the first run"
            )
        # Overlap the previous window: a record committed late at the source keeps an
        # update time inside the previous window and would otherwise be lost at the boundary.
        since = mark - source.lookback
    return Window(since, until)


def _known_procedures(engine: Engine) -> frozenset[str] | None:
    with engine.connect() as conn:
        codes = frozenset(conn.execute(select(schema.procedures.c.code)).scalars())
    return codes or None  # an empty catalogue checks nothing rather than rejecting everything


def _sync_stream(
    engine,
    source: Source,
    stream: Stream,
    connector,
    window: Window | None,
    ctx: MappingContext,
    run_id: str,
    progress: Progress | None,
) -> StreamResult:
    mapping = load_object(stream.mapping)
    redact = load_object(stream.redact) if stream.redact else (lambda raw, _ctx: raw)
    started = time.monotonic()
    batch = Batch(
        engine,
        source=source.key,
        stream=stream.name,
        window=(window.start, window.end) if window else None,
        run_id=run_id,
    )
    with batch:
        for page in connector.fetch(stream.name, window):
            records, rejections = [], []
            for raw in page:
                mapped = mapping(raw, ctx)
                if isinstance(mapped, Rejection):
                    rejections.append((mapped, redact(raw, ctx)))
                else:
                    records.append(mapped)
            batch.load_page(records, rejections)
            if progress is not None:
                progress(f"{source.key}.{stream.name}", batch.counts, time.monotonic() - started)
        if window is not None:
            batch.set_watermark(window.end)
    result = StreamResult(
        source.key,
        stream.name,
        batch.batch_id,
        window,
        batch.counts,
        time.monotonic() - started,
        batch.outcome,
    )
    log.info("%s", result.summary())
    return result
