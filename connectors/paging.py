"""Paging, once for every source: pages 1, 2, ... until the last, each reply's counters checked
and its echo of the page asked for verified, whatever the protocol (JSON object or SOAP reply)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.errors import ContractError

log = logging.getLogger(__name__)

MAX_PAGES = 10_000  # far above any real sync; only a source that never stops paging reaches it

Reply = TypeVar("Reply")


@dataclass(frozen=True)
class Paging:
    """A source's paging fields: the page number and size a request sends and its reply echoes,
    the reply's record and page counts, and (JSON replies) the key of its rows."""

    page: str
    size: str
    total: str
    total_pages: str
    rows: str = "data"

    @property
    def counters(self) -> tuple[str, str, str, str]:
        return (self.page, self.size, self.total, self.total_pages)

    def request(self, page: int, page_size: int) -> dict[str, int]:
        return {self.page: page, self.size: page_size}


def json_counters(reply: dict[str, Any], paging: Paging) -> dict[str, int]:
    """The paging counters of a JSON reply, each checked to be an integer."""
    return {key: int_field(reply, key) for key in paging.counters}


def json_rows(reply: dict[str, Any], paging: Paging) -> list[dict[str, Any]]:
    return records_in(reply, paging.rows)


def paged(
    fetch: Callable[[dict[str, int]], Reply],
    paging: Paging,
    page_size: int,
    *,
    what: str,
    counters: Callable[[Reply, Paging], dict[str, int]] = json_counters,
    rows: Callable[[Reply, Paging], list[dict[str, Any]]] = json_rows,
    diagnose: Callable[[ContractError, Reply], None] | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[list[dict[str, Any]]]:
    """The rows of every page ``fetch(paging fields)`` returns, as ``paginate`` pages them.

    Each reply's ``counters`` are read, its echo checked, then its ``rows``; a ContractError
    from any of them goes through ``diagnose`` (a SOAP source keeps the reply's shape there).
    """

    def page_rows(page: int) -> dict[str, Any]:
        reply = fetch(paging.request(page, page_size))
        try:
            counts = counters(reply, paging)
            # Paging relies on the echo: a server ignoring the page number would loop on page
            # 1, and one capping the size below ours would make a middle page look like the
            # last one. (The last page may echo its own row count: the contracts leave that
            # open.)
            capped = counts[paging.size] != page_size and page < counts[paging.total_pages]
            if counts[paging.page] != page or capped:
                raise ContractError(
                    f"{what}: asked for page {page} of {page_size} rows, got page "
                    f"{counts[paging.page]} of {counts[paging.size]}",
                    # A JSON reply as it came; of any other, only its counters.
                    payload=reply if isinstance(reply, dict) else counts,
                )
            records = rows(reply, paging)
        except ContractError as exc:
            if diagnose is not None:
                diagnose(exc, reply)
            raise
        log.debug("%s page %d: %d records", what, page, len(records))
        return {"rows": records, "pages": counts[paging.total_pages]}

    return paginate(
        page_rows,
        rows_key="rows",
        total_pages_key="pages",
        page_size=page_size,
        max_pages=max_pages,
    )


def paginate(
    fetch_page: Callable[[int], dict[str, Any]],
    *,
    rows_key: str = "data",
    total_pages_key: str | None = None,
    page_size: int | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the rows of pages 1, 2, ... from ``fetch_page(page)``.

    Stops on an empty page, on a page shorter than ``page_size``, or after the page the reply's
    ``total_pages_key`` names as the last. A source still returning full pages after
    ``max_pages`` raises ContractError rather than looping forever.
    """
    for page in range(1, max_pages + 1):
        reply = fetch_page(page)
        rows = records_in(reply, rows_key)
        total_pages = int_field(reply, total_pages_key) if total_pages_key else None
        if not rows:
            return
        yield rows
        if page_size is not None and len(rows) < page_size:
            return
        if total_pages is not None and page >= total_pages:
            return
    raise ContractError(f"source still returning full pages after {max_pages} pages")


def records_in(reply: Any, rows_key: str = "data") -> list[dict[str, Any]]:
    """``reply[rows_key]`` checked to be a list of JSON objects."""
    if not isinstance(reply, dict) or rows_key not in reply:
        raise ContractError(f"reply has no {rows_key!r} list", payload=reply)
    rows = reply[rows_key]
    if not isinstance(rows, list):
        raise ContractError(f"{rows_key!r} is {type(rows).__name__}, not a list", payload=reply)
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            # The excerpt names the type only: rows carry personal data. The page goes along
            # for diagnosis; the pipeline keeps it redacted.
            raise ContractError(
                f"{rows_key}[{index}] is {type(row).__name__}, not an object",
                payload={"row": index, "type": type(row).__name__},
                page=reply,
            )
    return rows


def int_field(reply: dict[str, Any], key: str) -> int:
    """``reply[key]`` checked to be an integer (a bool or a numeric string is a contract break)."""
    value = reply.get(key) if isinstance(reply, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ContractError(f"{key!r} must be an integer", payload=reply)
    return value
