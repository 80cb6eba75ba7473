"""Retrying a call to a remote system, for the REST and SOAP clients alike: which failures are
transient, bounded exponential backoff with jitter, the server's Retry-After, one log line a retry.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from connectors.errors import SourceError, TransientError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_LENGTH = re.compile(r"[0-9]{1,15}")


def declared_length(header: str) -> int:
    """A reply's Content-Length as a number, 0 when absent or not plain ASCII digits: ``isdigit``
    alone lets "²" or thousands of digits through to an ``int`` that raises."""
    return int(header) if _LENGTH.fullmatch(header.strip()) else 0
AUTH_STATUSES = frozenset({401, 403})

# requests' network failures that a later attempt may not hit. SSLError is a ConnectionError
# too, but a certificate that fails verification will fail again: see `network_errors`.
TRANSIENT_EXCEPTIONS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

T = TypeVar("T")


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


class BackoffOrRetryAfter(wait_base):
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


def with_retries(
    call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], float | None]
) -> T:
    """``call()`` repeated on TransientError per ``policy``; the last error is raised as is,
    with the number of attempts it took."""
    retrying = Retrying(
        sleep=sleep,
        stop=stop_after_attempt(policy.max_attempts),
        wait=BackoffOrRetryAfter(policy),
        retry=retry_if_exception_type(TransientError),
        before_sleep=lambda state: _log_retry(state, policy),
        reraise=True,  # the caller gets our typed error, not tenacity's RetryError
    )
    for attempt in retrying:
        with attempt:
            try:
                return call()
            except TransientError as exc:
                exc.attempts = attempt.retry_state.attempt_number
                raise
    raise AssertionError("unreachable: tenacity either returns or re-raises")


def network_errors(call: Callable[[], T], where: str) -> T:
    """``call()`` with requests' failures turned into ours: a rejected certificate is final
    (SourceError), any other network failure transient."""
    try:
        return call()
    except requests.exceptions.SSLError as exc:
        if "certificate" in str(exc).lower():
            raise SourceError(
                f"TLS certificate rejected calling {where}; check the server certificate "
                "or the connection's ca_bundle"
            ) from exc
        raise TransientError(f"SSLError calling {where}") from exc
    except TRANSIENT_EXCEPTIONS as exc:
        raise TransientError(f"{type(exc).__name__} calling {where}") from exc


def _log_retry(state: RetryCallState, policy: RetryPolicy) -> None:
    exc = state.outcome.exception() if state.outcome else None
    # The message is ours (status or fault code, operation, address): never a body or secret.
    reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning(
        "%s (attempt %d of %d); retrying in %.1f s",
        reason,
        state.attempt_number,
        policy.max_attempts,
        wait,
    )
