"""Connector for the province's one-stop software (Một cửa điện tử), per docs/one_stop_api.md."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import LOCAL_TZ, Record, Window
from connectors.connection import Connection
from connectors.errors import ContractError, excerpt
from connectors.paging import Paging, int_field, records_in
from connectors.rest import RestClient
from connectors.rest_source import require
from connectors.session import SessionConnector

MAX_PAGE_SIZE = 1000  # SoBanGhi accepted by the API: 1..1000


@dataclass(frozen=True)
class _Stream:
    service: str  # the API's operation name
    paged: bool


_STREAMS = {
    "agencies": _Stream("LayDanhMucCoQuan", paged=False),
    "procedures": _Stream("LayDanhMucTTHC", paged=True),
    "dossiers": _Stream("LayDanhSachHoSo", paged=True),
    "ratings": _Stream("LayDanhSachDanhGia", paged=True),
}


def local_stamp(instant: datetime) -> str:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh, the API's date format (sub-seconds dropped)."""
    return instant.astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S")


class OneStopConnector(SessionConnector):
    """Dossiers, ratings and catalogues of the one-stop software, as raw source rows."""

    source = "one_stop"
    streams = tuple(_STREAMS)
    system = "one-stop"
    login_path = "api/login"
    service_path = "api/service"
    paging = Paging(page="Trang", size="SoBanGhi", total="TongSoBanGhi", total_pages="TongSoTrang")
    max_page_size = MAX_PAGE_SIZE

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = MAX_PAGE_SIZE,
        client: RestClient | None = None,
    ) -> None:
        super().__init__(connection, page_size=page_size, client=client)

    def configure(self, connection: Connection) -> None:
        dstcode = connection.extra.get("dstcode")
        settings = {"login": connection.login, "password": connection.password}
        require(connection, settings | {"extra.dstcode": dstcode}, "the one-stop API")
        self.dstcode = str(dstcode)
        self.madonvi = str(connection.extra.get("madonvi") or self.dstcode)

    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of raw rows of ``stream`` (dossiers and ratings: changed in ``window``)."""
        self.check_request(stream, window)  # here, not in the generator: fail at the call
        params: dict[str, Any] = {}
        if window is not None:
            params = {"TuNgay": local_stamp(window.start), "DenNgay": local_stamp(window.end)}
        service = _STREAMS[stream].service
        if _STREAMS[stream].paged:
            return self.pages(lambda paging: self.call(service, params | paging), what=service)
        return self._whole(service, params)

    def _whole(self, service: str, params: dict[str, Any]) -> Iterator[list[Record]]:
        rows = records_in(self.call(service, params))
        if rows:
            yield rows

    # -- the one-stop's side of the session ----------------------------------------------------
    def login_request(self) -> tuple[dict[str, Any], dict[str, str]]:
        credentials = {"username": self._connection.login, "password": self._connection.password}
        return credentials, {"dstcode": self.dstcode}

    def service_body(self, service: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"session": self._session, "madonvi": self.madonvi, "service": service, **params}

    def unit(self) -> str:
        return f"dstcode {self.dstcode}"

    def error_code(self, reply: dict[str, Any], operation: str) -> int:
        if "error_code" not in reply:
            raise ContractError(f"{operation}: reply has no error_code", payload=reply)
        return int_field(reply, "error_code")

    def message(self, reply: dict[str, Any]) -> str:
        return excerpt(str(reply.get("message") or "no message"), limit=120)
