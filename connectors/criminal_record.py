"""Connector for the justice ministry's criminal record system (LLTP, SOAP), per
docs/criminal_record_api.md."""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

from lxml import etree

from connectors.base import LOCAL_TZ, Record, Window
from connectors.connection import Connection
from connectors.errors import AuthError, ContractError, SourceError
from connectors.paging import Paging
from connectors.soap import XSI_NIL, SoapClient, SoapFault
from connectors.soap_list import SoapListConnector, SoapListing
from connectors.xml_shape import CODE, COUNTER, DOSSIER_NUMBER, ShapeRules, reply_shape

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
PAGING = Paging(page="trang", size="soBanGhi", total="tongSoBanGhi", total_pages="tongSoTrang")

# What a contract-breaking reply keeps for diagnosis (``connectors.xml_shape``): its structure,
# paging counters, codes and dossier numbers as sent; of a record only the kept fields, of its
# result only the issue date, each as its shape; unknown elements are not opened; no text
# length (a certificate's would tell whether it lists convictions). No requester data and no
# certificate content, not even which parts a certificate has.
DIAGNOSIS = ShapeRules(
    verbatim={
        **dict.fromkeys(PAGING.counters, COUNTER),
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


def _agency(connection: Connection) -> Any:
    return connection.extra.get("madonvi") or connection.extra.get("dstcode")


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


class CriminalRecordConnector(SoapListConnector):
    """Certificate requests of the province's Department of Justice, minimised at the source.

    A record is a dict keyed by the XSD's element names, values the texts as sent (``None`` for
    an empty or nil element), holding **only** ``KEPT_FIELDS`` and ``ketQua.ngayCapPhieu``: the
    certificate's content, the conviction data and every requester field but the ID number are
    dropped here, before anything else sees the record.

    Every call carries the connection's login and password as a WS-Security UsernameToken;
    ``DangNhap`` opens a working session for the calling unit (``extra.madonvi``, else
    ``extra.dstcode``); an expired session is renewed once and the call repeated.
    """

    source = "criminal_record"
    streams = ("dossiers",)
    wsdl_name = WSDL_NAME
    binding = BINDING
    service = "criminal record service"
    max_page_size = MAX_PAGE_SIZE
    client_class = CriminalRecordSoapClient
    listing = SoapListing(
        LIST,
        NAMESPACE,
        PAGING,
        listing="danhSachHoSo",
        record="hoSo",
        diagnosis=DIAGNOSIS,
        read_record=minimised_record,
    )

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = 500,
        client: CriminalRecordSoapClient | None = None,
        **client_options: Any,
    ) -> None:
        """``client_options`` go to ``SoapClient`` (timeouts, retry policy, sleep ...)."""
        super().__init__(connection, page_size=page_size, client=client, **client_options)
        self.agency = str(_agency(connection))
        self.login = connection.login
        self._session: str | None = None

    def missing_settings(self, connection: Connection) -> list[str]:
        return [] if _agency(connection) else ["extra.madonvi (or extra.dstcode)"]

    def window_params(self, window: Window) -> dict[str, Any]:
        """ngayCapNhat in ``window``, in the service's local format."""
        return {"tuNgay": local_stamp(window.start), "denNgay": local_stamp(window.end)}

    def close(self) -> None:
        self._session = None
        super().close()

    def call(self, operation: str, **params: Any) -> etree._Element:
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
