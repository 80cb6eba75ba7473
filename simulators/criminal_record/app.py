"""The LLTP stand-in as a WSGI SOAP app over a data set: ``DangNhap`` opens a session,
``LayDanhSachHoSo`` pages through requests changed in a window (docs/criminal_record_api.md)."""

from __future__ import annotations

import re
import secrets
import threading
from bisect import bisect_left
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from simulators.criminal_record.scenario import TZ, Dataset
from simulators.faults import Faults
from simulators.soap import SOAP_ENV, SoapApp, SoapFaultReply, client_fault

NS = "http://lltp.moj.gov.vn/ws/lienthong/v1"
WSDL = Path(__file__).resolve().parents[2] / "connectors" / "wsdl" / "criminal_record.wsdl"
MAX_PAGE_SIZE = 1000
# SOAP 1.1 dotted fault codes of the contract: the client tells them apart by code.
SESSION_EXPIRED = "soap:Client.PhienHetHan"
NOT_AUTHORISED = "soap:Client.KhongCoQuyen"
BAD_PARAMETER = "soap:Client.ThamSoKhongHopLe"
_AGENCY = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H22")  # any agency of the province (H22)
_INSTANT = re.compile(r"(\d\d)/(\d\d)/(\d{4}) (\d\d):(\d\d):(\d\d)")
_XSI = "http://www.w3.org/2001/XMLSchema-instance"

# The XSD sequences: a record's elements go out in this order.
FIELDS = (
    "maHoSoMCDT", "maHoSoLLTP", "maTTHC", "hinhThucNop", "loaiPhieu", "maMucDich", "soLuongCap",
    "nycHoTen", "nycGioiTinh", "nycNgaySinh", "nycNoiSinh", "nycQuocTich", "nycLoaiGiayTo",
    "nycSoGiayTo", "nycNgayCapGiayTo", "nycNoiCapGiayTo", "nycDiaChi", "nycDienThoai",
    "nycEmail", "nycHoTenCha", "nycHoTenMe", "ngayNopHoSo", "ngayTiepNhan", "ngayHenTra",
    "ngayTraKetQua", "trangThaiXuLy", "ketQua", "ngayCapNhat",
)  # fmt: skip
RESULT_FIELDS = ("soPhieuLLTP", "ngayCapPhieu", "nguoiKy", "noiDungPhieu", "thongTinAnTich",
                 "thongTinCamDamNhiemChucVu")  # fmt: skip
CONVICTION_FIELDS = ("soBanAn", "ngayTuyenAn", "toaAnXetXu", "toiDanh", "hinhPhat",
                     "tinhTrangThiHanhAn")  # fmt: skip


def _leaves(names: tuple[str, ...], values: dict[str, Any], parts: list[str]) -> None:
    for name in names:
        if name not in values:
            continue
        value = values[name]
        if value is None:  # the service writes "none" as xsi:nil, never as a missing element
            parts.append(f'<{name} xsi:nil="true"/>')
        elif name == "ketQua":
            parts.append("<ketQua>")
            _leaves(RESULT_FIELDS, value, parts)
            parts.append("</ketQua>")
        elif name == "thongTinAnTich":
            parts.append("<thongTinAnTich>")
            for conviction in value:
                parts.append("<anTich>")
                _leaves(CONVICTION_FIELDS, conviction, parts)
                parts.append("</anTich>")
            parts.append("</thongTinAnTich>")
        else:
            parts.append(f"<{name}>{escape(str(value))}</{name}>")


def render_record(record: dict[str, Any]) -> bytes:
    """One ``hoSo`` element (in the response's default namespace), content and all."""
    parts = ["<hoSo>"]
    _leaves(FIELDS, record, parts)
    parts.append("</hoSo>")
    return "".join(parts).encode()


def sort_key(stamp: str) -> str:
    """``dd/MM/yyyy HH:mm:ss`` as ``yyyyMMddHHmmss``, which sorts like the instants."""
    match = _INSTANT.fullmatch(stamp)
    if not match:
        raise ValueError(stamp)
    day, month, year, hour, minute, second = match.groups()
    datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))  # validates
    return f"{year}{month}{day}{hour}{minute}{second}"


