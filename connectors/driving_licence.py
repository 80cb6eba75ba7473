"""Connector for the transport ministry's driving-licence system (GPLX), per
docs/driving_licence_api.md."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from connectors.base import LOCAL_TZ, Record, Window
from connectors.connection import Connection
from connectors.errors import ContractError, excerpt
from connectors.paging import Paging, records_in
from connectors.rest import RestClient
from connectors.rest_source import require
from connectors.session import SessionConnector

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500  # pageSize accepted by the API: 1..500
DEFAULT_UNIT = "000.00.05.H22"  # donViXuLy: Sở Giao thông vận tải Lạng Sơn
DEFAULT_LOOKBACK_DAYS = 60  # licences are due in 5-10 working days; hand-over rarely takes weeks
DETAIL_KEY = "chiTiet"  # where each list row carries its TraCuuHoSo record
CHANGED = "NgayCapNhat"  # the detail's last change, dd/MM/yyyy HH:mm:ss local time
_CHANGED_SHAPE = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", re.ASCII)


def receive_dates(window: Window, lookback_days: int) -> tuple[date, date]:
    """The inclusive local receive-date range that covers ``window`` widened by the look-back.

    The list filters by receive date, not by change time: a dossier received weeks before the
    window may have changed in it, so the range starts ``lookback_days`` before the window.
    """
    first = window.start.astimezone(LOCAL_TZ).date() - timedelta(days=lookback_days)
    # The window is half-open: its last day is that of the last instant before ``end``.
    last = (window.end.astimezone(LOCAL_TZ) - timedelta(microseconds=1)).date()
    return first, last


class DrivingLicenceConnector(SessionConnector):
    """GPLX dossiers changed in a window, each list row with its detail.

    The list only filters by receive date, so the connector lists the dossiers received in the
    window widened by ``lookback_days``, looks each one up, and keeps those whose detail says
    they changed in the window (a detail without a readable change time is kept: the mapping
    decides what it is worth).
    """

    source = "driving_licence"
    streams = ("dossiers",)
    system = "GPLX"
    login_path = "mapi/login"
    service_path = "mapi/g"
    paging = Paging(page="page", size="pageSize", total="total", total_pages="totalPages")
    max_page_size = MAX_PAGE_SIZE

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = 200,
        client: RestClient | None = None,
        lookback_days: int = DEFAULT_LOOKBACK_DAYS,
    ) -> None:
        if lookback_days < 0:
            raise ValueError(f"lookback_days must not be negative, got {lookback_days}")
        super().__init__(connection, page_size=page_size, client=client)
        self.lookback_days = lookback_days

    def configure(self, connection: Connection) -> None:
        settings = {"login": connection.login, "password": connection.password}
        require(connection, settings, "the GPLX API")
        self.unit_code = str(connection.extra.get("donViXuLy") or DEFAULT_UNIT)

    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of list rows, each with its detail, of the dossiers changed in ``window``."""
        self.check_request(stream, window)  # here, not in the generator: fail at the call
        assert window is not None  # noqa: S101 - check_request guarantees it
        first, last = receive_dates(window, self.lookback_days)
        params = {"ngayNhan1": first.isoformat(), "ngayNhan2": last.isoformat()}
        return self._pages(params, window)

    def _pages(self, params: dict[str, Any], window: Window) -> Iterator[list[Record]]:
        previous: set[str] = set()
        listed = kept = 0
        for rows in self.pages(
            lambda paging: self.call("DanhSachHoSo", params | paging), what="DanhSachHoSo"
        ):
            keys = {key for row in rows if (key := _key(row)) is not None}
            # A list that shifted while we paged repeats the previous page's tail: one record
            # and one detail call per dossier is enough.
            fresh = [row for row in rows if _key(row) is None or _key(row) not in previous]
            previous = keys
            records = [self._with_detail(row) for row in fresh]
            changed = [r for r in records if _changed_in(r[DETAIL_KEY], window)]
            listed, kept = listed + len(records), kept + len(changed)
            if changed:
                yield changed
        log.debug(
            "GPLX: %d dossiers received in %s, %d changed in the window", listed, params, kept
        )

    def _with_detail(self, row: Record) -> Record:
        """The list row with its TraCuuHoSo record under DETAIL_KEY (None when there is none).

        A row without a usable key gets no lookup: the mapping rejects it, the batch goes on.
        """
        number = _key(row)
        return {**row, DETAIL_KEY: self._detail(number) if number is not None else None}

    def _detail(self, number: str) -> Record | None:
        reply = self.call("TraCuuHoSo", {"mahoso": number})
        rows = records_in(reply)
        if not rows:
            return None
        if len(rows) > 1 or rows[0].get("MaHoSo") != number:
            raise ContractError(
                f"TraCuuHoSo for {number!r} must answer at most one record of that dossier, "
                f"got {len(rows)} of {[str(r.get('MaHoSo')) for r in rows[:3]]}",
                payload={"records": len(rows)},
            )
        return rows[0]

    # -- GPLX's side of the session -----------------------------------------------------------
    def login_request(self) -> tuple[dict[str, Any], None]:
        return {"username": self._connection.login, "password": self._connection.password}, None

    def service_body(self, service: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"session": self._session, "service": service, "donViXuLy": self.unit_code, **params}

    def unit(self) -> str:
        return f"donViXuLy {self.unit_code}"

    def error_code(self, reply: dict[str, Any], operation: str) -> int:
        """The reply's error_code: a string of digits on the wire, an integer accepted too."""
        if "error_code" not in reply:
            raise ContractError(f"{operation}: reply has no error_code", payload=reply)
        value = reply["error_code"]
        # At most nine digits: a longer string is no error code, and int() of 5,000 would fail.
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ContractError(f"{operation}: error_code must be a string of digits", payload=reply)

    def message(self, reply: dict[str, Any]) -> str:
        return excerpt(str(reply.get("result") or "no message"), limit=120)


def _key(row: Record) -> str | None:
    value = row.get("maHoSo")
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        return None
    return str(value).strip()


def _changed_in(detail: Record | None, window: Window) -> bool:
    """False only when the detail shows a last change outside the window."""
    value = detail.get(CHANGED) if detail is not None else None
    if not isinstance(value, str) or not _CHANGED_SHAPE.fullmatch(value):
        return True
    try:
        changed = datetime.strptime(value, "%d/%m/%Y %H:%M:%S").replace(tzinfo=LOCAL_TZ)
    except ValueError:
        return True
    return changed in window
