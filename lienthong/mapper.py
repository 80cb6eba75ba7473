"""Mapping pages beside the loading: a worker process maps while the warehouse writes.

Mapping a record and preparing its rows (~70 µs of pure Python a dossier) and loading them
(~60–90 µs, much of it in the database driver) each take one core. On a backfill the pipeline
hands pages to one worker process and loads the page mapped before while the worker maps the
next: two cores instead of one. Small runs (a nightly delta) never start the worker: under
``POOL_FROM`` records a stream is mapped inline, and the result is the same either way — the
worker runs the same functions on the same pages, and pages are loaded in the order they came.

``LIENTHONG_MAP_WORKERS=0`` turns the worker off; the default uses it on machines with two or
more cores.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from mappings.canonical import Rejection
from mappings.common import MappingContext
from warehouse.loader import PreparedPage, prepare_page

log = logging.getLogger(__name__)

POOL_FROM = 5_000  # records a stream must have shown before the worker is started
IN_FLIGHT = 2  # pages handed to the worker ahead of the loading: memory stays flat

_mapping: Any = None  # the worker's mapping function, context and source
_ctx: MappingContext | None = None
_source: str = ""


def map_page(mapping: Any, ctx: MappingContext, source: str, page: list[Any]) -> PreparedPage:
    """Map one page of raw (redacted) records and prepare it for the warehouse."""
    records, raws, rejections = [], [], []
    for raw in page:
        mapped = mapping(raw, ctx)
        if isinstance(mapped, Rejection):
            rejections.append((mapped, raw))
        else:
            records.append(mapped)
            raws.append(raw)  # quarantined as it came, should its row break a storage rule
    return prepare_page(records, rejections, source, raws)


def workers() -> int:
    """Worker processes for mapping: LIENTHONG_MAP_WORKERS, else 1 on a multi-core machine."""
    value = os.environ.get("LIENTHONG_MAP_WORKERS")
    if value is not None and value.strip():
        try:
            count = int(value)
        except ValueError:
            raise ValueError(f"LIENTHONG_MAP_WORKERS is not a number: {value!r}") from None
        return max(0, min(count, 1))  # pages are loaded in order: one worker is enough
    return 1 if (os.cpu_count() or 1) > 1 else 0


def prepared_pages(
    pages: Iterable[list[Any]], mapping_path: str, ctx: MappingContext, source: str
) -> Iterator[PreparedPage]:
    """The pages mapped and prepared, in their order; on a worker once the stream is big."""
    from lienthong.registry import load_object

    mapping = load_object(mapping_path)
    pool: ProcessPoolExecutor | None = None
    inline = not workers() or multiprocessing.current_process().daemon  # no children allowed
    pending: deque[Future[PreparedPage]] = deque()
    seen = 0
    try:
        for page in pages:
            seen += len(page)
            if pool is None and not inline and seen > POOL_FROM:
                pool = ProcessPoolExecutor(
                    max_workers=1,
                    # spawn: a fresh interpreter, never a fork of a process holding database
                    # connections, locks and threads.
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(mapping_path, ctx, source),
                )
            if pool is not None:
                try:
                    pending.append(pool.submit(_map_in_worker, page))
                except (OSError, RuntimeError, AssertionError) as exc:
                    if pending:  # it broke after taking pages: the batch fails
                        raise
                    log.warning("mapping inline: could not start a worker process (%s)", exc)
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool, inline = None, True
            if pool is None:
                yield map_page(mapping, ctx, source, page)
                continue
            while len(pending) > IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(mapping_path: str, ctx: MappingContext, source: str) -> None:
    from lienthong.registry import load_object

    global _mapping, _ctx, _source
    _mapping, _ctx, _source = load_object(mapping_path), ctx, source


def _map_in_worker(page: list[Any]) -> PreparedPage:
    return map_page(_mapping, _ctx, _source, page)
