"""REST sources as declarations: a source names its paging fields and page-size bound and reads
its settings from the connection; ``RestConnector`` holds the client, the paging and the close."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from connectors.base import Connector, Record
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.paging import Paging, paged
from connectors.rest import RestClient


class RestConnector(Connector):
    """A REST source over one pooled ``RestClient``; ``paging`` and ``max_page_size`` declared,
    ``configure`` the override that reads the source's own settings."""

    paging: ClassVar[Paging]
    max_page_size: ClassVar[int]
    client_class: ClassVar[type[RestClient]] = RestClient

    def __init__(
        self, connection: Connection, *, page_size: int, client: RestClient | None = None
    ) -> None:
        if not 1 <= page_size <= self.max_page_size:
            raise ValueError(f"page_size must be within 1..{self.max_page_size}, got {page_size}")
        self.configure(connection)  # before the client: a bad connection opens nothing
        self._connection = connection
        self.page_size = page_size
        self._owns_client = client is None
        self._client = client or self.client_class.for_connection(connection)
        self._session: str | None = None  # the session or token the source hands out

    def configure(self, connection: Connection) -> None:
        """Read the source's settings from ``connection``; raise ConnectionNotConfigured."""

    def pages(
        self, fetch: Callable[[dict[str, int]], dict[str, Any]], *, what: str
    ) -> Iterator[list[Record]]:
        """The rows of every page ``fetch(paging fields)`` answers, echo checked."""
        return paged(fetch, self.paging, self.page_size, what=what)

    def close(self) -> None:
        self._session = None
        if self._owns_client:
            self._client.close()


def require(connection: Connection, settings: dict[str, Any], purpose: str) -> None:
    """Raise ConnectionNotConfigured naming every setting of ``settings`` without a value."""
    missing = [name for name, value in settings.items() if not value]
    if missing:
        raise ConnectionNotConfigured(
            f"connection {connection.conn_id!r} lacks {', '.join(missing)} for {purpose}"
        )
