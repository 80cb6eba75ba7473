"""Shared SOAP client for SOAP sources: the repository's WSDL, WS-Security, timeouts, retries,
typed faults and hardened XML parsing of replies.

zeep owns the contract (WSDL, request building, the binding's address, the UsernameToken header);
replies are read raw and parsed here with a hardened lxml parser, then either bound by zeep
(``SoapClient.call``) or handed back as the payload element (``SoapClient.call_raw``), which
``element_to_record`` turns into plain dicts spelled as the source spells them. The raw path is
the one for bulk list replies: zeep's object binding is several times slower.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlparse

import requests
from lxml import etree
from requests.adapters import HTTPAdapter
from zeep import Client, Settings, Transport
from zeep import exceptions as zeep_exceptions
from zeep.helpers import serialize_object
from zeep.wsse.username import UsernameToken

from connectors.connection import Connection
from connectors.errors import AuthError, ContractError, SourceError, TransientError
from connectors.retry import (
    AUTH_STATUSES,
    RETRY_STATUSES,
    RetryPolicy,
    declared_length,
    network_errors,
    parse_retry_after,
    with_retries,
)
from connectors.xml_shape import ShapeRules, keep_shape

log = logging.getLogger(__name__)

WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
MAX_REPLY_BYTES = 50 * 1024 * 1024  # far above a 1000-record page (~1 MB); refuses runaway bodies
# The deepest contract (Envelope/Body/reply/list/record/field/part) nests 7 elements; lxml alone
# (huge_tree off) stops at 256, deeper than the recursive readers here should walk.
MAX_XML_DEPTH = 64
_DEEPER_THAN_MAX = etree.XPath("boolean(/" + "/".join(["*"] * (MAX_XML_DEPTH + 1)) + ")")
_COUNTER = re.compile(r"[0-9]{1,9}")

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

# How a fault says what went wrong. Authentication failures use the WS-Security fault codes
# (OASIS WSS 1.0 §12), as a faultcode (SOAP 1.1) or a Subcode (SOAP 1.2); they take precedence
# over the Client/Sender class they also belong to.
AUTH_FAULT_CODES = frozenset(
    {"FailedAuthentication", "InvalidSecurityToken", "InvalidSecurity", "FailedCheck"}
)
SERVER_FAULT_CODES = frozenset({"Server", "Receiver"})  # worth retrying
CLIENT_FAULT_CODES = frozenset({"Client", "Sender"})  # our request is wrong: never retried

_CHUNK = 64 * 1024
_ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)")


class _UnboundValues(logging.Filter):
    """zeep turns a value its XSD type cannot hold ("12a" as an int) into None and logs the
    failure, value included: the record is dropped here and counted per thread, so that
    ``SoapClient.call`` raises a ContractError instead of returning data with holes."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Error during xml -> python translation":
            self.local.count = self.count() + 1
            return False
        return True

    def count(self) -> int:
        return getattr(self.local, "count", 0)


_UNBOUND = _UnboundValues()
logging.getLogger("zeep.xsd.types.simple").addFilter(_UNBOUND)


class UnsafeXmlError(ContractError):
    """A reply carrying a DOCTYPE, entity declarations or external references: refused unparsed,
    never retried, whatever its HTTP status."""


def wsdl_path(name: str) -> Path:
    """``connectors/wsdl/<name>.wsdl``: contracts live in the repository, never fetched."""
    path = WSDL_DIR / f"{name}.wsdl"
    if not path.is_file():
        raise FileNotFoundError(f"no WSDL {path.name} in {WSDL_DIR}")
    return path


