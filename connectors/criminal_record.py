"""Connector for the justice ministry's criminal record system (LLTP, SOAP), per
docs/criminal_record_api.md."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from lxml import etree

from connectors.base import LOCAL_TZ, Connector, Record, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import AuthError, ContractError, SourceError
from connectors.rest import paginate
from connectors.soap import XSI_NIL, SoapClient, SoapFault, is_counter
from connectors.xml_shape import (
    CODE,
    COUNTER,
    DOSSIER_NUMBER,
    ShapeRules,
    keep_shape,
    reply_shape,
    shape_of,
)

log = logging.getLogger(__name__)

WSDL_NAME = "criminal_record"
NAMESPACE = "http://lltp.moj.gov.vn/ws/lienthong/v1"
BINDING = f"{{{NAMESPACE}}}LienThongLLTPBinding"
LOGIN, LIST = "DangNhap", "LayDanhSachHoSo"
MAX_PAGE_SIZE = 1000  # soBanGhi accepted by the service: 1..1000
DATE_FMT = "%d/%m/%Y %H:%M:%S"  # the service's instants, local time
# The contract's own fault codes (SOAP 1.1 dotted codes under Client).
SESSION_EXPIRED = "Client.PhienHetHan"
NOT_AUTHORISED = "Client.KhongCoQuyen"

# Data minimisation: the only fields a yielded record keeps, those the mapping reads. The
# requester's name, birth date, address, contacts and parents, the certificate number, its text
# and any conviction are never copied out of the reply, so no log line, quarantine row or
# landing store can hold them. The ID number stays for the mapping to hash.
KEPT_FIELDS = frozenset(
    {
        "maHoSoMCDT",
        "maTTHC",
        "hinhThucNop",
        "loaiPhieu",
        "maMucDich",
        "nycSoGiayTo",
        "ngayNopHoSo",
        "ngayTiepNhan",
        "ngayHenTra",
        "ngayTraKetQua",
        "trangThaiXuLy",
        "ngayCapNhat",
    }
)
KEPT_RESULT_FIELDS = frozenset({"ngayCapPhieu"})  # of ketQua: the issue date, not the certificate
_RESULT = "ketQua"
_COUNTS = ("trang", "soBanGhi", "tongSoBanGhi", "tongSoTrang")
_RECORD = f"{{{NAMESPACE}}}hoSo"

# What a contract-breaking reply keeps for diagnosis (``connectors.xml_shape``): its structure,
# paging counters, codes and dossier numbers as sent; of a record only the kept fields, of its
# result only the issue date, each as its shape; unknown elements are not opened; no text
# length (a certificate's would tell whether it lists convictions). No requester data and no
# certificate content, not even which parts a certificate has.
DIAGNOSIS = ShapeRules(
    verbatim={
        **dict.fromkeys(_COUNTS, COUNTER),
        "maHoSoMCDT": DOSSIER_NUMBER,
        **dict.fromkeys(("maTTHC", "hinhThucNop", "loaiPhieu", "maMucDich", "trangThaiXuLy"), CODE),
    },
    only={"hoSo": KEPT_FIELDS | {_RESULT}, _RESULT: KEPT_RESULT_FIELDS},
    opened=frozenset(
        {"DangNhapResponse", "LayDanhSachHoSoResponse", "danhSachHoSo", "hoSo", _RESULT}
    ),
    lengths=False,
)


class SessionExpired(AuthError):
    """The service ended our working session (``Client.PhienHetHan``): log in again."""


class CriminalRecordSoapClient(SoapClient):
    """``SoapClient`` that also tells the contract's own fault codes apart.

    The shared client turns every Client fault into a ContractError; LLTP's session expiry and
    refused agency are Client faults too, but they mean "log in again" and "fix the account".
    """

    diagnosis = DIAGNOSIS

    def fault_error(self, fault: SoapFault, where: str, *, status: int | None) -> SourceError:
        code = fault.codes[0] if fault.codes else None
        if code == SESSION_EXPIRED:
            return SessionExpired(f"{where}: working session expired", status=status)
        if code == NOT_AUTHORISED:
            return AuthError(f"{where}: the account may not read this agency's data", status=status)
        return super().fault_error(fault, where, status=status)


def local_stamp(instant: datetime) -> str:
    """``dd/MM/yyyy HH:mm:ss`` in Asia/Ho_Chi_Minh, the service's format (sub-seconds dropped)."""
    return instant.astimezone(LOCAL_TZ).strftime(DATE_FMT)


