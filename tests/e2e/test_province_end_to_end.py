"""Every source's stand-in over real HTTP, synced into one warehouse: the official report counts
each real dossier once — a ministry dossier also entered at the one-stop counter included."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from lienthong.pipeline import sync
from lienthong.registry import SOURCES
from lienthong.settings import load
from mappings.common import LOCAL_TZ
from simulators import province
from simulators.server import serve
from simulators.standins import stand_in_connection, stand_ins
from tests.e2e.test_one_stop_end_to_end import as_counters, expected_phu_luc_01
from warehouse import schema
from warehouse.reports.phu_luc_01 import phu_luc_01

SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
H1 = (date(2019, 1, 1), date(2019, 6, 30))


def test_all_sources_count_each_real_dossier_once(engine):
    seed = 17
    built = province.datasets("small", seed)
    copies = [t for t in built["one_stop"].truth if t.twin_of]
    assert {t.twin_of.split("-")[0] for t in copies}, "the scenario must hold counter copies"
    with serve(stand_ins(seed=seed, scenario="small")) as base_url:
        for key in SOURCES:  # the one-stop software first: links must not depend on order
            sync(
                key,
                load(),
                since=SINCE,
                until=UNTIL,
                engine=engine,
                connection=stand_in_connection(base_url, key),
                run_id="test",
            )
    d = schema.dossiers
    with engine.connect() as conn:
        linked = dict(
            conn.execute(
                select(d.c.link_rule, func.count())
                .where(d.c.linked_to.is_not(None))
                .group_by(d.c.link_rule)
            ).all()
        )
    assert sum(linked.values()) == len(copies)
    assert linked.get("dossier_number", 0) > 0
    report = phu_luc_01(engine, *H1)
    expected = expected_phu_luc_01(province.counted_truth(built), *H1)
    assert as_counters(report) == dict(expected)
    for row in [*report.rows, report.total]:
        assert row.received_total == row.resolved_total + row.pending_total
