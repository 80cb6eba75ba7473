"""Typed errors raised by connectors, so callers can tell "retry later" from "fix something"."""

from __future__ import annotations

import json
import re
from typing import Any

EXCERPT_LIMIT = 200

# Keys whose values are credentials; their values never reach an excerpt, a repr or a log line.
_SECRET_KEY = re.compile(r"pass|secret|token|session|api_?key|auth|signature|checksum", re.I)
_SECRET_PAIR = re.compile(
    r'("[^"]*(?:pass|secret|token|session|api_?key|auth|signature|checksum)[^"]*"\s*:\s*)"[^"]*"?',
    re.I,
)


# A run of 9 or more digits may be an ID number (CMND 9, CCCD 12, tax code 10/13): masked in text.
_DIGITS = re.compile(r"\d{9,}")


def is_secret_key(key: object) -> bool:
    """True when a mapping key names a credential (password, session token, API key...)."""
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


def excerpt(payload: Any, limit: int = EXCERPT_LIMIT) -> str:
    """A short, credential-free rendering of a reply for an error message.

    Top-level scalars are shown (they say what went wrong: ``error_code``, ``message``); nested
    containers are summarised by size, because rows hold personal data (names, ID numbers) that
    must not end up in logs.
    """
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        stripped = payload.lstrip()
        if stripped[:1] in ("{", "[", "<") and len(stripped) > limit:
            # A cut or malformed JSON/XML body is records: its start would already hold names
            # and ID numbers. Only its shape is told; the page itself is kept redacted.
            kind = "XML" if stripped[:1] == "<" else "JSON"
            return f"{kind}-like text of {len(payload):,} characters"
        text = _DIGITS.sub(
            lambda m: f"<{len(m.group())} digits>", _SECRET_PAIR.sub(r'\1"***"', payload)
        )
    else:
        text = json.dumps(_summarise(payload, depth=0), ensure_ascii=False, default=repr)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summarise(value: Any, depth: int) -> Any:
    if isinstance(value, dict):
        if depth > 0:
            return f"{{object with keys {sorted(map(str, value))[:8]}}}"
        return {
            k: "***" if is_secret_key(k) else _summarise(v, depth + 1) for k, v in value.items()
        }
    if isinstance(value, list):
        return f"[{len(value)} items]"
    if isinstance(value, str) and len(value) > 60:
        return value[:59] + "…"
    return value


class SourceError(Exception):
    """Base class: something went wrong talking to a source system."""


class AuthError(SourceError):
    """The source rejected our credentials or session; retrying with the same ones won't help.

    ``payload`` is the parsed reply when it was JSON, so a connector can read the source's own
    error code (e.g. "session expired" vs "wrong password"). It is not part of ``str()``.
    """

    def __init__(self, message: str, *, status: int | None = None, payload: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.payload = payload


class TransientError(SourceError):
    """A failure worth retrying: 429, 5xx, network errors, timeouts, truncated bodies."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.attempts = attempts

    def __str__(self) -> str:
        if self.attempts and self.attempts > 1:
            return f"{self.message} (gave up after {self.attempts} attempts)"
        return self.message


class PageShape(dict):
    """A reply already reduced to what may be kept for diagnosis, safe by construction (an XML
    reply's structure with its values replaced by their shape, ``connectors.xml_shape``): the
    pipeline keeps it as it is, without a record redaction that would not know its form."""


class ContractError(SourceError):
    """The reply breaks the agreed contract: not JSON, missing keys, wrong types, bad request.

    ``page`` is the offending reply as decoded (a JSON object or array; by default the payload
    when it is one), so that the pipeline can keep it for diagnosis after redacting it, or a
    ``PageShape`` already fit to keep. It may hold raw source data: it is never part of
    ``str()``, and the pipeline drops it once kept.
    ``kept_at`` then names where the redacted copy is, and ``str()`` says so.
    """

    def __init__(
        self,
        message: str,
        *,
        payload: Any = None,
        status: int | None = None,
        page: Any = None,
    ) -> None:
        self.message = message
        self.status = status
        self.excerpt = excerpt(payload) if payload is not None else ""
        self.page = page if page is not None else _decoded(payload)
        self.kept_at: str | None = None
        super().__init__(message)

    def __str__(self) -> str:
        text = f"{self.message}; reply: {self.excerpt}" if self.excerpt else self.message
        return f"{text}; offending page kept at {self.kept_at}" if self.kept_at else text


def _decoded(payload: Any) -> Any:
    """The payload when it is a decoded reply; raw text cannot be redacted, so it is not kept."""
    return payload if isinstance(payload, dict | list) else None
