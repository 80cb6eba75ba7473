"""SOAP list sources as declarations: a source names its operation, paging counters, list and
record elements (and what it keeps of a record); ``SoapListConnector`` does the calls and paging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lxml import etree

from connectors.base import Connector, Record, Window
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import ContractError
from connectors.paging import Paging, paged
from connectors.soap import SoapClient, element_to_record, is_counter
from connectors.xml_shape import ShapeRules, keep_shape, shape_of


@dataclass(frozen=True)
class SoapListing:
    """One paged list operation: its reply carries the paging counters, then a list element
    holding one record element per record, read by ``read_record``."""

    operation: str
    namespace: str
    paging: Paging  # the counters' element names, as requested and echoed
    listing: str  # the list element
    record: str  # each record's element
    diagnosis: ShapeRules  # what a contract-breaking reply keeps (connectors.xml_shape)
    read_record: Callable[[etree._Element], Record] = field(default=element_to_record)

    def counters(self, reply: etree._Element, paging: Paging) -> dict[str, int]:
        return {name: self._count(reply, name) for name in paging.counters}

    def rows(self, reply: etree._Element, paging: Paging) -> list[Record]:
        listing = reply.find(f"{{{self.namespace}}}{self.listing}")
        if listing is None:
            raise ContractError(f"{self.operation}: reply has no {self.listing}")
        record_tag = f"{{{self.namespace}}}{self.record}"
        records = []
        for item in listing:
            if not isinstance(item.tag, str):
                continue  # a comment
            if item.tag != record_tag:
                raise ContractError(
                    f"{self.operation}: unexpected element {item.tag!r} in the list"
                )
            records.append(self.read_record(item))
        return records

    def keep_shape(self, error: ContractError, reply: etree._Element) -> None:
        """The reply's shape goes along with a contract error, for diagnosis."""
        keep_shape(error, reply, self.diagnosis)

    def _count(self, reply: etree._Element, name: str) -> int:
        text = reply.findtext(f"{{{self.namespace}}}{name}")
        value = (text or "").strip()
        if text is None:
            raise ContractError(f"{self.operation}: reply has no {name}")
        if not is_counter(value):
            # Its shape, not the value: a broken contract may have put anything there.
            raise ContractError(
                f"{self.operation}: {name} must be a non-negative integer, got {shape_of(value)}"
            )
        return int(value)


class SoapListConnector(Connector):
    """A SOAP source of one windowed list stream, from its declarations: ``wsdl_name``,
    ``binding``, ``listing``, ``service`` (for messages) and ``window_params``. ``call`` is the
    override for a source with more to a call (a working session)."""

    wsdl_name: ClassVar[str]
    binding: ClassVar[str]
    listing: ClassVar[SoapListing]
    service: ClassVar[str]  # "the ... service", as configuration errors name it
    max_page_size: ClassVar[int] = 1000
    client_class: ClassVar[type[SoapClient]] = SoapClient

    def __init__(
        self,
        connection: Connection,
        *,
        page_size: int = 500,
        client: SoapClient | None = None,
        **client_options: Any,
    ) -> None:
        """``client_options`` go to ``SoapClient`` (timeouts, retry policy, sleep ...)."""
        if not 1 <= page_size <= self.max_page_size:
            raise ValueError(f"page_size must be within 1..{self.max_page_size}, got {page_size}")
        missing = self.missing_settings(connection)
        if client is None:  # a given client brings its own UsernameToken
            missing += [name for name in ("login", "password") if not getattr(connection, name)]
        if missing:
            raise ConnectionNotConfigured(
                f"connection {connection.conn_id!r} lacks {', '.join(missing)} for the "
                f"{self.service}"
            )
        self.page_size = page_size
        self._owns_client = client is None
        self._client = client or self.client_class.for_connection(
            connection,
            self.wsdl_name,
            self.binding,
            diagnosis=self.listing.diagnosis,
            **client_options,
        )

    def missing_settings(self, connection: Connection) -> list[str]:
        """Settings the source needs besides the UsernameToken, by name, when absent."""
        return []

    def window_params(self, window: Window) -> dict[str, Any]:
        """The operation's window parameters, as the service writes instants."""
        raise NotImplementedError

    def call(self, operation: str, **params: Any) -> etree._Element:
        """One call; its reply element."""
        return self._client.call_raw(operation, **params)

    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of raw records changed in ``window``."""
        self.check_request(stream, window)  # here, not in the generator: fail at the call
        assert window is not None  # noqa: S101 - check_request guarantees it
        listing, params = self.listing, self.window_params(window)
        return paged(
            lambda paging: self.call(listing.operation, **params, **paging),
            listing.paging,
            self.page_size,
            what=listing.operation,
            counters=listing.counters,
            rows=listing.rows,
            diagnose=listing.keep_shape,
        )

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