class CriminalRecordConnector(Connector):
    """Certificate requests of the province's Department of Justice, minimised at the source.

    A record is a dict keyed by the XSD's element names, values the texts as sent (``None`` for
    an empty or nil element), holding **only** ``KEPT_FIELDS`` and ``ketQua.ngayCapPhieu``: the
    certificate's content, the conviction data and every requester field but the ID number are
    dropped here, before anything else sees the record.

    Every call carries the connection's login and password as a WS-Security UsernameToken;
    ``DangNhap`` opens a working session for the calling unit (``extra.madonvi``, else
    ``extra.dstcode``); an expired session is renewed once and the call repeated.
    """

    streams = ("dossiers",)
    windowed_streams = ("dossiers",)

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = 500,
        client: CriminalRecordSoapClient | None = None,
        **client_options: Any,
    ) -> None:
        """``client_options`` go to ``SoapClient`` (timeouts, retry policy, sleep ...)."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, got {page_size}")
        agency = connection.extra.get("madonvi") or connection.extra.get("dstcode")
        missing = [] if agency else ["extra.madonvi (or extra.dstcode)"]
        if client is None:  # a given client brings its own UsernameToken
            missing += [name for name in ("login", "password") if not getattr(connection, name)]
        if missing:
            raise ConnectionNotConfigured(
                f"connection {connection.conn_id!r} lacks {', '.join(missing)} for the "
                "criminal record service"
            )
        self.agency = str(agency)
        self.login = connection.login
        self.page_size = page_size
        self._owns_client = client is None
        self._client = client or CriminalRecordSoapClient.for_connection(
            connection, WSDL_NAME, BINDING, **client_options
        )
        self._session: str | None = None

    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of minimised request records whose ngayCapNhat lies in ``window``."""
        self.check_request(stream, window)  # here, not in the generator: fail at the call
        assert window is not None  # noqa: S101 - check_request guarantees it
        params = {"tuNgay": local_stamp(window.start), "denNgay": local_stamp(window.end)}
        return paginate(
            lambda page: self._fetch_page(params, page),
            rows_key="hoSo",
            total_pages_key="tongSoTrang",
            page_size=self.page_size,
        )

    def close(self) -> None:
        self._session = None
        if self._owns_client:
            self._client.close()

    def _fetch_page(self, params: dict[str, Any], page: int) -> dict[str, Any]:
        reply = self._call(LIST, **params, trang=page, soBanGhi=self.page_size)
        try:
            return self._read_page(reply, page)
        except ContractError as exc:  # the reply's shape goes along, for diagnosis
            keep_shape(exc, reply, DIAGNOSIS)
            raise

    def _read_page(self, reply: etree._Element, page: int) -> dict[str, Any]:
        counts = {name: _count(reply, name) for name in _COUNTS}
        # Paging relies on the echo: a server ignoring trang would loop on page 1, and one
        # capping soBanGhi below our size would make a middle page look like the last one.
        capped = counts["soBanGhi"] != self.page_size and page < counts["tongSoTrang"]
        if counts["trang"] != page or capped:
            raise ContractError(
                f"{LIST}: asked for page {page} of {self.page_size} rows, got page "
                f"{counts['trang']} of {counts['soBanGhi']}",
                payload=counts,
            )
        listing = reply.find(f"{{{NAMESPACE}}}danhSachHoSo")
        if listing is None:
            raise ContractError(f"{LIST}: reply has no danhSachHoSo", payload=counts)
        records = []
        for item in listing:
            if not isinstance(item.tag, str):
                continue  # a comment
            if item.tag != _RECORD:
                raise ContractError(f"{LIST}: unexpected element {item.tag!r} in the list")
            records.append(minimised_record(item))
        log.debug("%s page %d: %d records", LIST, page, len(records))
        return {**counts, "hoSo": records}

    def _call(self, operation: str, **params: Any) -> etree._Element:
        """One data call in the working session; an expired session is renewed once."""
        for attempt in (1, 2):
            if self._session is None:
                self._login()
            header = {"phien": {"maPhien": self._session}}
            try:
                return self._client.call_raw(operation, **params, _soapheaders=header)
            except SessionExpired:
                self._session = None
                if attempt == 2:
                    raise AuthError(
                        f"{operation}: session expired again right after a fresh login"
                    ) from None
                log.info("LLTP session expired during %s; logging in again", operation)
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _login(self) -> None:
        try:
            reply = self._client.call_raw(LOGIN, maDonVi=self.agency)
        except AuthError as exc:
            raise AuthError(
                f"LLTP login refused for user {self.login!r} at {self.agency} ({exc})",
                status=exc.status,
            ) from None
        session = (reply.findtext(f"{{{NAMESPACE}}}maPhien") or "").strip()
        if not session:
            raise ContractError(
                f"{LOGIN}: reply has no maPhien", page=reply_shape(reply, DIAGNOSIS)
            )
        self._session = session
        log.info("logged in to LLTP as %r (maDonVi %s)", self.login, self.agency)


def minimised_record(element: etree._Element) -> Record:
    """The kept fields of one ``hoSo`` element; nothing else is read out of it."""
    record: Record = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = _localname(tag)
        if name == _RESULT:
            value: Any = _result(child)
        elif name in KEPT_FIELDS:
            value = _leaf(child)
        else:
            continue
        if name in record:
            raise ContractError(f"element {name!r} repeated in <hoSo>")
        record[name] = value
    return record


@functools.lru_cache(maxsize=1024)
def _localname(tag: str) -> str:
    """``{namespace}name`` -> ``name`` (a page repeats a few dozen tags thousands of times)."""
    return tag.rpartition("}")[2]


def _result(element: etree._Element) -> dict[str, Any] | None:
    if element.get(XSI_NIL) in ("true", "1"):
        return None
    kept = {}
    for child in element:
        if isinstance(child.tag, str) and (name := _localname(child.tag)) in KEPT_RESULT_FIELDS:
            kept[name] = _leaf(child)
    return kept


def _leaf(element: etree._Element) -> Any:
    """A leaf's text (None when empty or nil). An element with children where text belongs
    yields only the children's names, never their content: the mapping rejects it."""
    if len(element):
        return {
            "unexpected_children": sorted(
                {etree.QName(c).localname for c in element if isinstance(c.tag, str)}
            )
        }
    if element.get(XSI_NIL) in ("true", "1"):
        return None
    text = element.text
    return text if text and text.strip() else None


def _count(reply: etree._Element, name: str) -> int:
    text = reply.findtext(f"{{{NAMESPACE}}}{name}")
    value = (text or "").strip()
    if text is None:
        raise ContractError(f"{LIST}: reply has no {name}")
    if not is_counter(value):
        # Its shape, not the value: a broken contract may have put anything there.
        raise ContractError(f"{LIST}: {name} must be a non-negative integer, got {shape_of(value)}")
    return int(value)
