"""How each canonical record becomes a warehouse row: table, key, change detection."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Table

from connectors.base import LOCAL_TZ
from mappings.canonical import (
    Agency,
    Canonical,
    Dossier,
    FeeLine,
    FeeStatement,
    Payment,
    Procedure,
    Rating,
)
from warehouse import rules, schema


@dataclass(frozen=True)
class Entity:
    """A kind of canonical record and the table that keeps it."""

    name: str
    table: Table
    key: tuple[str, ...]  # natural key columns
    to_row: Callable[[Any, str], dict[str, Any]]  # (record, source) -> row without audit columns
    updated_column: str | None = None  # newer-wins column; None: the last load wins
    surrogate: str | None = None  # surrogate primary key column, when there is one

    @cached_property
    def check(self) -> rules.RowCheck:
        """The storage rules of the entity's table (`warehouse.rules`), built once a process."""
        return rules.row_checker(self.table)


def local_date(instant: datetime | None) -> date | None:
    if instant is None:
        return None
    if instant.tzinfo is LOCAL_TZ:
        return instant.date()
    try:
        return instant.astimezone(LOCAL_TZ).date()
    except OverflowError:  # within hours of year 1 or 9999: the instant's own rule rejects it
        return None


def content_hash(row: dict[str, Any]) -> str:
    """A short digest of a row's content, to tell an unchanged record from a changed one.

    The ``repr`` of the values in the row's (fixed, per entity) column order — instants as POSIX
    timestamps, nested JSON values (attributes, fee lines) in sorted-key form: deterministic
    across processes and runs, and a third of the cost of serialising the row as JSON, which
    matters at backfill volumes.
    """
    values = [
        v.timestamp()
        if type(v) is datetime
        else json.dumps(v, sort_keys=True, default=_jsonable, ensure_ascii=False)
        if isinstance(v, dict | list)
        else v
        for v in row.values()
    ]
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def _jsonable(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not serialisable: {type(value).__name__}")


def _dossier_row(d: Dossier, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "source_id": d.source_id,
        "dossier_number": d.dossier_number,
        "procedure_code": d.procedure_code,
        "agency_code": d.agency_code,
        "applicant_type": d.applicant_type,
        "applicant_ref": d.applicant_ref,
        "channel": d.channel,
        "result_delivery": d.result_delivery,
        "submitted_at": d.submitted_at,
        "received_at": d.received_at,
        "due_at": d.due_at,
        "due_extended": d.due_extended,
        "ended_at": d.ended_at,
        "status": d.status,
        "on_the_spot": d.on_the_spot,
        "paid_online": d.paid_online,
        "fee_amount": d.fee_amount,
        "received_date": local_date(d.received_at),
        "due_date": local_date(d.due_at),
        "ended_date": local_date(d.ended_at),
        "intake_number": d.intake_number,
        "attributes": dict(d.attributes) or None,
        "quality_flags": ",".join(sorted(d.flags)) or None,
        "source_updated_at": d.source_updated_at,
    }


def _rating_row(r: Rating, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "source_id": r.source_id,
        "dossier_number": r.dossier_number,
        "agency_code": r.agency_code,
        "level": r.level,
        "rated_at": r.rated_at,
        "rated_date": local_date(r.rated_at),
    }


def _agency_row(a: Agency, source: str) -> dict[str, Any]:
    return {"code": a.code, "name": a.name, "parent_code": a.parent_code, "source": source}


def _procedure_row(p: Procedure, source: str) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "field_code": p.field_code,
        "field_name": p.field_name,
        "agency_code": p.agency_code,
        # + 0.0: SQLite keeps -0.0 as 0.0 where PostgreSQL keeps the sign; both get 0.0.
        "legal_duration": None if p.legal_duration is None else p.legal_duration + 0.0,
        "duration_unit": p.duration_unit,
        "online_level": p.online_level,
        "fee_amount": p.fee_amount,
        "source": source,
    }


ENTITIES: dict[type, Entity] = {
    Dossier: Entity(
        "dossier",
        schema.dossiers,
        ("source", "source_id"),
        _dossier_row,
        "source_updated_at",
        "id",
    ),
    Rating: Entity("rating", schema.ratings, ("source", "source_id"), _rating_row, None, "id"),
    Agency: Entity("agency", schema.agencies, ("code",), _agency_row),
    Procedure: Entity("procedure", schema.procedures, ("code",), _procedure_row),
}


def entity_of(record: Canonical) -> Entity:
    return ENTITIES[type(record)]


# -- Fee gateway (Vietinbank) ------------------------------------------------------------------


def _fee_line_json(line: FeeLine) -> dict[str, Any]:
    return {"type": line.fee_type, "code": line.code, "name": line.name, "amount": line.amount}


def _payment_row(p: Payment, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "source_id": p.source_id,
        "kind": p.kind,
        "dossier_number": p.dossier_number,
        "agency_code": p.agency_code,
        "amount": p.amount,
        "currency": p.currency,
        "paid_at": p.paid_at,
        "paid_date": local_date(p.paid_at),
        "result_code": p.result_code,
        "original_id": p.original_id,
        "fee_lines": [_fee_line_json(line) for line in p.fee_lines],
        "verified": p.verified,
        "source_updated_at": p.source_updated_at,
    }


def _statement_row(s: FeeStatement, source: str) -> dict[str, Any]:
    credits = [line.amount for line in s.lines if line.kind == "payment"]
    return {
        "source": source,
        "statement_date": s.statement_date,
        "file_name": s.file_name,
        "file_digest": s.file_digest,
        "issued_at": s.issued_at,
        "line_count": len(s.lines),
        "credited": sum(credits),
        "debited": sum(line.amount for line in s.lines) - sum(credits),
        "lines": [
            {
                "transaction_id": line.transaction_id,
                "kind": line.kind,
                "dossier_number": line.dossier_number,
                "amount": line.amount,
                "at": line.at.isoformat(),
            }
            for line in s.lines
        ],
        "verified": s.verified,
    }


ENTITIES[Payment] = Entity(
    "payment", schema.payments, ("source", "source_id"), _payment_row, "source_updated_at", "id"
)
ENTITIES[FeeStatement] = Entity(
    "fee_statement",
    schema.fee_statements,
    ("source", "statement_date"),
    _statement_row,
    "issued_at",
    "id",
)
