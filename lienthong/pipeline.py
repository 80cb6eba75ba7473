"""The sync of one source: connector -> mapping -> warehouse, one batch per stream.

Two ways to run it, with the same result:
- `sync`: fetch and load in one pass, streaming (the CLI);
- `extract` then `load`: the pages go through the landing store, so a load can be replayed
  without calling the remote system again (Airflow's two tasks).
Every raw record is redacted first (the stream's `redact`: ID numbers -> keyed hash, names and
certificate content dropped), so what is archived, mapped or quarantined is the same and holds no
raw personal data. The caller gives the window (Airflow's data interval) or the watermark does.
A reply that breaks the contract fails its batch; its page is kept, redacted, in the landing
store's diagnosis area (`landing.keep_offending_page`) and the error names the file.

What raises trust is checked where the records are loaded, never carried over from `extract`:
`load` verifies the landing manifest's MAC and each page's digest as it reads them, and a
source that signs its records (the fee gateway) has each record's signature verified by its
mapping with the key `load` takes from the source's connection itself.
"""

from __future__ import annotations

import functools
import logging
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from connectors.base import Window
from connectors.connection import Connection, get_connection
from connectors.errors import ContractError
from lienthong import landing
from lienthong.mapper import pool_from, prepared_pages, workers
from lienthong.registry import Source, Stream, get, load_object
from lienthong.settings import Settings, SettingsError
from lienthong.settings import load as load_settings
from mappings.common import MappingContext
from warehouse import schema
from warehouse.db import make_engine, upgrade
from warehouse.loader import Batch, BatchCounts, read_watermark
from warehouse.locks import source_lock

log = logging.getLogger(__name__)

# Engines this process already brought to the schema's head. A long-lived process checks once
# per engine, not on every sync: alembic's check compiles a new statement into the engine's
# cache each time (measured by tests/reliability/test_soak.py).
_UPGRADED: weakref.WeakSet[Engine] = weakref.WeakSet()


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
Pages = Iterable[list[dict[str, Any]]]


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
    root: Any = None,
    map_workers: int | None = None,
) -> list[StreamResult]:
    """Fetch and load every stream of a source for a window (default: watermark to now).

    ``root`` is the landing store, where a contract-breaking page is kept for diagnosis;
    ``map_workers`` overrides LIENTHONG_MAP_WORKERS (0: map in this process, see mapper).
    """
    source = get(source_key)
    key = settings.require_pseudonym_key()
    connection = connection or _connection(source, settings)
    record_key = _record_key(source, connection, settings)
    root = root if root is not None else landing.landing_root(chosen=settings)
    until = until or datetime.now(UTC)
    # What can be refused is refused before anything is written: a window that cannot be, a
    # connection the connector will not use (plain http to a remote host …).
    if since is not None:
        Window(since, until)
    client = _connector(source, connection, settings)
    engine = _upgraded(engine or make_engine(settings.warehouse_url))
    results = []
    with source_lock(engine, source.key), client as connector:
        for stream in source.streams:
            window = _window(engine, source, stream, since, until)
            ctx = _context(engine, key, stream, record_key)
            fetched = connector.fetch(stream.name, window)
            pages = _redacted(stream, ctx, fetched, (root, source.key, window))
            results.append(
                _load_stream(
                    engine, source, stream, pages, window, ctx, run_id, progress, map_workers,
                    settings,
                )
            )
    return results


def extract(
    source_key: str,
    window: Window,
    settings: Settings,
    *,
    root: Any = None,
    connection: Connection | None = None,
) -> dict[str, Any]:
    """Fetch a window of every stream into the landing store, replacing what was there.

    Records are landed as the source sent them (after redaction), signatures included and
    unjudged: the manifest's MAC (LIENTHONG_LANDING_KEY) lets `load` prove the pages are these.
    """
    source = get(source_key)
    ctx = MappingContext(settings.require_pseudonym_key())
    landing_key = settings.require_landing_key()  # before any call: a missing key fails at once
    root = root if root is not None else landing.landing_root(chosen=settings)
    writer = landing.WindowWriter(root, source.key, window, landing_key)
    with _connector(source, connection, settings) as connector:
        for stream in source.streams:
            stream_window = window if stream.windowed else None
            fetched = connector.fetch(stream.name, stream_window)
            for page in _redacted(stream, ctx, fetched, (root, source.key, stream_window)):
                writer.write_page(stream.name, page)
    manifest = writer.commit()
    log.info(
        "extracted %s %s: %s",
        source.key,
        landing.window_key(window),
        {k: v["records"] for k, v in manifest["streams"].items()},
    )
    return manifest


