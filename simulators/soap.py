"""Shared pieces of SOAP stand-ins: a WSGI base app that serves the repository's WSDL, parses
requests with a hardened parser, checks the WS-Security UsernameToken, injects faults and renders
SOAP 1.1 envelopes and faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from simulators.faults import FaultInjector, Faults

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_DIGEST = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordDigest"
)
XML = "text/xml; charset=utf-8"
MAX_REQUEST_BYTES = 1 << 20  # list requests are a few hundred bytes
_LOCATION = re.compile(rb'(<soap:address\s+location=")[^"]*(")')

Operation = Callable[[etree._Element], bytes]  # request payload element -> reply payload XML


class SoapFaultReply(Exception):
    """Answer the request with a fault: ``code`` is the faultcode QName as it goes on the wire."""

    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def client_fault(message: str) -> SoapFaultReply:
    """A fault blaming the request (never worth retrying)."""
    return SoapFaultReply("soap:Client", message)


def envelope(payload: bytes) -> bytes:
    """A SOAP 1.1 envelope around ``payload`` (serialized XML of the Body's content)."""
    return (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<soap:Envelope xmlns:soap="'
        + SOAP_ENV.encode()
        + b'"><soap:Body>'
        + payload
        + b"</soap:Body></soap:Envelope>"
    )


def fault_envelope(code: str, message: str) -> bytes:
    """A SOAP 1.1 fault. A ``wsse:`` code gets its namespace declared (WS-Security faults)."""
    declare = f' xmlns:wsse="{WSSE}"' if code.startswith("wsse:") else ""
    return envelope(
        f"<soap:Fault{declare}><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soap:Fault>".encode()
    )


def parse_request(body: bytes) -> etree._Element:
    """The request envelope, parsed without loading anything; a DOCTYPE is a Client fault."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise client_fault(f"request is not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.doctype:
        raise client_fault("a SOAP message must not carry a DOCTYPE")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise client_fault("request is not a SOAP 1.1 envelope")
    return root


def check_username_token(root: etree._Element, username: str, password: str) -> bool:
    """True when the envelope's WS-Security UsernameToken names these credentials, sent as
    PasswordText or as PasswordDigest (Base64(SHA-1(nonce + created + password)))."""
    token = root.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    if token is None:
        return False
    given_user = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
    node = token.find(f"{{{WSSE}}}Password")
    if node is None:
        return False
    given = (node.text or "").strip()
    if node.get("Type") == PASSWORD_DIGEST:
        try:
            nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        except ValueError:
            return False
        created = (token.findtext(f"{{{WSU}}}Created") or "").encode()
        digest = hashlib.sha1(nonce + created + password.encode()).digest()  # noqa: S324 - WSS spec
        expected = base64.b64encode(digest).decode()
    else:
        expected = password
    return hmac.compare_digest(given_user, username) & hmac.compare_digest(given, expected)


def wsdl_for(path: Path, address: str) -> bytes:
    """The WSDL file with its soap:address pointing at ``address``."""
    return _LOCATION.sub(
        lambda m: m.group(1) + escape(address).encode() + m.group(2), path.read_bytes(), count=1
    )


def request_address(environ: dict[str, Any]) -> str:
    """The URL the client used to reach this app, mount prefix included (no query)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
    return f"{scheme}://{host}{path}"


def reply(
    start_response: Callable[..., Any],
    status: int,
    body: bytes,
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    headers = list(headers)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", XML))
    start_response(
        f"{status} {HTTPStatus(status).phrase}", [*headers, ("Content-Length", str(len(body)))]
    )
    return [body]


class SoapApp:
    """A SOAP 1.1 document/literal service as a WSGI app.

    ``GET ...?wsdl`` serves the WSDL with its address rewritten to where the app is mounted;
    ``POST`` runs the operation named by the Body's payload element (looked up by local name in
    ``operations``). Faults (``simulators.faults``) change only whether a call succeeds: the
    500s of ``error_rate`` are answered as SOAP Server faults, 502/503 as a proxy's HTML page,
    429 with Retry-After. Bad credentials get a ``wsse:FailedAuthentication`` fault. There are
    no sessions (every call carries its UsernameToken), so ``session_ttl`` has no effect.
    """

    def __init__(
        self,
        wsdl: Path,
        operations: dict[str, Operation],
        faults: Faults | None = None,
        username: str = "demo",
        password: str = "demo-secret",  # noqa: S107 - the stand-in\'s demo login
    ) -> None:
        self.wsdl = wsdl
        self.operations = operations
        self.faults = faults or Faults()
        self.injector = FaultInjector(self.faults)
        self._credentials = (username, password)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO", "") not in ("", "/"):
            return reply(
                start_response, 404, b"no such endpoint", (("Content-Type", "text/plain"),)
            )
        if method == "GET" and environ.get("QUERY_STRING", "").lower() == "wsdl":
            return reply(start_response, 200, wsdl_for(self.wsdl, request_address(environ)))
        if method != "POST":
            return reply(
                start_response,
                405,
                b"use POST, or GET ?wsdl",
                (("Content-Type", "text/plain"), ("Allow", "GET, POST")),
            )
        if self.faults.latency:
            time.sleep(self.faults.latency)
        try:
            return reply(start_response, 200, envelope(self._answer(environ)))
        except SoapFaultReply as fault:
            return reply(start_response, fault.status, fault_envelope(fault.code, fault.message))
        except _Failure as failure:
            return reply(start_response, failure.status, failure.body, failure.headers)

    def _answer(self, environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_REQUEST_BYTES:
            raise client_fault("request too large")
        root = parse_request(environ["wsgi.input"].read(length))
        failure = self.injector.next_failure()
        if failure is not None:
            if failure.status == 500:  # the application server itself failed: a Server fault
                raise SoapFaultReply("soap:Server", "internal error, try again later")
            raise _Failure(failure.status, failure.body, failure.headers)
        if not check_username_token(root, *self._credentials):
            raise SoapFaultReply(
                "wsse:FailedAuthentication",
                "The security token could not be authenticated or authorized",
            )
        body = root.find(f"{{{SOAP_ENV}}}Body")
        if body is None or not len(body):
            raise client_fault("empty SOAP Body")
        name = etree.QName(body[0]).localname
        if name not in self.operations:
            raise client_fault(f"unknown operation {name!r}")
        return self.operations[name](body[0])


class _Failure(Exception):
    def __init__(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers
