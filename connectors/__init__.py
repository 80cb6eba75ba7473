"""Source connectors: talk to remote systems and yield their raw records, page by page."""

from connectors.base import LOCAL_TZ, Connector, Record, Window
from connectors.connection import Connection, ConnectionNotConfigured, get_connection
from connectors.errors import AuthError, ContractError, SourceError, TransientError

__all__ = [
    "LOCAL_TZ",
    "AuthError",
    "Connection",
    "ConnectionNotConfigured",
    "Connector",
    "ContractError",
    "Record",
    "SourceError",
    "TransientError",
    "Window",
    "get_connection",
]
