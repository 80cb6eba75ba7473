"""One count per real dossier: one-stop records linked to ministry records, in any load order."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mappings.canonical import StatusEvent
from tests.helpers import warehouse_digest
from tests.warehouse.test_loader import T0, dossier
from warehouse import schema
from warehouse.loader import Batch
from warehouse.reports.phu_luc_01 import phu_luc_01

PERIOD = (date(2019, 1, 1), date(2019, 6, 30))
RESOLVED = T0 + timedelta(days=2)


def ministry(number, intake=None, **over):
    # Processed and resolved in the ministry system, received at the counter.
    d = dossier(0, status=9, updated=RESOLVED, channel=1, **over)
    return dataclasses.replace(
        d,
        source_id=number,
        dossier_number=number,
        intake_number=intake,
        history=(*d.history, StatusEvent(9, RESOLVED)),
    )


def counter_copy(number, **over):
    # The one-stop record of the same dossier: still "processing", submitted online.
    d = dossier(0, status=4, updated=T0, channel=2, **over)
    return dataclasses.replace(d, source_id=number, dossier_number=number)


def load(engine, source, records):
    with Batch(engine, source=source, stream="dossiers") as batch:
        batch.load_page(records)


def links(engine):
    d, t = schema.dossiers, schema.dossiers.alias("t")
    with engine.connect() as conn:
        rows = conn.execute(
            select(d.c.source_id, t.c.source_id, d.c.link_rule)
            .outerjoin(t, t.c.id == d.c.linked_to)
            .order_by(d.c.source, d.c.source_id)
        ).all()
    return {a: (b, rule) for a, b, rule in rows if b is not None}


@pytest.mark.parametrize("ministry_first", [True, False])
def test_same_dossier_number_links_in_either_load_order(engine, ministry_first):
    steps = [
        ("criminal_record", [ministry("000.00.12.H22-190105-5001")]),
        ("one_stop", [counter_copy("000.00.12.H22-190105-5001")]),
    ]
    for source, records in steps if ministry_first else reversed(steps):
        load(engine, source, records)
    assert links(engine) == {
        "000.00.12.H22-190105-5001": ("000.00.12.H22-190105-5001", "dossier_number")
    }


def test_the_intake_number_recorded_by_the_ministry_links(engine):
    load(engine, "one_stop", [counter_copy("000.00.03.H22-190110-0007")])
    load(
        engine,
        "business_registration",
        [ministry("DKKD-2019-000123", intake="000.00.03.H22-190110-0007")],
    )
    assert links(engine) == {"000.00.03.H22-190110-0007": ("DKKD-2019-000123", "dossier_number")}


def test_same_procedure_applicant_and_receive_date_link_without_a_number(engine):
    load(engine, "driving_licence", [ministry("GPLX-778899", applicant_ref="cd" * 32)])
    load(engine, "one_stop", [counter_copy("000.00.05.H22-190228-0042", applicant_ref="cd" * 32)])
    assert links(engine) == {
        "000.00.05.H22-190228-0042": ("GPLX-778899", "applicant_procedure_date")
    }


def test_no_link_when_the_receive_date_or_applicant_differs(engine):
    load(engine, "driving_licence", [ministry("GPLX-1", applicant_ref="cd" * 32)])
    load(
        engine,
        "one_stop",
        [
            counter_copy("A", applicant_ref="cd" * 32, received_at=T0 - timedelta(days=3)),
            counter_copy("B", applicant_ref="ef" * 32),
            counter_copy("C", applicant_ref=None),
        ],
    )
    assert links(engine) == {}


def test_two_one_stop_records_never_link_to_each_other(engine):
    load(engine, "one_stop", [counter_copy("X")])
    load(engine, "one_stop", [dataclasses.replace(counter_copy("Y"), dossier_number="X")])
    assert links(engine) == {}


def test_reports_count_each_real_dossier_once_with_ministry_status_and_counter_channel(engine):
    load(engine, "criminal_record", [ministry("N1"), ministry("N2")])
    load(engine, "one_stop", [counter_copy("N1"), counter_copy("N3", applicant_ref="ef" * 32)])
    total = phu_luc_01(engine, *PERIOD).total
    assert total.received_total == 3  # N1 once, N2, N3
    assert total.resolved_total == 2  # N1 resolved in the ministry system, N2
    assert total.pending_total == 1  # N3 only: N1's one-stop copy is not "pending" too
    assert (total.received_online, total.received_direct) == (2, 1)  # N1 came in online


def test_a_link_follows_the_data_when_the_ministry_record_changes(engine):
    load(engine, "one_stop", [counter_copy("N1", applicant_ref="ef" * 32)])
    load(engine, "criminal_record", [ministry("M1", intake="N1")])
    assert links(engine) == {"N1": ("M1", "dossier_number")}
    moved = dataclasses.replace(
        ministry("M1", intake="N9"), source_updated_at=RESOLVED + timedelta(1)
    )
    load(engine, "criminal_record", [moved])
    assert links(engine) == {}


def test_linking_is_idempotent_and_order_independent(tmp_path):
    from warehouse.db import make_engine, upgrade

    batches = [
        ("criminal_record", [ministry("N1"), ministry("N2", applicant_ref="cd" * 32)]),
        ("one_stop", [counter_copy("N1"), counter_copy("Z", applicant_ref="cd" * 32)]),
    ]
    digests = []
    for name, order in (("a", batches), ("b", batches[::-1]), ("c", batches + batches)):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        for source, records in order:
            load(engine, source, records)
        digests.append(warehouse_digest(engine))
    assert digests[0] == digests[1] == digests[2]


def test_twin_look_ups_probe_the_triple_index_from_the_page_not_every_counter_record(
    sqlite_engine,
):
    """A ministry page's twins are found by one index probe per record. Naming the one-stop side
    in SQL once let SQLite (no statistics) drive the join from the source index and read every
    counter record for each chunk: ministry loads fell to ~35 records/s on the demo warehouse."""
    from sqlalchemy import event

    load(sqlite_engine, "one_stop", [counter_copy(f"C{i}") for i in range(3)])
    statements = []
    event.listen(
        sqlite_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *a: statements.append(statement),
    )
    # A page's worth of ids in the look-up: the planner weighs its IN list against the index.
    load(sqlite_engine, "criminal_record", [ministry(f"M{i}") for i in range(400)])
    joins = [s for s in statements if "JOIN dossiers AS other" in s]
    assert joins  # the ministry record's counter twins, then the counter records' ministry twins
    with sqlite_engine.connect() as conn:
        for join in joins:
            params = tuple([1] * join.count("?"))
            plan = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {join}", params)]
            assert any("SEARCH mine" in step for step in plan), plan
            [probe] = [step for step in plan if " other " in f" {step} "]
            assert "ix_dossiers_procedure_code_applicant_ref_received_date" in probe, plan
            assert "(source=?)" not in probe, plan
