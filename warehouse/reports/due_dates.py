"""Due dates computed at report time for dossiers whose sources gave none.

Why at report time and not at load time: the warehouse keeps what each source said (a missing due
date is a fact about the source, and a data-quality finding), while the computed date depends on
the procedure catalogue and on the working-day calendar, both of which change after the load — a
procedure's legal duration is corrected, the Prime Minister sets next year's Tết days. Computing
when the report runs uses the catalogue and calendar of that moment, and needs no re-load.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, select

from warehouse import schema
from warehouse.calendar import LOCAL_TZ, working_calendar
from warehouse.reports.base import in_scope, twin_facts


def computed_due_dates(conn: Connection, start: date, end: date) -> dict[int, date]:
    """Local due dates, by dossier id, of the counted dossiers of the period that need one.

    A dossier needs one when neither it nor its one-stop twin has a due date, and its procedure
    is in the catalogue with a legal duration (`procedures.legal_duration`, `duration_unit`).
    """
    d, p = schema.dossiers, schema.procedures
    twin = twin_facts()
    query = (
        select(d.c.id, d.c.received_at, p.c.legal_duration, p.c.duration_unit)
        .select_from(
            d.join(p, p.c.code == d.c.procedure_code).outerjoin(twin, twin.c.dossier_id == d.c.id)
        )
        .where(
            *in_scope(start, end),
            d.c.due_date.is_(None),
            twin.c.due_date.is_(None),
            d.c.received_at.is_not(None),
            p.c.legal_duration.is_not(None),
            p.c.legal_duration >= 0,
        )
    )
    calendar = working_calendar()
    due: dict[int, date] = {}
    for dossier_id, received_at, duration, unit in conn.execute(query).all():
        if unit not in (None, "day", "hour"):
            continue  # an unknown unit cannot be computed: the dossier stays without a due date
        instant = calendar.due_at(received_at, float(duration), unit)
        due[dossier_id] = instant.astimezone(LOCAL_TZ).date()
    return due
