"""Connector for the Vietinbank fee gateway, per docs/vietinbank_api.md: signed transaction
queries and signed daily statements.

Every reply's checksum is verified before anything in it is used: a reply that fails breaks the
contract and fails the batch (ContractError), as a forged or altered page must not load at all.
Every transaction and statement carries its own checksum too. The connector passes each one on
as the gateway sent it — the signed fields, the checksum (`ChuKy`) and a statement's file text
(`NoiDung`) — and writes no verdict: the mapping verifies every record itself, with the key
`record_key` takes from the connection where the record is loaded, so nothing kept in the
landing store between extract and load can make a record trusted. The shared secret never
leaves this object and that key: it is not logged, not put in a record, not in an error message.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from connectors import signing
from connectors.base import LOCAL_TZ, Record, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import AuthError, ContractError, excerpt
from connectors.paging import Paging, records_in
from connectors.rest import RestClient
from connectors.rest_source import RestConnector

log = logging.getLogger(__name__)

AUTH_PATH = "api/v1/xac-thuc"
TRANSACTIONS_PATH = "api/v1/giao-dich"
STATEMENTS_PATH = "api/v1/sao-ke"
MAX_PAGE_SIZE = 500  # SoBanGhi accepted by the gateway: 1..500
STATEMENT_DAYS = 31  # days of statements one call may ask for
OK, TOKEN_EXPIRED = "00", "11"


def local_stamp(instant: datetime) -> str:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh (sub-seconds dropped)."""
    return instant.astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S")


def statement_days(window: Window) -> Iterator[tuple[date, date]]:
    """The local days the window touches, as inclusive ranges of at most STATEMENT_DAYS."""
    first = window.start.astimezone(LOCAL_TZ).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()
    while first <= last:
        until = min(last, first + timedelta(days=STATEMENT_DAYS - 1))
        yield first, until
        first = until + timedelta(days=1)


