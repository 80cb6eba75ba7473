"""Shared HTTP client for REST sources: pooled session, timeouts, retries, JSON replies, paging."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from connectors import json_reply
from connectors.connection import Connection
from connectors.errors import AuthError, ContractError, SourceError, TransientError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
MAX_PAGES = 10_000  # far above any real sync; only a source that never stops paging reaches it
# A page of 1,000 dossiers is ~2 MB of JSON; a reply far larger is a broken or hostile server,
# and reading it whole could exhaust the worker's memory.
MAX_REPLY_BYTES = 50 * 1024 * 1024

# requests' network failures that a later attempt may not hit. SSLError is a ConnectionError
# too, but a certificate that fails verification will fail again: see _send_once.
_TRANSIENT_EXCEPTIONS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; waits are in seconds."""

    max_attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial < 0 or self.maximum < 0 or self.jitter < 0:
            raise ValueError("waits must not be negative")


class _BackoffOrRetryAfter(wait_base):
    """Exponential backoff plus jitter, replaced by the server's Retry-After when that is longer."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = wait_exponential(
            multiplier=policy.initial, max=policy.maximum
        ) + wait_random(0, policy.jitter)

    def __call__(self, retry_state: RetryCallState) -> float:
        computed = min(self.backoff(retry_state), self.policy.maximum)
        outcome = retry_state.outcome
        retry_after = getattr(outcome.exception(), "retry_after", None) if outcome else None
        if retry_after is None:
            return computed
        # Capped: a server asking for an hour must not stall a sync that long; failing is better.
        return max(computed, min(retry_after, self.policy.maximum))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None


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
        retrying = Retrying(
            sleep=self._sleep,
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=_BackoffOrRetryAfter(self.retry),
            retry=retry_if_exception_type(TransientError),
            before_sleep=self._log_retry,
            reraise=True,  # the caller gets our typed error, not tenacity's RetryError
        )
        for attempt in retrying:
            with attempt:
                try:
                    return self._send_once(method, url, json=json, params=params, headers=headers)
                except TransientError as exc:
                    exc.attempts = attempt.retry_state.attempt_number
                    raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")

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
        try:
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
        except requests.exceptions.SSLError as exc:
            if "certificate" in str(exc).lower():
                raise SourceError(
                    f"TLS certificate rejected calling {method} {url}; check the server "
                    "certificate or the connection's ca_bundle"
                ) from exc
            raise TransientError(f"SSLError calling {method} {url}") from exc
        except _TRANSIENT_EXCEPTIONS as exc:
            raise TransientError(f"{type(exc).__name__} calling {method} {url}") from exc
        return self._decode(method, url, response)

    def _read_bounded(self, response: requests.Response, where: str) -> None:
        """Read the body, refusing one larger than max_reply_bytes before it is all in memory."""
        limit = self.max_reply_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise ContractError(f"reply from {where} is {int(declared):,} bytes, over {limit:,}")
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

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        # The message is ours (status or failure kind, method and URL): never a body or secret.
        reason = getattr(exc, "message", type(exc).__name__)
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s (attempt %d of %d); retrying in %.1f s",
            reason,
            state.attempt_number,
            self.retry.max_attempts,
            wait,
        )


def paginate(
    fetch_page: Callable[[int], dict[str, Any]],
    *,
    rows_key: str = "data",
    total_pages_key: str | None = None,
    page_size: int | None = None,
    max_pages: int = MAX_PAGES,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the rows of pages 1, 2, ... from ``fetch_page(page)``.

    Stops on an empty page, on a page shorter than ``page_size``, or after the page the reply's
    ``total_pages_key`` names as the last. A source still returning full pages after
    ``max_pages`` raises ContractError rather than looping forever.
    """
    for page in range(1, max_pages + 1):
        reply = fetch_page(page)
        rows = records_in(reply, rows_key)
        total_pages = int_field(reply, total_pages_key) if total_pages_key else None
        if not rows:
            return
        yield rows
        if page_size is not None and len(rows) < page_size:
            return
        if total_pages is not None and page >= total_pages:
            return
    raise ContractError(f"source still returning full pages after {max_pages} pages")


def records_in(reply: Any, rows_key: str = "data") -> list[dict[str, Any]]:
    """``reply[rows_key]`` checked to be a list of JSON objects."""
    if not isinstance(reply, dict) or rows_key not in reply:
        raise ContractError(f"reply has no {rows_key!r} list", payload=reply)
    rows = reply[rows_key]
    if not isinstance(rows, list):
        raise ContractError(f"{rows_key!r} is {type(rows).__name__}, not a list", payload=reply)
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            # The excerpt names the type only: rows carry personal data. The page goes along
            # for diagnosis; the pipeline keeps it redacted.
            raise ContractError(
                f"{rows_key}[{index}] is {type(row).__name__}, not an object",
                payload={"row": index, "type": type(row).__name__},
                page=reply,
            )
    return rows


def int_field(reply: dict[str, Any], key: str) -> int:
    """``reply[key]`` checked to be an integer (a bool or a numeric string is a contract break)."""
    value = reply.get(key) if isinstance(reply, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ContractError(f"{key!r} must be an integer", payload=reply)
    return value


def _json_or_none(content: bytes) -> Any:
    """The JSON of an error reply when it is one the contracts allow, else None."""
    try:
        return json_reply.decode(content, None, where="an error reply")
    except SourceError:
        return None
