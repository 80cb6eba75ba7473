"""Shared HTTP client for REST sources: pooled session, timeouts, retries, JSON replies, paging."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter

from connectors import json_reply
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

# A page of 1,000 dossiers is ~2 MB of JSON; a reply far larger is a broken or hostile server,
# and reading it whole could exhaust the worker's memory.
MAX_REPLY_BYTES = 50 * 1024 * 1024


class RestClient:
    """One pooled HTTP session to one REST source, returning JSON objects.

    Every call is retried on transient failures. That is safe for POST too because the sources
    use POST for read-only queries and logins. ``verify`` False is refused.
    """

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str = True,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        pool_size: int = 4,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        if verify is False:  # a CA bundle path is the way for a private CA
            raise ValueError(
                "TLS verification cannot be turned off; give the CA bundle (ca_bundle) instead"
            )
        self.base_url = base_url.rstrip("/")
        self.max_reply_bytes = max_reply_bytes
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self.session = requests.Session()
        # max_retries=0: tenacity owns retrying; urllib3 retrying too would multiply attempts.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.verify = verify
        self.session.headers.update({"Accept": "application/json", "User-Agent": "lienthong"})

    @classmethod
    def for_connection(cls, connection: Connection, **kwargs: Any) -> Self:
        """A client for ``connection``'s base URL, TLS settings and timeouts."""
        return cls(connection.base_url, verify=connection.verify, **(connection.timeouts | kwargs))

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def post_json(
        self, path: str, json: Any, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST a JSON body to ``path`` and return the reply's JSON object."""
        return self.request_json("POST", path, json=json, headers=headers)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send one request with retries; raise AuthError, ContractError or TransientError."""
        url = self.url(path)
        return with_retries(
            lambda: self._send_once(method, url, json=json, params=params, headers=headers),
            self.retry,
            self._sleep,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send_once(
        self,
        method: str,
        url: str,
        *,
        json: Any,
        params: dict[str, Any] | None,
        headers: dict[str, str] | None,
    ) -> dict[str, Any]:
        def send() -> requests.Response:
            # No redirects: requests would turn a redirected POST into a GET without its body.
            response = self.session.request(
                method,
                url,
                json=json,
                params=params,
                headers=headers,
                timeout=self.timeout,
                # Per request: a session-level verify loses to REQUESTS_CA_BUNDLE in requests.
                verify=self.verify,
                allow_redirects=False,
                stream=True,  # read the body ourselves, bounded by max_reply_bytes
            )
            self._read_bounded(response, f"{method} {url}")
            return response

        response = network_errors(send, f"{method} {url}")
        return self._decode(method, url, response)

    def _read_bounded(self, response: requests.Response, where: str) -> None:
        """Read the body, refusing one larger than max_reply_bytes before it is all in memory."""
        limit = self.max_reply_bytes
        declared = response.headers.get("Content-Length", "")
        if declared_length(declared) > limit:
            response.close()
            raise ContractError(
                f"reply from {where} is {declared_length(declared):,} bytes, over {limit:,}"
            )
        body = bytearray()
        for chunk in response.iter_content(chunk_size=256 * 1024):
            body += chunk
            if len(body) > limit:
                response.close()
                raise ContractError(f"reply from {where} exceeds {limit:,} bytes")
        response._content = bytes(body)  # what response.content / .text then return

    def _decode(self, method: str, url: str, response: requests.Response) -> dict[str, Any]:
        status, where = response.status_code, f"{method} {url}"
        if status in RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            raise TransientError(
                f"HTTP {status} from {where}", status=status, retry_after=retry_after
            )
        if status in AUTH_STATUSES:
            raise AuthError(
                f"HTTP {status} from {where}: credentials or session rejected",
                status=status,
                payload=_json_or_none(response.content),
            )
        if not 200 <= status < 300:
            body = _json_or_none(response.content)
            raise ContractError(
                f"HTTP {status} from {where}",
                status=status,
                payload=body if body is not None else response.text,
            )
        reply = json_reply.decode(response.content, response.encoding, where=where)
        if not isinstance(reply, dict):
            raise ContractError(f"reply from {where} is not a JSON object", payload=reply)
        return reply


def _json_or_none(content: bytes) -> Any:
    """The JSON of an error reply when it is one the contracts allow, else None."""
    try:
        return json_reply.decode(content, None, where="an error reply")
    except SourceError:
        return None