def load(
    source_key: str,
    window: Window,
    settings: Settings,
    *,
    root: Any = None,
    engine: Engine | None = None,
    connection: Connection | None = None,
    run_id: str = "cli",
    progress: Progress | None = None,
    map_workers: int | None = None,
) -> list[StreamResult]:
    """Load a window from the landing store; the remote system is not called.

    ``map_workers`` overrides LIENTHONG_MAP_WORKERS (0: map in this process, see mapper).
    Nothing landed is believed: the pages are verified against the manifest's MAC as they are
    read (a failure fails the stream's batch, audited), and a signing source's records are
    verified by their mapping with the key from ``connection`` (default: the source's).
    """
    source = get(source_key)
    key = settings.require_pseudonym_key()
    landing_key = settings.require_landing_key()
    root = root if root is not None else landing.landing_root(chosen=settings)
    landing.require_extract(root, source.key, window)  # fail early on an incomplete extract
    record_key = _record_key(source, connection, settings)
    engine = _upgraded(engine or make_engine(settings.warehouse_url))
    results = []
    with source_lock(engine, source.key):
        for stream in source.streams:
            ctx = _context(engine, key, stream, record_key)
            # Lazy: the manifest and pages are verified inside the stream's batch.
            pages = landing.read_pages(root, source.key, window, stream.name, landing_key)
            stream_window = window if stream.windowed else None
            results.append(
                _load_stream(
                    engine, source, stream, pages, stream_window, ctx, run_id, progress,
                    map_workers, settings,
                )
            )
    return results


def _upgraded(engine: Engine) -> Engine:
    if engine not in _UPGRADED:
        upgrade(engine)
        _UPGRADED.add(engine)
    return engine


def _connection(source: Source, settings: Settings) -> Connection:
    """The source's connection from the environment; plain http only where the settings allow."""
    return get_connection(source.conn_id, plain_http_hosts=settings.demo_plain_http_hosts)


def _connector(source: Source, connection: Connection | None, settings: Settings):
    return load_object(source.connector)(connection or _connection(source, settings))


def _record_key(
    source: Source, connection: Connection | None, settings: Settings
) -> bytes | None:
    """The key the source signs its records with, from its connection (looked up only then)."""
    connector = load_object(source.connector)
    while isinstance(connector, functools.partial):  # a connector with preset arguments
        connector = connector.func
    if not getattr(connector, "signs_records", False):
        return None
    return connector.record_key(connection or _connection(source, settings))


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


def _context(
    engine: Engine, key: bytes, stream: Stream, record_key: bytes | None = None
) -> MappingContext:
    # Only dossiers are checked against the catalogue, which the earlier streams just loaded.
    if "dossier" not in stream.name:
        return MappingContext(key, record_key=record_key)
    with engine.connect() as conn:
        codes = frozenset(conn.execute(select(schema.procedures.c.code)).scalars())
    # An empty catalogue flags nothing.
    return MappingContext(key, codes or None, record_key=record_key)


def _redacted(
    stream: Stream,
    ctx: MappingContext,
    pages: Pages,
    keep_at: tuple[Any, str, Window | None],
) -> Iterator[list[dict]]:
    """The stream's pages redacted; a contract-breaking one is kept (redacted) at ``keep_at``:
    the landing store, source and window."""
    redact = load_object(stream.redact) if stream.redact is not None else None
    try:
        for page in pages:
            yield page if redact is None else [redact(raw, ctx) for raw in page]
    except ContractError as exc:
        root, source_key, window = keep_at
        per_record = (lambda raw: redact(raw, ctx)) if redact is not None else None
        landing.keep_offending_page(root, source_key, stream.name, window, exc, per_record)
        raise


def _load_stream(
    engine: Engine,
    source: Source,
    stream: Stream,
    pages: Pages,
    window: Window | None,
    ctx: MappingContext,
    run_id: str,
    progress: Progress | None,
    map_workers: int | None = None,
    settings: Settings | None = None,
) -> StreamResult:
    started = time.monotonic()
    settings = settings or load_settings()
    batch = Batch(
        engine,
        source=source.key,
        stream=stream.name,
        window=(window.start, window.end) if window else None,
        run_id=run_id,
        stale_after=settings.batch_stale_after,
    )
    with batch:
        # Mapped page by page, on a worker process beside the loading once the stream is big.
        mapped = prepared_pages(
            pages,
            stream.mapping,
            ctx,
            source.key,
            workers=workers(settings) if map_workers is None else map_workers,
            threshold=pool_from(settings),
        )
        for prepared in mapped:
            batch.load_prepared(prepared)
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
