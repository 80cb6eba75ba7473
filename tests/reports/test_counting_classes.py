"""Counting the dossiers of each class (Rules.phu_luc_01_classes, what Phụ lục 01 runs) gives the
same columns as counting each column's own condition (Rules.phu_luc_01_measures): the conditions of
a class are disjoint, on the stand-in's data and on hand-made edge cases, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from simulators.one_stop import build_dataset
from tests.reports.factories import catalogue, dossier, load, load_dataset
from warehouse.reports.base import INTAKE_COLUMNS, OUTCOME_COLUMNS, counting

PERIODS = [
    (date(2019, 1, 1), date(2019, 6, 30)),
    (date(2019, 2, 1), date(2019, 2, 28)),
    (date(2018, 12, 15), date(2019, 3, 14)),
    (date(2019, 6, 30), date(2019, 6, 30)),
]
EDGES = [
    dossier("no-due-resolved", "2019-02-01T08:00", ended="2019-02-03T08:00"),
    dossier("no-due-pending", "2019-02-01T08:00"),
    dossier("due-on-last-day", "2019-02-01T08:00", due="2019-02-28T17:00"),
    dossier("ended-on-due", "2019-02-01T08:00", ended="2019-02-10T09:00", due="2019-02-10T17:00"),
    dossier("channel-9", "2019-02-01T08:00", channel=9),
    dossier("ended-before-received", "2019-02-05T08:00", ended="2019-02-01T08:00"),
]


def _by_measures(report) -> dict[str, int]:
    measures = report.rules.phu_luc_01_measures()
    row = report.conn.execute(select(*(m.label(n) for n, m in measures.items()))).mappings().one()
    return {n: int(v) for n, v in row.items()}


def _by_classes(report) -> dict[str, int]:
    classes = report.rules.phu_luc_01_classes()
    c = select(*(e.label(n) for n, e in classes.items())).subquery()
    counts: dict[str, int] = dict.fromkeys((*INTAKE_COLUMNS, *OUTCOME_COLUMNS), 0)
    counts |= {"no_due_date": 0, "due_computed": 0}
    query = select(c.c.intake, c.c.outcome, c.c.no_due_date, c.c.due_computed, func.count())
    for intake, outcome, no_due, computed, n in report.conn.execute(
        query.group_by(c.c.intake, c.c.outcome, c.c.no_due_date, c.c.due_computed)
    ):
        if intake is not None:
            counts[INTAKE_COLUMNS[intake]] += n
        if outcome is not None:
            counts[OUTCOME_COLUMNS[outcome]] += n
        counts["no_due_date"] += n * no_due
        counts["due_computed"] += n * computed
    return counts


@pytest.fixture
def warehouse(engine):
    load_dataset(engine, build_dataset("small", 7))
    catalogue(engine)
    load(engine, "one_stop", EDGES)
    return engine


@pytest.mark.parametrize("period", PERIODS)
def test_each_dossier_counts_in_one_class_of_each_kind(warehouse, period):
    with counting(warehouse, *period) as report:
        by_measures = _by_measures(report)
        assert by_measures["carried_over"] > 0 and by_measures["pending_within_due"] > 0
        assert _by_classes(report) == by_measures
