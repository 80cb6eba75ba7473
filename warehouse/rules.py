"""What each warehouse column can store, derived from the schema: a row that breaks a rule is
quarantined before it reaches a driver, so SQLite and PostgreSQL keep exactly the same rows.

The rules are those of the stricter backend, applied in Python on both: PostgreSQL refuses an
over-long string, a number out of its column's range and a NUL character, where SQLite stores
them; neither driver can encode an unpaired surrogate (valid in JSON as ``"\\udc80"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    SmallInteger,
    String,
    Table,
)

from warehouse.types import AwareDateTime

Rule = Callable[[Any], "str | None"]  # a value -> None when storable, else what is wrong
RowCheck = Callable[[Mapping[str, Any]], "str | None"]  # a row -> "column: what is wrong"

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# An instant is kept within a day of Python's limits in UTC: its UTC form (what SQLite stores)
# and its form in any session time zone (what PostgreSQL hands back) must both exist.
FIRST_INSTANT = datetime(1, 1, 2, tzinfo=UTC)
LAST_INSTANT = datetime(9999, 12, 30, tzinfo=UTC)
JSON_DEPTH = 32  # nesting a JSON column may hold; fee lines and attributes need two
_INT_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))  # subclasses first


def text_fault(value: str) -> str | None:
    """What makes a string unstorable by any driver: a NUL character or an unpaired surrogate."""
    if value.isascii():  # O(1) in CPython: the common case costs one flag test and a memchr
        return "contains a NUL character" if "\x00" in value else None
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "contains a NUL character"
    return f"contains an unpaired surrogate (U+{ord(bad.group()):04X}), not valid Unicode"


def storable_text(value: str) -> str:
    """``value`` with NUL characters and unpaired surrogates written as escapes (``\\u0000``,
    ``\\udc80``): what a quarantine row keeps of hostile text, so that writing it cannot fail.
    Inside a JSON string the escapes are JSON's own: the payload still decodes to the record."""
    if value.isascii() and "\x00" not in value:
        return value
    if _BAD_TEXT.search(value) is None:
        return value
    return value.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()


def _digits(number: int) -> str:
    # str() of a huge int is slow and, past 4,300 digits, refused: show its size instead.
    if number.bit_length() <= 128:
        return str(number)
    return f"a number of about {int(number.bit_length() * 0.30103) + 1} digits"


def _text_rule(limit: int | None) -> Rule:
    def rule(value: Any) -> str | None:
        if type(value) is not str:
            return f"not text ({type(value).__name__})"
        if limit is not None and len(value) > limit:
            return f"longer than {limit} characters ({len(value)})"
        return text_fault(value)

    return rule


def _bits(column: Column) -> int:
    return next(bits for cls, bits in _INT_BITS if isinstance(column.type, cls))


def integer_bounds(column: Column) -> tuple[int, int]:
    """The range of an integer column: 16, 32 or 64 bits as its type says."""
    bits = _bits(column)
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _int_rule(bits: int) -> Rule:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def rule(value: Any) -> str | None:
        if type(value) is not int:
            return f"not an integer ({type(value).__name__})"
        if not low <= value <= high:
            return f"out of range for a {bits}-bit integer ({_digits(value)})"
        return None

    return rule


def _float_rule(value: Any) -> str | None:
    if type(value) is int:
        if value.bit_length() > 1023:  # no double holds it (math.isfinite would raise)
            return f"out of range for a float ({_digits(value)})"
        return None
    if type(value) is not float:
        return f"not a number ({type(value).__name__})"
    if not math.isfinite(value):
        return f"not a finite number ({value!r})"
    return None


def _bool_rule(value: Any) -> str | None:
    return None if type(value) is bool else f"not a boolean ({type(value).__name__})"


def _date_rule(value: Any) -> str | None:
    return None if type(value) is date else f"not a date ({type(value).__name__})"