def hardened_parser() -> etree.XMLParser:
    """An lxml parser that loads nothing: no DTD, no entity expansion, no network, bounded size."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def zeep_settings(*, strict: bool = True) -> Settings:
    """zeep settings shared by SOAP sources.

    ``raw_response``: zeep hands back the HTTP reply unparsed, so every reply goes through
    ``parse_reply`` (one hardened parser, one place that refuses DTDs) before any binding.
    """
    return Settings(
        strict=strict,
        raw_response=True,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
        xml_huge_tree=False,
    )


def parse_reply(content: bytes, *, where: str) -> etree._Element:
    """Parse a reply body into its root element, refusing DTDs, entities and external references.

    A DOCTYPE (hence any entity declaration or external DTD) raises UnsafeXmlError before the
    parser sees a byte; a body cut off mid-document raises TransientError (a retry may get it
    whole); anything else that is not well-formed XML raises ContractError.
    """
    if not content or not content.strip():
        raise ContractError(f"empty reply from {where}")
    # Refused before parsing: a DOCTYPE is how entity bombs and external DTD/entity fetches
    # arrive, and a SOAP message must not carry one (SOAP 1.1 §3, SOAP 1.2 part 1 §5).
    prolog = content[: _root_start(content)]
    if b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper():
        raise UnsafeXmlError(
            f"reply from {where} carries a DOCTYPE or entity declarations; refused unparsed"
        )
    if _stops_before_root(content):
        raise TransientError(f"truncated XML reply ({len(content)} bytes) from {where}")
    parser = hardened_parser()
    try:
        parser.feed(content)
    except etree.XMLSyntaxError as exc:
        raise ContractError(f"reply from {where} is not well-formed XML ({exc.msg})") from None
    try:
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        # Feeding succeeded, so every byte so far was valid: the document just stopped.
        if _looks_truncated(content):
            raise TransientError(
                f"truncated XML reply ({len(content)} bytes) from {where}"
            ) from None
        raise ContractError(f"reply from {where} is not well-formed XML ({exc.msg})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # e.g. in a UTF-16 body
        raise UnsafeXmlError(f"reply from {where} carries a DOCTYPE; refused")
    if _DEEPER_THAN_MAX(root):  # evaluated by libxml2, without recursion in Python
        raise ContractError(f"reply from {where} nests deeper than {MAX_XML_DEPTH} elements")
    return root


def is_counter(text: str) -> bool:
    """True for a paging counter as the contracts write it: ASCII digits, at most nine (``isdigit``
    alone lets "²" or 5,000 digits through to an ``int`` that fails)."""
    return _COUNTER.fullmatch(text) is not None


def _root_start(content: bytes) -> int:
    """Offset of the root element's start tag (the end of the prolog), or len(content)."""
    match = _ROOT_TAG.search(content)
    return match.start() if match else len(content)


def _stops_before_root(content: bytes) -> bool:
    """True when the body ends inside or just after its XML declaration, before any element:
    the parser would call that malformed, but it is the start of a reply cut short."""
    if _ROOT_TAG.search(content):
        return False
    head = content.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<?xml") or b"<?xml".startswith(head)


def _looks_truncated(content: bytes) -> bool:
    match = _ROOT_TAG.search(content)
    if not match:
        return False
    closing = b"</" + match.group(1)
    tail = content.rstrip()
    return not (tail.endswith(b">") and closing in tail[-len(closing) - 8 :])


@dataclass(frozen=True)
class SoapFault:
    """A SOAP 1.1 or 1.2 fault: its code local names (code first, then subcodes) and reason."""

    codes: tuple[str, ...]
    reason: str

    @property
    def kind(self) -> str:
        """``"auth"``, ``"server"`` (retried) or ``"client"`` (a contract break)."""
        # SOAP 1.1 refines a code with dots ("Server.Busy", "Client.FailedAuthentication").
        parts = {part for code in self.codes for part in code.split(".")}
        if AUTH_FAULT_CODES.intersection(parts):
            return "auth"
        if self.codes and self.codes[0].split(".", 1)[0] in SERVER_FAULT_CODES:
            return "server"
        return "client"  # Client/Sender, VersionMismatch, MustUnderstand, unknown codes

    def error(self, where: str, *, status: int | None = None) -> SourceError:
        """The typed error this fault means for the caller."""
        text = f"SOAP fault {':'.join(self.codes) or '?'} from {where}: {self.reason[:160]}"
        if self.kind == "auth":
            return AuthError(text, status=status)
        if self.kind == "server":
            return TransientError(text, status=status)
        return ContractError(text, status=status)


def find_fault(envelope: etree._Element) -> SoapFault | None:
    """The fault in ``envelope``'s Body, or None."""
    for ns in (SOAP11_ENV, SOAP12_ENV):
        node = envelope.find(f"{{{ns}}}Body/{{{ns}}}Fault")
        if node is None:
            continue
        if ns == SOAP11_ENV:
            code = node.find("faultcode")
            codes = (_qname_local(code),) if code is not None else ()
            return SoapFault(codes, (node.findtext("faultstring") or "").strip())
        values = node.iterfind(f".//{{{ns}}}Code//{{{ns}}}Value")
        reason = node.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
        return SoapFault(tuple(_qname_local(v) for v in values), reason.strip())
    return None


def _qname_local(element: etree._Element) -> str:
    """Local name of a QName-valued element ("soap:Server" → "Server")."""
    return (element.text or "").strip().rpartition(":")[2]


def body_payload(envelope: etree._Element, *, where: str) -> etree._Element:
    """The first element inside the envelope's Body (the operation's reply element)."""
    for ns in (SOAP11_ENV, SOAP12_ENV):
        if envelope.tag == f"{{{ns}}}Envelope":
            body = envelope.find(f"{{{ns}}}Body")
            if body is not None and len(body):
                return body[0]
            raise ContractError(f"SOAP reply from {where} has an empty Body")
    raise ContractError(f"reply from {where} is not a SOAP envelope (root {envelope.tag!r})")


