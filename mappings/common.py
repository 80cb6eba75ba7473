"""Helpers shared by the per-source mappings: parsing, pseudonymisation, rejections."""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from connectors.base import LOCAL_TZ
from mappings.canonical import Rejection, StatusEvent
from mappings.codes import CodeList, UnknownCode

_SEPARATORS = re.compile(r"[\s.\-/]")
HASHED = "hmac:"  # prefix of an ID number already replaced by its keyed hash


_DIGEST = re.compile(r"[0-9a-f]{64}")


def _is_digest(text: str) -> bool:
    return _DIGEST.fullmatch(text) is not None


class MappingError(ValueError):
    """A raw record breaks a rule; the message is the rejection reason."""


@dataclass(frozen=True)
class MappingContext:
    """What a mapping may consult besides the raw record. No I/O: data only."""

    pseudonym_key: bytes  # the key of the keyed hash of ID numbers (from the environment)
    known_procedures: frozenset[str] | None = None  # None: the catalogue is not checked
    # The key a source signs its records with (from its connection, where the records are
    # mapped): the mapping verifies each record with it. None: records cannot be verified.
    record_key: bytes | None = field(default=None, repr=False)

    def pseudonymise(self, id_number: str) -> str:
        """Keyed hash (HMAC-SHA256) of a normalised ID number; the number itself is never kept.

        A value already replaced by its hash (`hmac:<hex>`, see `redacted_id`) is passed through:
        records are redacted before they are archived or mapped.
        """
        if id_number.startswith(HASHED) and _is_digest(id_number[len(HASHED) :]):
            return id_number[len(HASHED) :]
        # Separators carry no identity: "0100109106-001" (a branch tax code as printed) and
        # "0100109106001" (as the business register stores it) are one enterprise.
        normalised = _SEPARATORS.sub("", id_number).upper()
        # surrogatepass: a lone surrogate (valid in JSON) must not make redaction raise and
        # fail the batch; valid text encodes exactly as before, so every reference is unchanged.
        digest = hmac.digest(
            self.pseudonym_key, normalised.encode("utf-8", "surrogatepass"), "sha256"
        )
        return digest.hex()

    def redacted_id(self, id_number: object) -> object:
        """The form of an ID number that may be archived: `hmac:<keyed hash>`."""
        if not isinstance(id_number, str | int) or str(id_number).strip() == "":
            return id_number
        return HASHED + self.pseudonymise(str(id_number))

    def procedure_flags(self, procedure_code: str) -> tuple[str, ...]:
        """A dossier naming a procedure missing from the catalogue still counts, flagged."""
        if self.known_procedures is not None and procedure_code not in self.known_procedures:
            return ("unknown_procedure",)
        return ()


R = TypeVar("R")


def rejecting(key_field: str) -> Callable[[Callable[..., R]], Callable[..., R | Rejection]]:
    """Turn any failure of a mapping into a Rejection with its reason, never an exception.

    A `MappingError` carries the precise reason; anything else (a list where a string was
    expected, …) becomes a generic "malformed record" reason so one bad record cannot crash
    a batch.
    """

    def wrap(fn: Callable[..., R]) -> Callable[..., R | Rejection]:
        @functools.wraps(fn)
        def mapped(raw: Any, ctx: MappingContext) -> R | Rejection:
            source_id = _source_id(raw, key_field)
            if type(raw) is not dict and not isinstance(raw, Mapping):
                return Rejection(f"record is not an object: {type(raw).__name__}", source_id)
            try:
                return fn(raw, ctx)
            except MappingError as exc:
                return Rejection(str(exc), source_id)
            except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
                return Rejection(f"malformed record: {type(exc).__name__}: {exc}"[:500], source_id)

        return mapped

    return wrap


def _source_id(raw: Any, key_field: str) -> str | None:
    if type(raw) is dict or isinstance(raw, Mapping):
        value = raw.get(key_field)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()[:200]
    return None


