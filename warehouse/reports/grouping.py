"""Report rows by agency, field (lĩnh vực) or procedure: the key, its name, the joins it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, FromClause, func

from warehouse import schema

GROUPINGS = ("agency", "field", "procedure")
UNKNOWN_CODE = "(unknown)"
UNKNOWN_NAME = "(không rõ)"
LABELS = {"agency": "đơn vị", "field": "lĩnh vực", "procedure": "thủ tục hành chính"}


R = TypeVar("R")


@dataclass
class GroupedReport(Generic[R]):
    """A report's rows by agency, field or procedure, and its total row."""

    start: date
    end: date
    by: str
    rows: list[R]
    total: R
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Grouping:
    key: ColumnElement[Any]
    name: ColumnElement[Any]  # an aggregate: use it in a GROUP BY key query
    from_: FromClause


class UnknownGrouping(ValueError):
    """A report asked to group its rows by something it cannot group by."""

    def __init__(self, value: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"cannot group by {value!r}: one of {', '.join(allowed)}")
        self.value, self.allowed = value, allowed


def check(by: str, allowed: tuple[str, ...] = GROUPINGS) -> None:
    if by not in allowed:
        raise UnknownGrouping(by, allowed)


def of_dossiers(by: str, counted: FromClause) -> Grouping:
    """Group counted dossiers; the field comes from the procedure catalogue."""
    check(by)
    a, p = schema.agencies, schema.procedures
    if by == "agency":
        frm = counted.outerjoin(a, a.c.code == counted.c.agency_code)
        return Grouping(counted.c.agency_code, func.max(a.c.name), frm)
    frm = counted.outerjoin(p, p.c.code == counted.c.procedure_code)
    if by == "procedure":
        return Grouping(counted.c.procedure_code, func.max(p.c.name), frm)
    return Grouping(p.c.field_code, func.max(p.c.field_name), frm)


def column_of(by: str, counted: FromClause) -> ColumnElement[Any]:
    """The counted dossiers' column a grouping is reached through: a report can count by it
    first and join the names (or, by field, the catalogue) to the counts."""
    check(by)
    return counted.c.agency_code if by == "agency" else counted.c.procedure_code


def of_procedures(by: str) -> Grouping:
    """Group the procedure catalogue itself (e.g. procedures offered online, by agency)."""
    check(by)
    a, p = schema.agencies, schema.procedures
    if by == "agency":
        frm = p.outerjoin(a, a.c.code == p.c.agency_code)
        return Grouping(p.c.agency_code, func.max(a.c.name), frm)
    if by == "procedure":
        return Grouping(p.c.code, func.max(p.c.name), p)
    return Grouping(p.c.field_code, func.max(p.c.field_name), p)


def label(code: str | None, name: str | None) -> tuple[str, str]:
    """A row's code and name; a missing key stays a row of its own, never dropped."""
    return code or UNKNOWN_CODE, name or code or UNKNOWN_NAME