class VietinbankConnector(RestConnector):
    """Transactions (payments, refunds, reversals) and daily statements of the fee gateway.

    Its override is the signing: every request is signed and every reply verified (``_call``).
    """

    source = "vietinbank"
    streams = ("transactions", "statements")
    signs_records = True
    paging = Paging(
        page="Trang",
        size="SoBanGhi",
        total="TongSoBanGhi",
        total_pages="TongSoTrang",
        rows="DuLieu",
    )
    max_page_size = MAX_PAGE_SIZE

    @classmethod
    def record_key(cls, connection: Connection) -> bytes:
        """The shared secret (extra.secret, else the password): the key of every checksum."""
        secret = connection.extra.get("secret") or connection.password
        if not connection.login or not secret:
            raise ConnectionNotConfigured(
                f"connection {connection.conn_id!r} needs the partner code as its login and the "
                "shared secret as its password (or extra.secret) for the Vietinbank gateway"
            )
        return str(secret).encode("utf-8")

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = 500,
        client: RestClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        super().__init__(connection, page_size=page_size, client=client)

    def configure(self, connection: Connection) -> None:
        self._secret = self.record_key(connection)
        self.partner = str(connection.login)

    def __repr__(self) -> str:  # the secret stays out of any repr
        return f"VietinbankConnector(partner={self.partner!r}, base={self._client.base_url!r})"

    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of raw records of ``stream`` for ``window``, as signed by the gateway."""
        self.check_request(stream, window)  # here, not in the generator: fail at the call
        if stream == "transactions":
            return self._transactions(window)
        return self._statements(window)

    # -- transactions --------------------------------------------------------------------------
    def _transactions(self, window: Window) -> Iterator[list[Record]]:
        params = {"TuThoiGian": local_stamp(window.start), "DenThoiGian": local_stamp(window.end)}
        return self.pages(
            lambda paging: self._call(
                TRANSACTIONS_PATH,
                params | paging,
                signing.TRANSACTIONS_REQUEST,
                signing.TRANSACTIONS_REPLY,
                "DuLieu",
            ),
            what="transactions",
        )

    # -- statements ----------------------------------------------------------------------------
    def _statements(self, window: Window) -> Iterator[list[Record]]:
        for first, last in statement_days(window):
            body = {"TuNgay": f"{first:%Y%m%d}", "DenNgay": f"{last:%Y%m%d}"}
            reply = self._call(
                STATEMENTS_PATH,
                body,
                signing.STATEMENTS_REQUEST,
                signing.STATEMENTS_REPLY,
                "DanhSachSaoKe",
            )
            statements = [self._statement(entry) for entry in records_in(reply, "DanhSachSaoKe")]
            if statements:
                yield statements

    def _statement(self, entry: Record) -> Record:
        """One statement file as sent: header fields, file text (`NoiDung`) and checksum.

        The text is kept whole, not parsed here: the checksum covers its digest (`BamTep`), so
        only the text itself lets `load` verify the lines it counts.
        """
        if not isinstance(entry.get("NoiDung"), str):
            raise ContractError("a statement has no text content (NoiDung)", payload=entry)
        return dict(entry)

    # -- calls ---------------------------------------------------------------------------------
    def _call(
        self,
        path: str,
        params: dict[str, Any],
        request_order: tuple[str, ...],
        reply_order: tuple[str, ...],
        rows_key: str,
    ) -> dict[str, Any]:
        """One signed call; an expired token is renewed once and the call repeated."""
        if self._session is None:
            self._login()
        for attempt in (1, 2):
            body = self._signed_body(params, request_order)
            headers = {"Authorization": f"Bearer {self._session}"}
            try:
                reply = self._client.post_json(path, body, headers=headers)
            except AuthError as exc:
                if _result(exc.payload) != TOKEN_EXPIRED or attempt == 2:
                    raise AuthError(
                        f"{path}: the gateway refused the call ({_message(exc.payload)})",
                        status=exc.status,
                    ) from None
                log.info("Vietinbank token expired during %s; requesting a new one", path)
                self._session = None
                self._login()
                continue
            self._verify_reply(path, body, reply, reply_order, rows_key)
            return reply
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _signed_body(self, params: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
        body = {
            "MaDoiTac": self.partner,
            # A fresh id per call: the reply must echo it, so an old reply cannot be replayed.
            "MaYeuCau": secrets.token_hex(12),
            "ThoiGian": local_stamp(datetime.fromtimestamp(self._clock(), LOCAL_TZ)),
            **params,
        }
        body[signing.CHECKSUM] = signing.checksum(self._secret, signing.fields(body, order))
        return body

    def _verify_reply(
        self,
        what: str,
        body: dict[str, Any],
        reply: dict[str, Any],
        order: tuple[str, ...],
        rows_key: str | None,
    ) -> None:
        code = _result(reply)
        if code != OK:
            raise ContractError(f"{what} failed with MaKetQua {code!r}", payload=reply)
        if reply.get("MaYeuCau") != body["MaYeuCau"]:
            raise ContractError(f"{what}: the reply answers another request (MaYeuCau)")
        parts = signing.fields(reply, order)
        if rows_key is not None:
            rows = reply.get(rows_key)
            if not isinstance(rows, list):
                raise ContractError(f"{what}: reply has no {rows_key!r} list", payload=reply)
            parts.append(
                signing.render_list(
                    row.get(signing.CHECKSUM) if isinstance(row, dict) else None for row in rows
                )
            )
        if not signing.matches(self._secret, parts, reply.get(signing.CHECKSUM)):
            # Not retried: a reply forged or altered on the way is a contract break to look at.
            raise ContractError(
                f"{what}: the reply's checksum (ChuKy) does not match; it was forged or altered "
                "in transit, or the shared secret is wrong"
            )

    def _login(self) -> None:
        body = self._signed_body({}, signing.TOKEN_REQUEST)
        try:
            reply = self._client.post_json(AUTH_PATH, body)
        except AuthError as exc:
            raise AuthError(
                f"the Vietinbank gateway refused partner {self.partner!r} "
                f"({_message(exc.payload)}); check the partner code and the shared secret",
                status=exc.status,
            ) from None
        self._verify_reply("token", body, reply, signing.TOKEN_REPLY, None)
        token = reply.get("Token")
        if not isinstance(token, str) or not token:
            raise ContractError("token reply has no Token")
        self._session = token
        log.info("obtained a Vietinbank gateway token for partner %r", self.partner)


def _result(reply: Any) -> str | None:
    value = reply.get("MaKetQua") if isinstance(reply, dict) else None
    return value if isinstance(value, str) else None


def _message(reply: Any) -> str:
    if not isinstance(reply, dict):
        return "no reason given"
    return excerpt(f"MaKetQua {reply.get('MaKetQua')!r}: {reply.get('MoTa') or ''}", limit=160)