def text(raw: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """A string field, stripped; empty means absent."""
    value = raw.get(name)
    if type(value) is str:  # the common case first: no union isinstance, one strip
        value = value.strip()
        if value:
            return value
        value = None
    if value is None:
        if required:
            raise MappingError(f"missing {name}")
        return None
    if not isinstance(value, str | int):
        raise MappingError(f"{name} is not text: {type(value).__name__}")
    value = str(value).strip()
    if not value:
        if required:
            raise MappingError(f"missing {name}")
        return None
    return value


COMPACT = "%Y%m%d%H%M%S"  # yyyyMMddHHmmss, the national sync's date format


# Recently parsed compact stamps: a dossier's dates repeat in its progress rows (received, result
# ready, handed over, last change). Small on purpose — it serves repeats within a record, not
# across a backfill; datetimes are immutable, so sharing them is safe.
_COMPACT_CACHE: dict[str, datetime] = {}
_COMPACT_CACHE_MAX = 4_096


def _compact(value: str) -> datetime:
    """A yyyyMMddHHmmss local time as a tz-aware datetime (ValueError when it is not one)."""
    parsed = _COMPACT_CACHE.get(value)
    if parsed is not None:
        return parsed
    # strptime costs ~15 µs a call and a dossier has up to a dozen dates: slicing is several
    # times faster, and datetime() still rejects 31 February.
    if len(value) != 14 or not (value.isascii() and value.isdigit()):
        raise ValueError(value)
    parsed = datetime(
        int(value[:4]),
        int(value[4:6]),
        int(value[6:8]),
        int(value[8:10]),
        int(value[10:12]),
        int(value[12:14]),
        tzinfo=LOCAL_TZ,
    )
    if len(_COMPACT_CACHE) >= _COMPACT_CACHE_MAX:
        _COMPACT_CACHE.clear()
    _COMPACT_CACHE[value] = parsed
    return parsed


DMY_HMS = "%d/%m/%Y %H:%M:%S"  # dd/MM/yyyy HH:mm:ss, the ministry services' date-time format


def _dmy_hms(value: str) -> datetime:
    """The zero-padded dd/MM/yyyy HH:mm:ss form, by slicing (strptime costs ~15 µs a call);
    any other shape goes to strptime, so what is accepted does not change."""
    if value[2] + value[5] + value[10] + value[13] + value[16] != "// ::" or not (
        value.isascii()
        and (
            value[:2] + value[3:5] + value[6:10] + value[11:13] + value[14:16] + value[17:]
        ).isdigit()
    ):
        return datetime.strptime(value, DMY_HMS).replace(tzinfo=LOCAL_TZ)
    return datetime(
        int(value[6:10]),
        int(value[3:5]),
        int(value[:2]),
        int(value[11:13]),
        int(value[14:16]),
        int(value[17:]),
        tzinfo=LOCAL_TZ,
    )


def local_datetime(raw: Mapping[str, Any], name: str, fmt: str) -> datetime | None:
    """A local (Asia/Ho_Chi_Minh) date-time field in `fmt`, as a tz-aware datetime."""
    value = text(raw, name)
    if value is None:
        return None
    try:
        if fmt == COMPACT:
            return _compact(value)
        if fmt == DMY_HMS and len(value) == 19:
            return _dmy_hms(value)
        return datetime.strptime(value, fmt).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise MappingError(f"unparseable date {name}={value!r} (expected {fmt})") from None


def code(codes: CodeList, raw: Mapping[str, Any], name: str, on: Any = None) -> Any:
    """A coded field translated through the source's dated code list."""
    value = text(raw, name)
    if value is None:
        return None
    try:
        return codes.lookup(value, on)
    except UnknownCode:
        raise MappingError(f"unknown {codes.kind} code {name}={value!r}") from None


def integer(raw: Mapping[str, Any], name: str, *, default: int | None = None) -> int | None:
    """An integer field given as a number or a numeric string."""
    value = raw.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise MappingError(f"{name} is not a number: {value!r}"[:200])
    try:
        number = int(str(value).strip())
    except ValueError:
        raise MappingError(f"{name} is not an integer: {value!r}"[:200]) from None
    return number


# The counting rules' end time (docs/domain.md, Biểu II.06a): the first time the dossier reached 9
# (result ready), else 10 (handed over), else 7 (withdrawn) or 8 (stopped).
END_ORDER = (9, 10, 7, 8)


def ended_at(status: int, history: tuple[StatusEvent, ...]) -> datetime | None:
    """End time per the counting rules; only a dossier whose current status is an end has one."""
    if status not in END_ORDER:
        return None
    for wanted in END_ORDER:
        times = [e.at for e in history if e.status == wanted]
        if times:
            return min(times)
    return None


def with_current_status(
    events: set[StatusEvent], status: int, updated_at: datetime
) -> tuple[StatusEvent, ...]:
    """The history in time order, always holding the current status: when the source shows no
    time for it, the record's last change time. Deterministic, so a re-load appends nothing."""
    if not any(e.status == status for e in events):
        events.add(StatusEvent(status, updated_at))
    return tuple(sorted(events, key=lambda e: (e.at, e.status)))
