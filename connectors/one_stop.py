"""Connector for the province's one-stop software (Một cửa điện tử), per docs/one_stop_api.md."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import LOCAL_TZ, Connector, Record, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import AuthError, ContractError, excerpt
from connectors.rest import RestClient, int_field, paginate, records_in
from connectors.session import BAD_CREDENTIALS, OK, call_in_session

log = logging.getLogger(__name__)

LOGIN_PATH = "api/login"
SERVICE_PATH = "api/service"
MAX_PAGE_SIZE = 1000  # SoBanGhi accepted by the API: 1..1000

# error_code values of the contract; any other non-zero code is a contract-level failure.


@dataclass(frozen=True)
class _Stream:
    service: str  # the API's operation name
    paged: bool
    windowed: bool


_STREAMS = {
    "agencies": _Stream("LayDanhMucCoQuan", paged=False, windowed=False),
    "procedures": _Stream("LayDanhMucTTHC", paged=True, windowed=False),
    "dossiers": _Stream("LayDanhSachHoSo", paged=True, windowed=True),
    "ratings": _Stream("LayDanhSachDanhGia", paged=True, windowed=True),
}


def local_stamp(instant: datetime) -> str:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh, the API's date format (sub-seconds dropped)."""
    return instant.astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S")


class OneStopConnector(Connector):
    """Dossiers, ratings and catalogues of the one-stop software, as raw source rows."""

    streams = tuple(_STREAMS)
    windowed_streams = tuple(name for name, spec in _STREAMS.items() if spec.windowed)

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = MAX_PAGE_SIZE,
        client: RestClient | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, got {page_size}")
        missing = [
            name
            for name, value in (
                ("login", connection.login),
                ("password", connection.password),
                ("extra.dstcode", connection.extra.get("dstcode")),
            )
            if not value
        ]
        if missing:
            raise ConnectionNotConfigured(
                f"connection {connection.conn_id!r} lacks {', '.join(missing)} for the one-stop API"
            )
        self._connection = connection
        self.dstcode = str(connection.extra["dstcode"])
        self.madonvi = str(connection.extra.get("madonvi") or self.dstcode)
        self.page_size = page_size
        self._owns_client = client is None
        self._client = client or RestClient.for_connection(connection)
        self._session: str | None = None

    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of raw rows of ``stream`` (dossiers and ratings: changed in ``window``)."""
        self.check_request(stream, window)  # here, not in the generator: fail at the call
        params: dict[str, Any] = {}
        if window is not None:
            params = {"TuNgay": local_stamp(window.start), "DenNgay": local_stamp(window.end)}
        return self._pages(_STREAMS[stream], params)

    def _pages(self, spec: _Stream, params: dict[str, Any]) -> Iterator[list[Record]]:
        if not spec.paged:
            rows = records_in(self._call(spec.service, params))
            if rows:
                yield rows
            return
        yield from paginate(
            lambda page: self._fetch_page(spec.service, params, page),
            total_pages_key="TongSoTrang",
            page_size=self.page_size,
        )

    def close(self) -> None:
        self._session = None
        if self._owns_client:
            self._client.close()

    def _fetch_page(self, service: str, params: dict[str, Any], page: int) -> dict[str, Any]:
        reply = self._call(service, {**params, "Trang": page, "SoBanGhi": self.page_size})
        for key in ("Trang", "SoBanGhi", "TongSoBanGhi", "TongSoTrang"):
            int_field(reply, key)
        # Paging relies on the echo: a server ignoring Trang would loop on page 1, and one
        # capping SoBanGhi below our size would make a middle page look like the last one.
        # (The last page may echo its own row count: the contract leaves that open.)
        capped = reply["SoBanGhi"] != self.page_size and page < reply["TongSoTrang"]
        if reply["Trang"] != page or capped:
            raise ContractError(
                f"{service}: asked for page {page} of {self.page_size} rows, got page "
                f"{reply['Trang']} of {reply['SoBanGhi']}",
                payload=reply,
            )
        log.debug("%s page %d: %d rows", service, page, len(reply.get("data") or []))
        return reply

    def _call(self, service: str, params: dict[str, Any]) -> dict[str, Any]:
        """One service call; an expired session is renewed once and the call repeated."""
        if self._session is None:
            self._login()

        def send() -> dict[str, Any]:
            return self._client.post_json(
                SERVICE_PATH,
                {"session": self._session, "madonvi": self.madonvi, "service": service, **params},
            )

        return call_in_session(
            send,
            operation=service,
            system="one-stop",
            error_code=_error_code,
            message=_message,
            relogin=self._login,
        )

    def _login(self) -> None:
        credentials = {"username": self._connection.login, "password": self._connection.password}
        try:
            reply = self._client.post_json(
                LOGIN_PATH, credentials, headers={"dstcode": self.dstcode}
            )
        except AuthError as exc:
            raise AuthError(
                f"one-stop login refused for user {self._connection.login!r} at {self.dstcode}",
                status=exc.status,
                payload=exc.payload,
            ) from None
        code = _error_code(reply, "login")
        if code == BAD_CREDENTIALS:
            raise AuthError(f"one-stop login refused for user {self._connection.login!r}")
        if code != OK:
            raise ContractError(f"login failed with error_code {code}", payload=reply)
        session = reply.get("session")
        if not isinstance(session, str) or not session:
            raise ContractError("login reply has no session token", payload=reply)
        self._session = session
        log.info(
            "logged in to the one-stop API as %r (dstcode %s)", self._connection.login, self.dstcode
        )


def _error_code(reply: dict[str, Any], operation: str) -> int:
    if "error_code" not in reply:
        raise ContractError(f"{operation}: reply has no error_code", payload=reply)
    return int_field(reply, "error_code")


def _message(reply: dict[str, Any]) -> str:
    return excerpt(str(reply.get("message") or "no message"), limit=120)
