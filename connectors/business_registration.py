"""Connector for the national business registration system (SOAP), per
docs/business_registration_api.md."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from lxml import etree

from connectors.base import LOCAL_TZ, Connector, Record, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import ContractError
from connectors.rest import paginate
from connectors.soap import SoapClient, element_to_record, is_counter
from connectors.xml_shape import CODE, COUNTER, DOSSIER_NUMBER, ShapeRules, keep_shape, shape_of

log = logging.getLogger(__name__)

WSDL_NAME = "business_registration"
NAMESPACE = "http://dangkykinhdoanh.gov.vn/ws/hoso/v1"
BINDING = f"{{{NAMESPACE}}}HoSoDangKyBinding"
OPERATION = "LayDanhSachHoSo"
MAX_PAGE_SIZE = 1000  # SoBanGhi accepted by the service: 1..1000
_COUNTS = ("Trang", "SoBanGhi", "TongSoBanGhi", "TongSoTrang")
_RECORD = f"{{{NAMESPACE}}}HoSo"
# What a contract-breaking reply keeps for diagnosis (``connectors.xml_shape``): its structure
# with every value as its shape, but paging counters, codes and dossier numbers as sent.
DIAGNOSIS = ShapeRules(
    verbatim={
        **dict.fromkeys(_COUNTS, COUNTER),
        **dict.fromkeys(("SoHoSo", "MaHoSoMotCua"), DOSSIER_NUMBER),
        **dict.fromkeys(("MaThuTuc", "MaCoQuanDangKy", "KenhNop", "TrangThai"), CODE),
    }
)


class BusinessRegistrationConnector(Connector):
    """Dossiers of the province's business registration office, as raw source records.

    A record is a dict keyed by the XSD's element names (``SoHoSo``, ``MaSoDoanhNghiep``, ...)
    with the texts as sent (``xsd:dateTime`` strings included); an absent or nil element is
    missing or ``None``.
    """

    streams = ("dossiers",)
    windowed_streams = ("dossiers",)

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = 500,
        client: SoapClient | None = None,
        **client_options: Any,
    ) -> None:
        """``client_options`` go to ``SoapClient`` (timeouts, retry policy, sleep ...)."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, got {page_size}")
        if client is None:
            missing = [name for name in ("login", "password") if not getattr(connection, name)]
            if missing:
                raise ConnectionNotConfigured(
                    f"connection {connection.conn_id!r} lacks {', '.join(missing)} for the "
                    "business registration service (WS-Security UsernameToken)"
                )
        self.page_size = page_size
        self._owns_client = client is None
        self._client = client or SoapClient.for_connection(
            connection, WSDL_NAME, BINDING, diagnosis=DIAGNOSIS, **client_options
        )

    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of raw dossier records whose NgayCapNhat lies in ``window``."""
        self.check_request(stream, window)  # here, not in the generator: fail at the call
        assert window is not None  # noqa: S101 - check_request guarantees it
        # Local time with its offset, as the service writes its own dates.
        params = {
            "TuNgay": window.start.astimezone(LOCAL_TZ),
            "DenNgay": window.end.astimezone(LOCAL_TZ),
        }
        return paginate(
            lambda page: self._fetch_page(params, page),
            rows_key="HoSo",
            total_pages_key="TongSoTrang",
            page_size=self.page_size,
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def _fetch_page(self, params: dict[str, Any], page: int) -> dict[str, Any]:
        reply = self._client.call_raw(OPERATION, **params, Trang=page, SoBanGhi=self.page_size)
        try:
            return self._read_page(reply, page)
        except ContractError as exc:  # the reply's shape goes along, for diagnosis
            keep_shape(exc, reply, DIAGNOSIS)
            raise

    def _read_page(self, reply: etree._Element, page: int) -> dict[str, Any]:
        counts = {name: _count(reply, name) for name in _COUNTS}
        # Paging relies on the echo: a server ignoring Trang would loop on page 1, and one
        # capping SoBanGhi below our size would make a middle page look like the last one.
        capped = counts["SoBanGhi"] != self.page_size and page < counts["TongSoTrang"]
        if counts["Trang"] != page or capped:
            raise ContractError(
                f"{OPERATION}: asked for page {page} of {self.page_size} rows, got page "
                f"{counts['Trang']} of {counts['SoBanGhi']}",
                payload=counts,
            )
        listing = reply.find(f"{{{NAMESPACE}}}DanhSachHoSo")
        if listing is None:
            raise ContractError(f"{OPERATION}: reply has no DanhSachHoSo", payload=counts)
        records = []
        for item in listing:
            if item.tag != _RECORD:
                raise ContractError(f"{OPERATION}: unexpected element {item.tag!r} in the list")
            records.append(element_to_record(item))
        log.debug("%s page %d: %d records", OPERATION, page, len(records))
        return {**counts, "HoSo": records}


def _count(reply: etree._Element, name: str) -> int:
    text = reply.findtext(f"{{{NAMESPACE}}}{name}")
    value = (text or "").strip()
    if text is None:
        raise ContractError(f"{OPERATION}: reply has no {name}")
    if not is_counter(value):
        # Its shape, not the value: a broken contract may have put anything there.
        raise ContractError(
            f"{OPERATION}: {name} must be a non-negative integer, got {shape_of(value)}"
        )
    return int(value)
