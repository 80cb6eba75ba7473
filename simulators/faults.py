"""Fault knobs shared by every stand-in, and the deterministic injector that applies them.

Faults change only *whether* a call succeeds (5xx, 429, expired session, latency), never the
data a successful call returns, so a client that retries converges on the same records.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Faults:
    error_rate: float = 0.0  # share of service calls answered 500/502/503
    rate_limit_rate: float = 0.0  # share answered 429 with Retry-After: 1
    latency: float = 0.0  # seconds added to every call
    malformed_rate: float = 0.0  # share of dossier records corrupted (a fixed subset)
    repeat_rate: float = 0.0  # share of pages that repeat the previous page's last records
    session_ttl: int = 0  # service calls a session serves before it expires; 0 = never
    stall_rate: float = 0.0  # share of service calls answered only after `stall` seconds
    stall: float = 2.0  # longer than a test client's read timeout: the client times out
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "error_rate",
            "rate_limit_rate",
            "malformed_rate",
            "repeat_rate",
            "stall_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name}={value} is not a fraction in [0, 1]")
        if self.error_rate + self.rate_limit_rate + self.stall_rate > 1.0:
            raise ValueError("error_rate + rate_limit_rate + stall_rate exceeds 1")
        if self.latency < 0 or self.session_ttl < 0 or self.stall < 0:
            raise ValueError("latency, stall and session_ttl must not be negative")

    @classmethod
    def parse(cls, text: str) -> Faults:
        """Knobs from ``"k=v,k=v"`` (e.g. ``"error_rate=0.1,seed=7"``); unknown keys are errors."""
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if key not in types:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(types)}")
            if not sep:
                raise ValueError(f"fault {key!r} has no value (expected {key}=...)")
            convert = int if types[key] in (int, "int") else float
            try:
                values[key] = convert(raw.strip())
            except ValueError:
                raise ValueError(f"fault {key}={raw.strip()!r} is not a number") from None
        return cls(**values)

    def __str__(self) -> str:
        """The non-default knobs in the form `parse` reads."""
        default = Faults()
        return ",".join(
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        )


@dataclass(frozen=True)
class Failure:
    """A transient failure to answer instead of data."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


_GATEWAY_PAGE = b"<html><body><h1>%d %s</h1></body></html>"


class FaultInjector:
    """Draws each call's fate from one seeded stream: the same seed and call order give the same
    failures. Thread-safe; under concurrent clients the order is the server's arrival order."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)  # noqa: S311 - reproducible test faults, not security
        self._lock = threading.Lock()
        self.calls = 0

    def next_failure(self) -> Failure | None:
        """The failure to answer this service call with, or None to answer it normally."""
        f = self.faults
        with self._lock:
            self.calls += 1
            draw = self._rng.random()
            pick = self._rng.randrange(3)  # drawn every call so the stream does not depend on rates
        if draw < f.error_rate:
            status, reason = (
                (500, "Internal Server Error"),
                (502, "Bad Gateway"),
                (503, "Service Unavailable"),
            )[pick]
            # 502/503 come from the reverse proxy in front of real systems: HTML, not JSON.
            if status == 500:
                body = b'{"error_code": -1, "message": "internal error"}'
                return Failure(status, (("Content-Type", "application/json"),), body)
            page = _GATEWAY_PAGE % (status, reason.encode())
            return Failure(status, (("Content-Type", "text/html"),), page)
        if draw < f.error_rate + f.rate_limit_rate:
            return Failure(
                429, (("Content-Type", "text/plain"), ("Retry-After", "1")), b"Too Many Requests"
            )
        if draw < f.error_rate + f.rate_limit_rate + f.stall_rate:
            # A hung back end: the answer comes, but after the client has given up waiting.
            time.sleep(f.stall)
        return None

    def repeat_count(self, *key: object) -> int:
        """How many of the previous page's records to repeat on the page named by ``key``:
        a pure function of the seed and the request, so a retried page is identical."""
        if self.faults.repeat_rate <= 0:
            return 0
        digest = hashlib.blake2b(repr((self.faults.seed, *key)).encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        if (value >> 8) / 2**56 >= self.faults.repeat_rate:
            return 0
        return 1 + (value & 0xFF) % 3
