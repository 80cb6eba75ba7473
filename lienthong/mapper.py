"""Mapping pages beside the loading: a worker process maps while the warehouse writes.

Mapping a record and preparing its rows (~70 µs of pure Python a dossier) and loading them
(~60–90 µs, much of it in the database driver) each take one core. On a backfill the pipeline
hands pages to one worker process and loads the page mapped before while the worker maps the
next: two cores instead of one. Small runs (a nightly delta) never start the worker: under
``LIENTHONG_MAP_WORKER_FROM`` records (default 5,000) a stream is mapped inline, and the result is
the same either way — the worker runs the same functions on the same pages, and pages are loaded
in the order they came.

A worker is a spawned interpreter, which re-imports the parent's ``__main__``. Where that is not
safe the caller says ``workers=0``: Airflow's task runner is such a place (its ``__main__`` is the
``airflow`` command, which in a child reads a metadata connection the task supervisor forbids), so
the DAG tasks map inline. A worker that dies (killed, out of memory, failed to start) costs speed,
not the batch: its pages still in flight are mapped inline, in order, and the log says why it
died. An error raised BY a mapping is not a death: it fails the batch as it would inline.

``LIENTHONG_MAP_WORKERS=0`` turns the worker off; the default uses it on machines with two or
more cores.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from lienthong import settings
from lienthong.settings import Settings
from mappings.canonical import Rejection
from mappings.common import MappingContext
from warehouse.loader import PreparedPage, prepare_page

log = logging.getLogger(__name__)

POOL_FROM = 5_000  # default: records a stream must have shown before the worker is started
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


def workers(chosen: Settings | None = None) -> int:
    """Worker processes for mapping: LIENTHONG_MAP_WORKERS, else 1 on a multi-core machine
    (``chosen``: the settings, default: read from the environment)."""
    count = (chosen or settings.load()).map_workers
    if count is not None:
        return max(0, min(count, 1))  # pages are loaded in order: one worker is enough
    return 1 if (os.cpu_count() or 1) > 1 else 0


def pool_from(chosen: Settings | None = None) -> int:
    """Records a stream must have shown before its worker starts: LIENTHONG_MAP_WORKER_FROM."""
    count = (chosen or settings.load()).map_worker_from
    return POOL_FROM if count is None else max(0, count)


def prepared_pages(
    pages: Iterable[list[Any]],
    mapping_path: str,
    ctx: MappingContext,
    source: str,
    *,
    workers: int,
    threshold: int,
) -> Iterator[PreparedPage]:
    """The pages mapped and prepared, in their order; on a worker once the stream has shown
    more than ``threshold`` records (see ``workers()`` and ``pool_from()``); workers=0 maps
    every page in this process."""
    from lienthong.registry import load_object

    mapping = load_object(mapping_path)
    # A daemonic process (a multiprocessing-based task runner) may not have children.
    inline = not workers or multiprocessing.current_process().daemon
    pool: ProcessPoolExecutor | None = None
    pending: deque[tuple[list[Any], Future[PreparedPage]]] = deque()
    seen = 0

    def map_inline(page: list[Any]) -> PreparedPage:
        return map_page(mapping, ctx, source, page)

    try:
        for page in pages:
            seen += len(page)
            if pool is None and not inline and seen > threshold:
                pool = _start(mapping_path, ctx, source)
            if pool is not None:
                try:
                    pending.append((page, pool.submit(_map_in_worker, page)))
                except (OSError, RuntimeError, AssertionError) as exc:
                    _give_up(pool, exc)
                    pool, inline = None, True
            if pool is None:
                # Pages a dead worker still held come first: the order never changes.
                while pending:
                    yield map_inline(pending.popleft()[0])
                yield map_inline(page)
                continue
            while len(pending) > IN_FLIGHT:
                prepared = _result(pending, pool)
                if prepared is None:
                    pool, inline = None, True
                    break
                yield prepared
        while pending:
            prepared = _result(pending, pool) if pool is not None else None
            if prepared is None:
                pool = None
                yield map_inline(pending.popleft()[0])
            else:
                yield prepared
    finally:
        for _, future in pending:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _start(mapping_path: str, ctx: MappingContext, source: str) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        # spawn: a fresh interpreter, never a fork of a process holding database connections,
        # locks and threads.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(mapping_path, ctx, source),
    )


def _result(
    pending: deque[tuple[list[Any], Future[PreparedPage]]], pool: ProcessPoolExecutor
) -> PreparedPage | None:
    """The oldest page's result; None when the worker died (the page stays pending)."""
    try:
        prepared = pending[0][1].result()
    except BrokenProcessPool as exc:
        _give_up(pool, exc)
        return None
    pending.popleft()
    return prepared


def _give_up(pool: ProcessPoolExecutor, exc: BaseException) -> None:
    """Log why the worker is gone and shut its pool down; the caller maps inline from now on."""
    log.warning(
        "mapping worker unavailable (%s): mapping the rest of the stream in this process",
        _cause(pool, exc),
    )
    pool.shutdown(wait=False, cancel_futures=True)


def _cause(pool: ProcessPoolExecutor, exc: BaseException) -> str:
    """The worker's real end: its exit code or signal, not just "the pool is broken"."""
    # The executor keeps its processes by pid; no public API gives their exit codes.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    ends = []
    for process in processes:
        process.join(timeout=1)
        code = process.exitcode
        if code is None:
            continue
        if code < 0:
            try:
                ends.append(f"process {process.pid} killed by {signal.Signals(-code).name}")
            except ValueError:
                ends.append(f"process {process.pid} killed by signal {-code}")
        else:
            ends.append(
                f"process {process.pid} exited with code {code}; its error output precedes "
                "this line"
            )
    detail = "; ".join(ends)
    return f"{type(exc).__name__}: {exc}" + (f" ({detail})" if detail else "")


def _start_worker(mapping_path: str, ctx: MappingContext, source: str) -> None:
    from lienthong.registry import load_object

    global _mapping, _ctx, _source
    _mapping, _ctx, _source = load_object(mapping_path), ctx, source


def _map_in_worker(page: list[Any]) -> PreparedPage:
    return map_page(_mapping, _ctx, _source, page)
