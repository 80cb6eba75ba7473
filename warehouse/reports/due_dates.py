"""Due dates computed at report time for dossiers whose sources gave none.

Why at report time and not at load time: the warehouse keeps what each source said (a missing due
date is a fact about the source, and a data-quality finding), while the computed date depends on
the procedure catalogue and on the working-day calendar, both of which change after the load — a
procedure's legal duration is corrected, the Prime Minister sets next year's Tết days. Computing
when the report runs uses the catalogue and calendar of that moment, and needs no re-load.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Select, func, select

from warehouse import schema
from warehouse.calendar import LOCAL_TZ, working_calendar
from warehouse.reports.scope import in_scope


def computed_due_dates(conn: Connection, start: date, end: date) -> dict[int, date]:
    """Local due dates, by dossier id, of the counted dossiers of the period that need one.

    A dossier needs one when neither it nor its one-stop twin has a due date, and its procedure
    is in the catalogue with a legal duration (`procedures.legal_duration`, `duration_unit`).
    """
    p = schema.procedures
    # The catalogue is small: read once, and joined here rather than planned against the
    # dossiers (a join the planner misjudges while the catalogue has no statistics yet).
    durations = {
        code: (duration, unit)
        for code, duration, unit in conn.execute(
            select(p.c.code, p.c.legal_duration, p.c.duration_unit).where(
                p.c.legal_duration.is_not(None), p.c.legal_duration >= 0
            )
        )
    }
    query = needing_due_dates(start, end)
    calendar = working_calendar()
    due: dict[int, date] = {}
    for dossier_id, received_at, procedure_code in conn.execute(query).all():
        if procedure_code not in durations:
            continue  # not in the catalogue, or no legal duration: no due date
        duration, unit = durations[procedure_code]
        if unit not in (None, "day", "hour"):
            continue  # an unknown unit cannot be computed: the dossier stays without a due date
        instant = calendar.due_at(received_at, float(duration), unit)
        due[dossier_id] = instant.astimezone(LOCAL_TZ).date()
    return due


def needing_due_dates(start: date, end: date) -> Select:
    """(id, received_at, procedure_code) of the counted dossiers of the period without a due
    date from their source or their one-stop twin."""
    d, twin = schema.dossiers, schema.dossiers.alias("twin")
    # The twins' latest due date (as in base.twin_facts), looked up for each of the few dossiers
    # without one of their own through ix_dossiers_twin_facts, not by reading every twin.
    twin_due = select(func.max(twin.c.due_date)).where(twin.c.linked_to == d.c.id).scalar_subquery()
    return select(d.c.id, d.c.received_at, d.c.procedure_code).where(
        *in_scope(start, end),
        d.c.due_date.is_(None),  # with in_scope: ix_dossiers_without_due_date
        twin_due.is_(None),
        d.c.received_at.is_not(None),
    )
