"""Decoding a JSON reply the way the contracts allow: UTF-8, nesting and numbers bounded, no
NaN/Infinity; a reply cut short (retried) is told apart from one that breaks the contract.

Python's json accepts more than the contracts do, and fails outside its ``JSONDecodeError`` on
some hostile replies (``ValueError`` for an integer of more than 4,300 digits, ``RecursionError``
for deep nesting): every one of them is a ``ContractError`` here, with the reply's decoded page
for the pipeline to keep (redacted) whenever it could be decoded far enough.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from itertools import accumulate
from typing import Any

from connectors.errors import ContractError, TransientError

# The deepest contract (reply -> list -> record -> list -> object) nests 5 levels: 64 is far above
# any honest reply and far below where json's recursion (~1,000 frames) could blow up.
MAX_NESTING = 64
# Python's own default limit on int() of text (sys.get_int_max_str_digits), fixed here so that
# an interpreter configured without it cannot spend quadratic time on a hostile number.
MAX_NUMBER_DIGITS = 4300

_LITERALS = ("true", "false", "null")
_CUT_NUMBER = re.compile(r"-|\.|[eE][-+]?")
_CUT_ESCAPE = re.compile(r"u[0-9A-Fa-f]{0,4}")
# Every byte but quotes and brackets, and what each bracket does to the depth.
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class _Refused(ValueError):
    """A value json could decode but the contracts do not allow; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode(content: bytes, encoding: str | None, *, where: str) -> Any:
    """The JSON document of a reply body; raises TransientError for a body cut short and
    ContractError for anything else that is not a JSON document the contracts allow."""
    text, bad_encoding, codec = _text(content, encoding)
    raw = content if codec == "utf-8" else text.encode("utf-8", "surrogatepass")
    # Counted before json sees the text: its recursion must never get the chance to blow up.
    if nesting_exceeds(raw, MAX_NESTING):
        raise ContractError(f"reply from {where} nests deeper than {MAX_NESTING} levels")
    try:
        reply = json.loads(
            text, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_finite_float
        )
    except _Refused as exc:
        raise ContractError(f"reply from {where} {exc.reason}", page=_page_to_keep(text)) from None
    except json.JSONDecodeError as exc:
        # A body shorter than its Content-Length already failed as ChunkedEncodingError
        # (urllib3 2 enforces the length); this catches a JSON document cut off anyway, a
        # multi-byte character cut at its end included.
        if _looks_truncated(text, exc):
            raise TransientError(
                f"truncated JSON reply ({len(content)} bytes) from {where}"
            ) from None
        if bad_encoding is not None:
            raise ContractError(_not_encoded(where, encoding, bad_encoding)) from None
        raise ContractError(f"reply from {where} is not JSON", payload=text) from None
    if bad_encoding is not None:
        # Decoded with U+FFFD in place of the bad bytes: fit to keep, not to load.
        raise ContractError(_not_encoded(where, encoding, bad_encoding), page=_decoded_page(reply))
    return reply


def nesting_exceeds(raw: bytes, limit: int) -> bool:
    """True when arrays and objects of the JSON text ``raw`` (UTF-8) nest more than ``limit``
    deep; brackets inside strings do not count.

    Bytes operations only (a few milliseconds on a 1,000-record page): in UTF-8 no byte of a
    multi-byte character is a quote, a backslash or a bracket, so the structure reads the same.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:
        # An escaped backslash, then an escaped quote: neither opens nor closes a string.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(None, _NOT_STRUCTURE)
    outside = b"".join(structure.split(b'"')[::2])  # quotes alternate: out of, into a string
    return max(accumulate(map(_DEPTH_STEP.__getitem__, outside)), default=0) > limit


def _text(content: bytes, encoding: str | None) -> tuple[str, UnicodeDecodeError | None, str]:
    """The body as text, the decoding error if some bytes were not of its encoding (they are
    replaced by U+FFFD, so that a body cut inside a multi-byte character still reaches the
    truncation check), and the codec's name. A charset Python does not know: UTF-8."""
    try:
        codec = codecs.lookup(encoding or "utf-8").name
    except LookupError:
        codec = "utf-8"
    try:
        return content.decode(codec), None, codec
    except UnicodeDecodeError as exc:
        return content.decode(codec, errors="replace"), exc, codec


def _not_encoded(where: str, encoding: str | None, error: UnicodeDecodeError) -> str:
    return f"reply from {where} is not valid {encoding or 'utf-8'} (byte {error.start:,})"


def _page_to_keep(text: str) -> Any:
    """The reply decoded for the diagnosis copy: what the contracts refuse (NaN, Infinity,
    numbers too long or beyond a float) is kept as a marker or its literal, not as a value."""
    try:
        return _decoded_page(
            json.loads(text, parse_constant=str, parse_int=_marked_int, parse_float=_marked_float)
        )
    except ValueError:
        return None


def _decoded_page(reply: Any) -> Any:
    return reply if isinstance(reply, dict | list) else None


def _no_constant(name: str) -> Any:
    raise _Refused(f"has {name}, which is not a JSON number")


def _bounded_int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise _Refused(f"has a number of {digits:,} digits (at most {MAX_NUMBER_DIGITS:,})")
    return int(literal)


def _finite_float(literal: str) -> float:
    if len(literal) > MAX_NUMBER_DIGITS:
        raise _Refused(f"has a number of {len(literal):,} characters")
    value = float(literal)
    if not math.isfinite(value):  # "1e999": json would make it Infinity
        # Short literals only: a long one may hold an ID number, and this goes to the logs.
        shown = literal if len(literal) <= 8 else f"{len(literal):,} characters"
        raise _Refused(f"has a number beyond a float's range ({shown})")
    return value


def _marked_int(literal: str) -> int | str:
    digits = len(literal.lstrip("-"))
    return int(literal) if digits <= MAX_NUMBER_DIGITS else f"<number of {digits:,} digits>"


def _marked_float(literal: str) -> float | str:
    value = float(literal)
    if math.isfinite(value) and len(literal) <= MAX_NUMBER_DIGITS:
        return value
    return f"<number of {len(literal):,} characters>"


def _looks_truncated(text: str, error: json.JSONDecodeError) -> bool:
    """True when the text is the start of a JSON document that ended too early."""
    body = text.rstrip()
    if not body.lstrip().startswith(("{", "[")):
        return False
    if error.msg.startswith("Unterminated string"):
        return True
    tail = body[error.pos :]
    if error.msg.startswith("Invalid \\uXXXX escape"):  # the error points at the "u"
        return _CUT_ESCAPE.fullmatch(tail) is not None
    # A number cut after its sign, its decimal point or its exponent mark ("-", "1.", "1e+")
    # fails where the fragment starts.
    return (
        tail == ""
        or any(literal.startswith(tail) for literal in _LITERALS)
        or _CUT_NUMBER.fullmatch(tail) is not None
    )