def element_to_record(
    element: etree._Element, *, list_fields: Iterable[str] = ()
) -> dict[str, Any]:
    """A plain dict of ``element``'s children keyed by local name, values as the source wrote them.

    Leaves become their text (``None`` when empty or ``xsi:nil``); elements with children become
    dicts; children named in ``list_fields`` are containers whose items become a list (of dicts
    or texts). A repeated child not declared as a list would hide data, so it raises
    ContractError instead.
    """
    lists = list_fields if isinstance(list_fields, frozenset) else frozenset(list_fields)
    record: dict[str, Any] = {}
    # The hot loop of bulk replies: plain string operations rather than etree.QName.
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions
        name = tag.rpartition("}")[2]
        if name in record:
            raise ContractError(f"element {name!r} repeated in <{element.tag.rpartition('}')[2]}>")
        if name in lists:
            record[name] = [_value(item, lists) for item in child if isinstance(item.tag, str)]
        else:
            record[name] = _value(child, lists)
    return record


def _value(element: etree._Element, lists: frozenset[str]) -> Any:
    if len(element):
        return element_to_record(element, list_fields=lists)
    text = element.text
    if text and not text.isspace():
        return text
    return None  # empty, whitespace or xsi:nil: all mean "no value"


@dataclass(frozen=True)
class _Reply:
    """The parts of an HTTP reply the client reads, with the body already bounded."""

    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    content: bytes


class _BoundedTransport(Transport):
    """zeep transport that pins TLS verification, never redirects, bounds reply size and never
    logs message bodies (zeep's own debug log would print the WS-Security password)."""

    def __init__(
        self,
        session: requests.Session,
        *,
        timeout: tuple[float, float],
        verify: bool | str,
        max_reply_bytes: int,
    ) -> None:
        super().__init__(session=session, timeout=timeout[1], operation_timeout=timeout)
        self.verify = verify
        self.max_reply_bytes = max_reply_bytes

    def load(self, url: str) -> bytes:
        # WSDLs and schemas come from the repository; a reference to the network is refused.
        if urlparse(url).scheme not in ("", "file"):
            raise ContractError(f"WSDL refers to {url}; contracts must be loaded from the repo")
        return super().load(url)

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> _Reply:
        response = self.session.post(
            address,
            data=message,
            headers=headers,
            timeout=self.operation_timeout,
            verify=self.verify,  # per request: a session-level verify loses to REQUESTS_CA_BUNDLE
            allow_redirects=False,  # a redirected POST would lose its body
            stream=True,
        )
        with response:
            declared = response.headers.get("Content-Length", "")
            if declared_length(declared) > self.max_reply_bytes:
                raise ContractError(f"reply from {address} is {declared} bytes; refused")
            chunks, size = [], 0
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > self.max_reply_bytes:
                    raise ContractError(
                        f"reply from {address} exceeds {self.max_reply_bytes} bytes; refused"
                    )
                chunks.append(chunk)
        return _Reply(response.status_code, response.headers, b"".join(chunks))


