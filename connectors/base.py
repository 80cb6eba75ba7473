"""What every source connector offers: named streams fetched page by page for a time window."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self
from zoneinfo import ZoneInfo

# Plain data naming connectors by dotted path: reading it never imports a connector back.
from lienthong import registry

if TYPE_CHECKING:
    from connectors.connection import Connection

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Record = dict[str, Any]


@dataclass(frozen=True)
class Window:
    """A half-open time interval ``[start, end)`` of tz-aware instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime):
                raise TypeError(f"Window.{name} must be a datetime, not {type(value).__name__}")
            # A naive datetime would be read in whatever zone the worker runs in: refuse it.
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"Window.{name} must be timezone-aware, got {value.isoformat()}")
        if not self.start < self.end:
            raise ValueError(
                f"Window start must be before end: "
                f"{self.start.isoformat()} >= {self.end.isoformat()}"
            )

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def windowed_streams(source: str) -> tuple[str, ...]:
    """The windowed streams of ``source`` as the registry declares them."""
    return tuple(stream.name for stream in registry.get(source).streams if stream.windowed)


class Connector(ABC):
    """A source system seen as streams of raw records (dicts spelled as the source spells them).

    ``windowed_streams`` take a ``Window`` (records changed in it); the other streams are
    catalogues fetched whole, with ``window=None``. Which is which is declared once, by the
    streams of the ``source`` entry in the source registry.
    """

    source: ClassVar[str]  # the source's key in the registry (lienthong/registry.py)
    streams: ClassVar[tuple[str, ...]] = ()
    # True when the source signs each record with a key of its connection: the pipeline then
    # asks `record_key` for it wherever records are mapped (`load` included), and the mapping
    # verifies every record itself.
    signs_records: ClassVar[bool] = False

    @property
    def windowed_streams(self) -> tuple[str, ...]:
        """The streams the registry declares windowed."""
        return windowed_streams(self.source)

    @classmethod
    def record_key(cls, connection: Connection) -> bytes | None:
        """The key the source signs its records with, from ``connection``; None if unsigned."""
        return None

    @abstractmethod
    def fetch(self, stream: str, window: Window | None = None) -> Iterator[list[Record]]:
        """Yield pages of raw records of ``stream``."""

    @abstractmethod
    def close(self) -> None:
        """Release network resources (sessions, pooled connections)."""

    def check_request(self, stream: str, window: Window | None) -> None:
        """Reject an unknown stream, a windowed stream without a window, or a catalogue with one."""
        if stream not in self.streams:
            raise ValueError(
                f"{type(self).__name__} has no stream {stream!r}; it has {self.streams}"
            )
        if stream in self.windowed_streams and window is None:
            raise ValueError(f"stream {stream!r} needs a window")
        if stream not in self.windowed_streams and window is not None:
            raise ValueError(f"stream {stream!r} is a catalogue: fetch it with window=None")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
