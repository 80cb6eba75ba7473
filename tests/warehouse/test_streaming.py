"""Loading streams page by page: Python memory does not grow with the number of records."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

from tests.warehouse.test_loader import T0, dossier
from warehouse.loader import Batch

PAGE = 500


def pages(n_pages: int):
    for p in range(n_pages):
        yield [dossier(p * PAGE + i, updated=T0 + timedelta(seconds=i)) for i in range(PAGE)]


def peak_while_loading(engine, n_pages: int) -> int:
    tracemalloc.start()
    try:
        with Batch(engine, source="one_stop", stream=f"dossiers-{n_pages}") as batch:
            for page in pages(n_pages):
                batch.load_page(page)
                del page
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_is_flat_in_the_number_of_pages(sqlite_engine):
    peak_small = peak_while_loading(sqlite_engine, 4)
    peak_large = peak_while_loading(sqlite_engine, 20)  # five times the records
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)