class SoapClient:
    """One SOAP service of one source: zeep for the contract, lxml for the replies.

    Every call is retried on transient failures (connection errors, timeouts, HTTP 429/5xx with
    Retry-After honoured, truncated bodies, SOAP Server/Receiver faults) with ``RetryPolicy``'s
    bounded exponential backoff and jitter. Client/Sender faults raise ContractError and
    WS-Security faults (``wsse:FailedAuthentication`` ...) raise AuthError, neither retried.
    Sources use read-only operations, so repeating a call is safe.

    A ContractError about a reply that parsed carries the reply's shape as its page, per
    ``diagnosis`` (a source's ``ShapeRules``), for the pipeline to keep; one that did not parse
    carries nothing of it.
    """

    diagnosis = ShapeRules()

    def __init__(
        self,
        wsdl: str | Path,
        address: str,
        binding: str,
        *,
        username: str | None = None,
        password: str | None = None,
        use_digest: bool = False,
        verify: bool | str = True,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        strict: bool = True,
        pool_size: int = 4,
        diagnosis: ShapeRules | None = None,
    ) -> None:
        """``binding`` is the binding's QName, ``"{namespace}LocalName"``; ``address`` the
        endpoint URL that replaces the WSDL's soap:address. ``verify`` False is refused."""
        if verify is False:
            raise ValueError("TLS verification cannot be turned off; pass a CA bundle path")
        if diagnosis is not None:
            self.diagnosis = diagnosis
        self.address = address
        self.username = username
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        session = requests.Session()
        # max_retries=0: tenacity owns retrying; urllib3 retrying too would multiply attempts.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._transport = _BoundedTransport(
            session,
            timeout=(connect_timeout, read_timeout),
            verify=verify,
            max_reply_bytes=max_reply_bytes,
        )
        session.headers["User-Agent"] = "lienthong"  # after zeep's Transport set its own
        wsse = None
        if username is not None or password is not None:
            wsse = UsernameToken(username or "", password or "", use_digest=use_digest)
        self._zeep = Client(
            str(wsdl), transport=self._transport, wsse=wsse, settings=zeep_settings(strict=strict)
        )
        self._binding = self._zeep.wsdl.bindings[binding]
        self._service = self._zeep.create_service(binding, address)

    @classmethod
    def for_connection(
        cls, connection: Connection, wsdl_name: str, binding: str, **kwargs: Any
    ) -> Self:
        """A client for ``connection``: its base URL is the endpoint address, its login and
        password the UsernameToken, its ``verify`` the TLS setting."""
        return cls(
            wsdl_path(wsdl_name),
            connection.base_url,
            binding,
            username=connection.login,
            password=connection.password,
            verify=connection.verify,
            **(connection.timeouts | kwargs),
        )

    def __repr__(self) -> str:
        return f"SoapClient(address={self.address!r}, username={self.username!r})"

    def call(self, operation: str, **params: Any) -> Any:
        """Call ``operation`` and return zeep's binding of the reply as plain dicts and lists
        (values typed per the XSD: ints, datetimes ...). Convenient for small replies."""
        envelope = self._call_with_retries(operation, params)
        unbound = _UNBOUND.count()
        try:
            result = self._binding.get(operation).process_reply(envelope)
            failure = "a value its XSD type cannot hold" if _UNBOUND.count() > unbound else ""
        except (ValueError, TypeError, ArithmeticError, zeep_exceptions.Error) as exc:
            failure = type(exc).__name__
        if failure:
            # "12a" as an int, 5,000 digits, NaN as an int: a broken contract, not a None.
            error = ContractError(
                f"reply to {operation} at {self.address} does not bind to the WSDL ({failure})"
            )
            keep_shape(error, envelope, self.diagnosis)
            raise error
        return serialize_object(result, target_cls=dict)

    def call_raw(self, operation: str, **params: Any) -> etree._Element:
        """Call ``operation`` and return the reply element inside the Body, unbound: read it
        with ``element_to_record``. The fast path for bulk list replies."""
        envelope = self._call_with_retries(operation, params)
        try:
            return body_payload(envelope, where=f"{operation} at {self.address}")
        except ContractError as exc:
            keep_shape(exc, envelope, self.diagnosis)
            raise

    def fault_error(self, fault: SoapFault, where: str, *, status: int | None) -> SourceError:
        """The error a fault raises; override to give a source's own fault codes a meaning
        (e.g. "session expired"). A TransientError is retried, anything else is not."""
        return fault.error(where, status=status)

    def close(self) -> None:
        self._transport.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call_with_retries(self, operation: str, params: dict[str, Any]) -> etree._Element:
        return with_retries(lambda: self._call_once(operation, params), self.retry, self._sleep)

    def _call_once(self, operation: str, params: dict[str, Any]) -> etree._Element:
        where = f"{operation} at {self.address}"
        reply: _Reply = network_errors(lambda: self._service[operation](**params), where)
        return self._decode(reply, where)

    def _decode(self, reply: _Reply, where: str) -> etree._Element:
        status = reply.status
        # SOAP 1.1 sends faults with HTTP 500 (1.2: 400 Sender, 500 Receiver): read the body
        # first, so a fault's own code decides; a bare status decides only without a fault.
        envelope = None
        if reply.content.strip():
            try:
                envelope = parse_reply(reply.content, where=where)
            except UnsafeXmlError:
                raise
            except ContractError:
                if 200 <= status < 300:
                    raise  # else a proxy's error page: the status decides below
        fault = find_fault(envelope) if envelope is not None else None
        if fault is not None:
            error = self.fault_error(fault, where, status=status)
            if isinstance(error, TransientError):
                error.retry_after = parse_retry_after(
                    reply.headers.get("Retry-After"), self._clock()
                )
            elif isinstance(error, ContractError):
                keep_shape(error, envelope, self.diagnosis)
            raise error
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(reply.headers.get("Retry-After"), self._clock())
            raise TransientError(
                f"HTTP {status} from {where}", status=status, retry_after=retry_after
            )
        if status in AUTH_STATUSES:
            raise AuthError(f"HTTP {status} from {where}: credentials rejected", status=status)
        if not 200 <= status < 300 or envelope is None:
            error = ContractError(f"HTTP {status} from {where}", status=status)
            if envelope is not None:
                keep_shape(error, envelope, self.diagnosis)
            raise error
        return envelope