class CriminalRecordApp(SoapApp):
    """``DangNhap`` and ``LayDanhSachHoSo`` over a data set. Record XML is rendered once; a
    window is a bisect and a page a slice. ``faults.session_ttl`` ends a session after that
    many data calls, with the contract's ``Client.PhienHetHan`` fault."""

    def __init__(
        self,
        dataset: Dataset,
        faults: Faults | None = None,
        username: str = "demo",
        password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
    ) -> None:
        faults = faults or Faults()
        if faults.malformed_rate and not dataset.malformed:
            dataset = dataset.with_malformed(faults.malformed_rate, faults.seed)
        operations = {"DangNhap": self._login, "LayDanhSachHoSo": self._list}
        super().__init__(WSDL, operations, faults, username, password)
        self.dataset = dataset
        self._cursors = [sort_key(r["ngayCapNhat"]) for r in dataset.dossiers]
        self._fragments = [render_record(r) for r in dataset.dossiers]
        self._sessions: dict[str, int] = {}  # token -> data calls served
        self._lock = threading.Lock()
        self.logins = 0

    def _login(self, request: etree._Element) -> bytes:
        agency = _text(request, "maDonVi")
        if not _AGENCY.fullmatch(agency):
            raise SoapFaultReply(NOT_AUTHORISED, f"account may not read data for {agency!r}")
        token = secrets.token_hex(16)
        with self._lock:
            self.logins += 1
            self._sessions[token] = 0
            while len(self._sessions) > 10_000:  # forget the oldest sessions of a busy client
                del self._sessions[next(iter(self._sessions))]
        expires = (datetime.now(TZ) + timedelta(hours=8)).strftime("%d/%m/%Y %H:%M:%S")
        return (
            f'<DangNhapResponse xmlns="{NS}"><maPhien>{token}</maPhien>'
            f"<hetHan>{expires}</hetHan></DangNhapResponse>"
        ).encode()

    def _use_session(self, request: etree._Element) -> None:
        """Count one call against the header's session; a fault once unknown or used up."""
        envelope = request.getparent().getparent()  # payload -> Body -> Envelope
        token = envelope.findtext(f"{{{SOAP_ENV}}}Header/{{{NS}}}PhienLamViec/{{{NS}}}maPhien")
        ttl = self.faults.session_ttl
        with self._lock:
            used = self._sessions.get((token or "").strip())
            if used is not None and ttl and used >= ttl:
                del self._sessions[token.strip()]
                used = None
            if used is None:
                raise SoapFaultReply(
                    SESSION_EXPIRED, "Phiên làm việc không tồn tại hoặc đã hết hạn"
                )
            self._sessions[token.strip()] = used + 1

    def _list(self, request: etree._Element) -> bytes:
        self._use_session(request)
        start, end = _moment(request, "tuNgay"), _moment(request, "denNgay")
        if start > end:
            raise SoapFaultReply(BAD_PARAMETER, "tuNgay is after denNgay")
        page = _integer(request, "trang", 1, None)
        size = _integer(request, "soBanGhi", 1, MAX_PAGE_SIZE)
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
            f'<LayDanhSachHoSoResponse xmlns="{NS}" xmlns:xsi="{_XSI}"><trang>{page}</trang>'
            f"<soBanGhi>{size}</soBanGhi><tongSoBanGhi>{total}</tongSoBanGhi>"
            f"<tongSoTrang>{-(-total // size)}</tongSoTrang><danhSachHoSo>"
        )
        return b"".join((head.encode(), *rows, b"</danhSachHoSo></LayDanhSachHoSoResponse>"))


def _text(request: etree._Element, name: str) -> str:
    value = request.findtext(f"{{{NS}}}{name}")
    if value is None or not value.strip():
        raise client_fault(f"{name} is required")
    return value.strip()


def _moment(request: etree._Element, name: str) -> str:
    value = _text(request, name)
    try:
        return sort_key(value)
    except ValueError:
        raise SoapFaultReply(
            BAD_PARAMETER, f"{name} is not dd/MM/yyyy HH:mm:ss: {value!r}"
        ) from None


def _integer(request: etree._Element, name: str, low: int, high: int | None) -> int:
    value = _text(request, name)
    number = int(value) if value.isdigit() else -1
    if number < low or (high is not None and number > high):
        bounds = f"{low}..{high}" if high else f">= {low}"
        raise SoapFaultReply(BAD_PARAMETER, f"{name} must be an integer {bounds}, got {value!r}")
    return number


def make_app(
    dataset: Dataset,
    faults: Faults | None = None,
    username: str = "demo",
    password: str = "demo-secret",  # noqa: S107 - the stand-in's demo login
) -> CriminalRecordApp:
    """The stand-in over ``dataset``; ``faults.malformed_rate`` corrupts a fixed subset of it."""
    return CriminalRecordApp(dataset, faults, username, password)
