"""The business registration stand-in as a WSGI SOAP app over a data set."""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from lxml import etree

from simulators.business_registration.dataset import TZ, Dataset
from simulators.faults import Faults
from simulators.soap import SoapApp, client_fault

NS = "http://dangkykinhdoanh.gov.vn/ws/hoso/v1"
WSDL = Path(__file__).resolve().parents[2] / "connectors" / "wsdl" / "business_registration.wsdl"
MAX_PAGE_SIZE = 1000
# The XSD sequence of HoSo: a record's elements go out in this order.
FIELDS = (
    "SoHoSo",
    "MaHoSoMotCua",
    "MaSoDoanhNghiep",
    "TenDoanhNghiep",
    "NguoiDaiDienPhapLuat",
    "MaThuTuc",
    "TenThuTuc",
    "MaCoQuanDangKy",
    "KenhNop",
    "NgayNop",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayHenTraBanDau",
    "NgayQuyetDinh",
    "NgayTraKetQua",
    "NgayRutHoSo",
    "TrangThai",
    "NgayCapNhat",
)
_NIL_WHEN_EMPTY = frozenset({"MaHoSoMotCua"})  # sent as xsi:nil rather than left out
_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def render_record(record: dict[str, str | None]) -> bytes:
    """One ``HoSo`` element (in the response's default namespace)."""
    parts = ["<HoSo>"]
    for name in FIELDS:
        value = record.get(name)
        if value is not None:
            parts.append(f"<{name}>{escape(value)}</{name}>")
        elif name in _NIL_WHEN_EMPTY and name in record:
            parts.append(f'<{name} xsi:nil="true"/>')
    parts.append("</HoSo>")
    return "".join(parts).encode()


def _instant(value: str) -> float:
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=TZ)).timestamp()


class BusinessRegistrationApp(SoapApp):
    """``LayDanhSachHoSo`` over a data set; record XML is rendered once, pages are slices."""

    def __init__(
        self,
        dataset: Dataset,
        faults: Faults | None = None,
        username: str = "demo",
        password: str = "demo-secret",  # noqa: S107 - the stand-in\'s demo login
    ) -> None:
        faults = faults or Faults()
        if faults.malformed_rate and not dataset.malformed:
            dataset = dataset.with_malformed(faults.malformed_rate, faults.seed)
        super().__init__(WSDL, {"LayDanhSachHoSo": self._list}, faults, username, password)
        self.dataset = dataset
        # Rows are in (NgayCapNhat, SoHoSo) order: a window is a bisect, a page a slice.
        self._cursors = [_instant(r["NgayCapNhat"] or "") for r in dataset.dossiers]
        self._fragments = [render_record(r) for r in dataset.dossiers]

    def _list(self, request: etree._Element) -> bytes:
        start, end = _moment(request, "TuNgay"), _moment(request, "DenNgay")
        if start > end:
            raise client_fault("TuNgay is after DenNgay")
        page = _integer(request, "Trang", 1, None)
        size = _integer(request, "SoBanGhi", 1, MAX_PAGE_SIZE)
        low, high = bisect_left(self._cursors, start), bisect_left(self._cursors, end)
        first = low + (page - 1) * size
        rows = self._fragments[first : min(first + size, high)] if first < high else []
        repeat = (
            self.injector.repeat_count("LayDanhSachHoSo", start, end, page, size) if rows else 0
        )
        if repeat and first > low:  # a shifting source: the previous page's tail comes again
            rows = self._fragments[max(low, first - repeat) : first] + rows
        total = high - low
        head = (
            f'<LayDanhSachHoSoResponse xmlns="{NS}" xmlns:xsi="{_XSI}"><Trang>{page}</Trang>'
            f"<SoBanGhi>{size}</SoBanGhi><TongSoBanGhi>{total}</TongSoBanGhi>"
            f"<TongSoTrang>{-(-total // size)}</TongSoTrang><DanhSachHoSo>"
        )
        return b"".join((head.encode(), *rows, b"</DanhSachHoSo></LayDanhSachHoSoResponse>"))


def _text(request: etree._Element, name: str) -> str:
    value = request.findtext(f"{{{NS}}}{name}")
    if value is None or not value.strip():
        raise client_fault(f"{name} is required")
    return value.strip()


def _moment(request: etree._Element, name: str) -> float:
    value = _text(request, name)
    try:
        if "T" not in value:
            raise ValueError(value)
        return _instant(value)
    except ValueError:
        raise client_fault(f"{name} is not an xsd:dateTime: {value!r}") from None


def _integer(request: etree._Element, name: str, low: int, high: int | None) -> int:
    value = _text(request, name)
    number = int(value) if value.isdigit() else -1
    if number < low or (high is not None and number > high):
        bounds = f"{low}..{high}" if high else f">= {low}"
        raise client_fault(f"{name} must be an integer {bounds}, got {value!r}")
    return number


def make_app(
    dataset: Dataset,
    faults: Faults | None = None,
    username: str = "demo",
    password: str = "demo-secret",  # noqa: S107 - the stand-in\'s demo login
) -> BusinessRegistrationApp:
    """The stand-in over ``dataset``; ``faults.malformed_rate`` corrupts a fixed subset of it."""
    return BusinessRegistrationApp(dataset, faults, username, password)
