"""Fault knobs shared by every stand-in, and the deterministic injector that applies them.

Wire faults change only *whether* a call succeeds (5xx, 429, expired session, latency, a reply
reset or cut short), never the data a successful call returns, so a client that retries
converges on the same records. The data knobs (`malformed_rate`, `bad_signature_rate`) instead
corrupt a fixed, seed-chosen subset of the records, the same on every call.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, fields
from typing import Any

# The knobs that share each service call's one draw: at most one of them hits a call.
PER_CALL = ("error_rate", "rate_limit_rate", "stall_rate", "reset_rate", "truncate_rate")


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
    reset_rate: float = 0.0  # share of service calls whose connection is reset mid-body
    truncate_rate: float = 0.0  # share of service calls answered 2xx with the body cut short
    bad_signature_rate: float = 0.0  # share of payments signed wrongly (fee gateway; fixed subset)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "error_rate",
            "rate_limit_rate",
            "malformed_rate",
            "repeat_rate",
            "stall_rate",
            "reset_rate",
            "truncate_rate",
            "bad_signature_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name}={value} is not a fraction in [0, 1]")
        if sum(getattr(self, name) for name in PER_CALL) > 1.0 + 1e-9:  # float sums
            raise ValueError(f"{' + '.join(PER_CALL)} exceeds 1")
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


@dataclass(frozen=True)
class Cut:
    """A reply to damage on the wire, which the HTTP server (`simulators.server`) applies to
    whatever the app answers: ``reset`` sends the status line, the headers (Content-Length of
    the whole body) and the first ``keep`` share of the body, then resets the connection;
    ``truncate`` sends a complete-looking 2xx reply of only part of the body, its Content-Length
    honest for the cut body (as a proxy that lost the rest would)."""

    kind: str  # "reset" | "truncate"
    keep: float  # in [0, 1): the share of the body sent

    def reset_length(self, size: int) -> int:
        """Bytes of a ``size``-byte body sent before the reset: 0 .. size - 1."""
        return min(int(self.keep * size), max(size - 1, 0))

    def truncated_length(self, size: int) -> int:
        """Bytes a truncated ``size``-byte body keeps: 1 .. size - 1 (needs size >= 2)."""
        return 1 + min(int(self.keep * (size - 1)), size - 2)


# The cut the injector chose for the request being answered. The server sets it to None before
# each request and reads it once the app has answered; the app (in the same thread) sets it
# through `FaultInjector.next_failure`. An app served by anything else is simply not cut.
pending_cut: ContextVar[Cut | None] = ContextVar("pending_cut", default=None)

_GATEWAY_PAGE = b"<html><body><h1>%d %s</h1></body></html>"


class FaultInjector:
    """Draws each call's fate from one seeded stream: the same seed and call order give the same
    failures. Thread-safe; under concurrent clients the order is the server's arrival order."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)  # noqa: S311 - reproducible test faults, not security
        self._lock = threading.Lock()
        self.calls = 0
        self.injected: Counter[str] = Counter()  # fault kind -> calls it hit, for tests

    def next_failure(self) -> Failure | None:
        """The failure to answer this service call with, or None to answer it normally.

        A reset or truncated reply is an answer given normally and damaged on the wire: this
        returns None and leaves the `Cut` in `pending_cut` for the server."""
        f = self.faults
        with self._lock:
            self.calls += 1
            draw = self._rng.random()
            pick = self._rng.randrange(3)  # drawn every call so the stream does not depend on rates
            kind, share = self._kind(draw)
            if kind:
                self.injected[kind] += 1
        if kind == "error":
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
        if kind == "rate_limit":
            return Failure(
                429, (("Content-Type", "text/plain"), ("Retry-After", "1")), b"Too Many Requests"
            )
        if kind == "stall":
            # A hung back end: the answer comes, but after the client has given up waiting.
            time.sleep(f.stall)
        elif kind in ("reset", "truncate"):
            pending_cut.set(Cut(kind, share))
        return None

    def _kind(self, draw: float) -> tuple[str | None, float]:
        """The fault whose band of [0, 1) holds ``draw``, and where in its band it falls (the
        share of the body a cut keeps: no extra draw, so the stream does not depend on rates)."""
        low = 0.0
        for name in PER_CALL:
            rate = getattr(self.faults, name)
            if low <= draw < low + rate:
                return name.removesuffix("_rate"), (draw - low) / rate
            low += rate
        return None, 0.0

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
