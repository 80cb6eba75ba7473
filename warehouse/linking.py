"""One count per real dossier: link the one-stop record of a dossier to its ministry record.

A business registration, driving licence or criminal record dossier may be entered in the
one-stop software at the counter and processed in a ministry system: two records, one dossier.
The one-stop record points at the ministry record (`linked_to`, with the rule that matched in
`link_rule`):

1. `dossier_number` — the ministry record's own number or the one-stop number it was received
   under (`intake_number`) equals the one-stop record's number;
2. `applicant_procedure_date` — else the same procedure, applicant reference (keyed hash of the ID
   number or tax code) and local receive date.

Reports count the ministry record (status and dates come from the system that processes the
dossier) and take intake facts such as the channel from the one-stop record. Links are recomputed
for every record a batch touches, in the batch's transaction, so loading order does not matter.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from warehouse import schema
from warehouse.bulk import one_of

INTAKE_SOURCE = "one_stop"  # the system where dossiers are received at the center
CHUNK = 500
d = schema.dossiers
_COLS = (
    d.c.id,
    d.c.source,
    d.c.source_id,
    d.c.dossier_number,
    d.c.intake_number,
    d.c.procedure_code,
    d.c.applicant_ref,
    d.c.received_date,
    d.c.linked_to,
    d.c.link_rule,
)


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _triple(row: Any) -> tuple | None:
    if row.applicant_ref is None or row.received_date is None or row.procedure_code is None:
        return None
    return (row.procedure_code, row.applicant_ref, row.received_date)


LinkRow = namedtuple("LinkRow", [c.name for c in _COLS])  # noqa: PYI024 - a row's shape


def relink(conn: Connection, source: str, touched: list[LinkRow]) -> int:
    """Recompute the links touched by these records of `source` (as they now are in the
    warehouse, with their current link); returns links changed."""
    if not touched:
        return 0
    if source == INTAKE_SOURCE:
        intake_rows = touched
    else:
        intake_rows = _intake_rows_matching(conn, touched)
    return _link(conn, intake_rows)


def _intake_rows_matching(conn: Connection, ministry_rows: list) -> list:
    """The one-stop records that may be the twin of any of these ministry records."""
    numbers = sorted({n for r in ministry_rows for n in (r.dossier_number, r.intake_number) if n})
    found: dict[int, Any] = {}
    # Those linked to them now, whose link may no longer hold, and those that may match.
    for chunk in _chunks(sorted(r.id for r in ministry_rows)):
        for row in conn.execute(select(*_COLS).where(one_of(conn, d.c.linked_to, chunk))):
            found[row.id] = row
    for chunk in _chunks(numbers):
        for row in conn.execute(
            select(*_COLS).where(
                d.c.source == INTAKE_SOURCE, one_of(conn, d.c.dossier_number, chunk)
            )
        ):
            found[row.id] = row
    for row in _same_triple(conn, ministry_rows, intake=True):
        found[row.id] = row
    return list(found.values())


def _same_triple(conn: Connection, rows: list, *, intake: bool) -> Iterator[Any]:
    """The rows on the other side (one-stop when ``intake``, else ministry) with the same
    (procedure, applicant reference, receive date) as any of ``rows``.

    Driven from the given rows' ids: one probe of the (procedure, applicant, date) index per
    row, on both backends. (Three IN lists over the index columns make SQLite scan a range per
    list value; a row-value IN of hundreds of tuples makes PostgreSQL plan one OR branch each.)
    The side is told apart here, not in SQL: given `other.source = 'one_stop'`, SQLite (which has
    no statistics) drives the join from that index and reads every one-stop record per chunk.
    """
    ids = sorted(r.id for r in rows if _triple(r) is not None)
    if not ids:
        return
    mine, other = d.alias("mine"), d.alias("other")
    cols = [other.c[c.name] for c in _COLS]
    for chunk in _chunks(ids):
        query = (
            select(*cols)
            .select_from(
                mine.join(
                    other,
                    and_(
                        other.c.procedure_code == mine.c.procedure_code,
                        other.c.applicant_ref == mine.c.applicant_ref,
                        other.c.received_date == mine.c.received_date,
                    ),
                )
            )
            .where(one_of(conn, mine.c.id, chunk))
            .distinct()
        )
        for row in conn.execute(query):
            if (row.source == INTAKE_SOURCE) == intake:
                yield row


def _link(conn: Connection, intake_rows: list) -> int:
    if not intake_rows:
        return 0
    numbers = sorted({r.dossier_number for r in intake_rows})
    by_number: dict[str, list] = {}
    by_triple: dict[tuple, list] = {}
    for chunk in _chunks(numbers):
        for row in conn.execute(
            select(*_COLS).where(
                d.c.source != INTAKE_SOURCE,
                or_(
                    one_of(conn, d.c.dossier_number, chunk),
                    one_of(conn, d.c.intake_number, chunk),
                ),
            )
        ):
            for n in {row.dossier_number, row.intake_number} - {None}:
                by_number.setdefault(n, []).append(row)
    for row in _same_triple(conn, intake_rows, intake=False):
        by_triple.setdefault(_triple(row), []).append(row)

    changes = []
    for row in intake_rows:
        target, rule = None, None
        if candidates := by_number.get(row.dossier_number):
            rule = "dossier_number"
        elif (t := _triple(row)) is not None and (candidates := by_triple.get(t)):
            rule = "applicant_procedure_date"
        if candidates:
            # Deterministic whatever the load order: the first by (source, source id).
            target = min(candidates, key=lambda c: (c.source, c.source_id)).id
        if (target, rule) != (row.linked_to, row.link_rule):
            changes.append({"_id": row.id, "linked_to": target, "link_rule": rule})
    if changes:
        conn.execute(
            update(d)
            .where(d.c.id == bindparam("_id"))
            .values(linked_to=bindparam("linked_to"), link_rule=bindparam("link_rule")),
            changes,
        )
    return len(changes)
