"""Connector for the national business registration system (SOAP), per
docs/business_registration_api.md."""

from __future__ import annotations

from typing import Any

from connectors.base import LOCAL_TZ, Window
from connectors.paging import Paging
from connectors.soap_list import SoapListConnector, SoapListing
from connectors.xml_shape import CODE, COUNTER, DOSSIER_NUMBER, ShapeRules

WSDL_NAME = "business_registration"
NAMESPACE = "http://dangkykinhdoanh.gov.vn/ws/hoso/v1"
BINDING = f"{{{NAMESPACE}}}HoSoDangKyBinding"
OPERATION = "LayDanhSachHoSo"
MAX_PAGE_SIZE = 1000  # SoBanGhi accepted by the service: 1..1000
PAGING = Paging(page="Trang", size="SoBanGhi", total="TongSoBanGhi", total_pages="TongSoTrang")
# What a contract-breaking reply keeps for diagnosis (``connectors.xml_shape``): its structure
# with every value as its shape, but paging counters, codes and dossier numbers as sent.
DIAGNOSIS = ShapeRules(
    verbatim={
        **dict.fromkeys(PAGING.counters, COUNTER),
        **dict.fromkeys(("SoHoSo", "MaHoSoMotCua"), DOSSIER_NUMBER),
        **dict.fromkeys(("MaThuTuc", "MaCoQuanDangKy", "KenhNop", "TrangThai"), CODE),
    }
)


class BusinessRegistrationConnector(SoapListConnector):
    """Dossiers of the province's business registration office, as raw source records.

    A record is a dict keyed by the XSD's element names (``SoHoSo``, ``MaSoDoanhNghiep``, ...)
    with the texts as sent (``xsd:dateTime`` strings included); an absent or nil element is
    missing or ``None``.
    """

    source = "business_registration"
    streams = ("dossiers",)
    wsdl_name = WSDL_NAME
    binding = BINDING
    service = "business registration service (WS-Security UsernameToken)"
    max_page_size = MAX_PAGE_SIZE
    listing = SoapListing(
        OPERATION, NAMESPACE, PAGING, listing="DanhSachHoSo", record="HoSo", diagnosis=DIAGNOSIS
    )

    def window_params(self, window: Window) -> dict[str, Any]:
        """NgayCapNhat in ``window``: local time with its offset, as the service writes dates."""
        return {
            "TuNgay": window.start.astimezone(LOCAL_TZ),
            "DenNgay": window.end.astimezone(LOCAL_TZ),
        }