def _instant_rule(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return f"not a date-time ({type(value).__name__})"
    if value.tzinfo is None or value.utcoffset() is None:  # as AwareDateTime refuses it
        return "no time zone (a naive date-time)"
    if 1 < value.year < 9999:  # the common case: far from the limits
        return None
    try:
        fits = FIRST_INSTANT <= value <= LAST_INSTANT
    except OverflowError:
        fits = False
    if not fits:
        return f"outside the years 1-9999 in UTC ({value.isoformat()})"
    return None


def _json_rule(value: Any) -> str | None:
    """What a JSON column cannot keep the same on both backends: text keys only, storable text,
    64-bit integers, finite numbers, bounded nesting. The fault says where: ``at [0].name: …``."""
    found = _json_fault(value, "", 0)
    return None if found is None else f"at {found[0] or 'the top'}: {found[1]}"


def _json_fault(value: Any, path: str, depth: int) -> tuple[str, str] | None:
    kind = type(value)
    if value is None or kind is bool:
        return None
    if kind is str:
        fault = text_fault(value)
    elif kind is int:
        fault = _INT64(value)
    elif kind is float:
        fault = None if math.isfinite(value) else f"not a finite number ({value!r})"
    elif depth >= JSON_DEPTH:
        fault = f"nested deeper than {JSON_DEPTH} levels"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                return path, f"key {key!r} is not text"[:200]
            inner = f"{path}.{storable_text(key)[:64]}" if path else storable_text(key)[:64]
            fault = text_fault(key)
            if fault is not None:
                return inner, f"key {fault}"
            found = _json_fault(item, inner, depth + 1)
            if found is not None:
                return found
        return None
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _json_fault(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    else:
        fault = f"not a JSON value ({kind.__name__})"
    return None if fault is None else (path, fault)


_INT64 = _int_rule(64)


def column_rule(column: Column) -> Rule:
    """The rule of one column: its type's, and `nullable=False` refuses None."""
    kind = column.type
    if isinstance(kind, AwareDateTime):
        rule = _instant_rule
    elif isinstance(kind, String):  # Text too (no length)
        rule = _text_rule(kind.length)
    elif isinstance(kind, Boolean):
        rule = _bool_rule
    elif isinstance(kind, Integer):
        rule = _int_rule(_bits(column))
    elif isinstance(kind, Float):
        rule = _float_rule
    elif isinstance(kind, Date):
        rule = _date_rule
    elif isinstance(kind, JSON):
        rule = _json_rule
    else:  # a new column type needs its rule written here, not a silent pass
        raise TypeError(f"no storage rule for {column.table.name}.{column.name}: {kind!r}")
    if column.nullable:
        return lambda value: None if value is None else rule(value)
    return lambda value: "missing (the column is required)" if value is None else rule(value)


_ABSENT = object()


def _plan(columns: list[Column]) -> tuple[list, list, list, list]:
    """The columns by how their common case is tested inline: (text, integer, instant, other;
    a boolean or date column's by its exact type).

    The rule functions above give the reason; the row checks below only call them once the
    cheap inline test (type, length or range, ASCII without NUL, year) has failed, so that a
    storable row costs a few comparisons a column on the loading's hot path.
    """
    texts, ints, instants, others = [], [], [], []
    for column in columns:
        rule, kind, required = column_rule(column), column.type, not column.nullable
        if isinstance(kind, AwareDateTime):
            instants.append((column.name, required, rule))
        elif isinstance(kind, String):
            texts.append((column.name, kind.length or 2**62, required, rule))
        elif isinstance(kind, Integer):
            ints.append((column.name, *integer_bounds(column), required, rule))
        else:
            exact = bool if isinstance(kind, Boolean) else date if isinstance(kind, Date) else None
            others.append((column.name, exact, required, rule))
    return texts, ints, instants, others


def row_checker(table: Table) -> RowCheck:
    """A check of the rows of ``table``: None when every column present in the row can store
    its value, else ``"column: what is wrong"`` for the first column that cannot (texts, then
    integers, instants and the rest, each in table order). Columns absent from the row (ids,
    audit columns the loader fills) are not checked."""
    texts, ints, instants, others = _plan(list(table.columns))

    def check(row: Mapping[str, Any]) -> str | None:
        get = row.get
        for name, limit, required, rule in texts:
            value = get(name, _ABSENT)
            if type(value) is str:
                if len(value) <= limit and value.isascii() and "\x00" not in value:
                    continue
            elif value is _ABSENT or (value is None and not required):
                continue
            fault = rule(value)
            if fault is not None:
                return f"{name}: {fault}"
        for name, low, high, required, rule in ints:
            value = get(name, _ABSENT)
            if type(value) is int:
                if low <= value <= high:
                    continue
            elif value is _ABSENT or (value is None and not required):
                continue
            return f"{name}: {rule(value)}"
        for name, required, rule in instants:
            value = get(name, _ABSENT)
            if type(value) is datetime:
                if value.tzinfo is not None and 1 < value.year < 9999:
                    continue
            elif value is _ABSENT or (value is None and not required):
                continue
            fault = rule(value)
            if fault is not None:
                return f"{name}: {fault}"
        for name, exact, required, rule in others:
            value = get(name, _ABSENT)
            if type(value) is exact or value is _ABSENT or (value is None and not required):
                continue
            fault = rule(value)
            if fault is not None:
                return f"{name}: {fault}"
        return None

    return check
