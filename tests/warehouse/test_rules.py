"""The storage rules (warehouse/rules.py): derived from the schema, checked before any driver,
and what they accept every backend stores and hands back unchanged."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Integer, String, delete, select

from mappings.canonical import (
    Agency,
    Dossier,
    FeeLine,
    FeeStatement,
    Payment,
    Procedure,
    Rating,
    Rejection,
    StatementLine,
    StatusEvent,
)
from mappings.common import LOCAL_TZ
from warehouse import rules, schema
from warehouse.entities import ENTITIES
from warehouse.loader import Batch, prepare_page

T0 = datetime(2019, 3, 1, 8, 0, tzinfo=LOCAL_TZ)
COLUMNS = [c for t in schema.metadata.sorted_tables for c in t.columns]
STRINGS = [c for c in COLUMNS if isinstance(c.type, String) and c.type.length]
INTEGERS = [c for c in COLUMNS if isinstance(c.type, Integer)]
# Columns the loader fills itself, not the entities' rows.
LOADER_FILLED = {"id", "content_hash", "batch_id", "linked_to", "link_rule"}


def name(column) -> str:
    return f"{column.table.name}.{column.name}"


def dossier(n: int = 1, **over) -> Dossier:
    base = dict(
        source_id=f"D{n}",
        dossier_number=f"D{n}",
        procedure_code="1.001612",
        agency_code="000.00.12.H22",
        applicant_type=1,
        applicant_ref="ab" * 32,
        channel=2,
        result_delivery=0,
        submitted_at=T0 - timedelta(hours=1),
        received_at=T0,
        due_at=T0 + timedelta(days=5),
        due_extended=False,
        ended_at=None,
        status=4,
        on_the_spot=False,
        paid_online=True,
        fee_amount=50000,
        source_updated_at=T0,
        history=(StatusEvent(2, T0), StatusEvent(4, T0 + timedelta(hours=1))),
        attributes={"purpose": "01"},
    )
    return Dossier(**(base | over))


SAMPLES = [
    dossier(),
    Rating("R1", "D1", "A1", 1, T0),
    Agency("A1", "Sở Tư pháp", None),
    Procedure("1.001612", "Cấp phiếu", "F1", "Tư pháp", "A1", 5.0, "day", "full", 200000),
    Payment(
        "VTB1",
        "payment",
        "D1",
        "A1",
        200000,
        "VND",
        T0,
        "00",
        None,
        (FeeLine("fee", "LP1", "Lệ phí", 200000),),
        True,
        T0,
    ),  # fmt: skip
    FeeStatement(
        date(2019, 3, 1),
        "f.csv",
        "0" * 64,
        T0,
        (StatementLine("VTB1", "payment", "D1", 200000, T0),),
        True,
    ),  # fmt: skip
]


def test_every_column_of_the_schema_has_a_rule():
    for column in COLUMNS:
        rules.column_rule(column)  # a column type without a rule raises here


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_each_entity_row_fits_its_table_and_passes_its_rules(record):
    entity = ENTITIES[type(record)]
    row = entity.to_row(record, "one_stop")
    columns = {c.name: c for c in entity.table.columns}
    assert set(row) <= set(columns)
    required = {n for n, c in columns.items() if not c.nullable and n not in LOADER_FILLED}
    assert required <= set(row), required - set(row)
    assert entity.check(row) is None


@pytest.mark.parametrize("column", STRINGS, ids=name)
def test_string_lengths_are_the_schema_s(column):
    rule, n = rules.column_rule(column), column.type.length
    assert rule("x" * n) is None
    assert rule("ệ" * n) is None  # characters, as PostgreSQL counts them, not bytes
    assert rule("x" * (n + 1)) == f"longer than {n} characters ({n + 1})"


@pytest.mark.parametrize("column", INTEGERS, ids=name)
def test_integer_ranges_are_the_schema_s(column):
    rule = rules.column_rule(column)
    bits = {"SmallInteger": 16, "Integer": 32, "BigInteger": 64}[type(column.type).__name__]
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    assert rule(low) is None and rule(high) is None
    assert rule(high + 1) == f"out of range for a {bits}-bit integer ({high + 1})"
    assert rule(low - 1) == f"out of range for a {bits}-bit integer ({low - 1})"
    assert rule(True) == "not an integer (bool)"


@pytest.mark.parametrize("column", COLUMNS, ids=name)
def test_required_columns_refuse_none(column):
    fault = rules.column_rule(column)(None)
    assert fault == (None if column.nullable else "missing (the column is required)")


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ("000.00.12.H22", None),
        ("Sở Tư pháp tỉnh Lạng Sơn 😀", None),
        ("A\x00B", "contains a NUL character"),
        ("Sở\x00", "contains a NUL character"),
        ("A\udc80", "contains an unpaired surrogate (U+DC80), not valid Unicode"),
        ("\ud800ệ", "contains an unpaired surrogate (U+D800), not valid Unicode"),
    ],
)
def test_text_that_no_driver_can_take_is_refused(value, fault):
    assert rules.text_fault(value) == fault


def test_a_huge_number_is_named_by_its_size_not_printed():
    rule = rules.column_rule(schema.dossiers.c.fee_amount)
    assert rule(10**5000) == "out of range for a 64-bit integer (a number of about 5001 digits)"


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        (T0, None),
        (datetime(1, 1, 2, tzinfo=UTC), None),
        (datetime(9999, 12, 30, tzinfo=UTC), None),
        (datetime(9998, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))), None),
        (
            datetime(1, 1, 1, tzinfo=LOCAL_TZ),  # year 0 in UTC
            "outside the years 1-9999 in UTC (0001-01-01T00:00:00+07:06:30)",
        ),
        (
            datetime(9999, 12, 31, 20, tzinfo=UTC),  # year 10000 in Hanoi
            "outside the years 1-9999 in UTC (9999-12-31T20:00:00+00:00)",
        ),
        (datetime(2019, 3, 1), "no time zone (a naive date-time)"),
        (date(2019, 3, 1), "not a date-time (date)"),
    ],
)
def test_instants_must_exist_in_utc_and_in_every_session_zone(value, fault):
    assert rules.column_rule(schema.dossiers.c.received_at)(value) == fault


def test_floats_must_be_finite_and_dates_dates():
    duration = rules.column_rule(schema.procedures.c.legal_duration)
    assert duration(2.5) is None and duration(3) is None
    assert duration(math.inf) == "not a finite number (inf)"
    assert duration(math.nan) == "not a finite number (nan)"
    assert duration(10**400) == "out of range for a float (a number of about 401 digits)"
    day = rules.column_rule(schema.ratings.c.rated_date)
    assert day(date(1, 1, 1)) is None and day(T0) == "not a date (datetime)"


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ({"purpose": "01", "n": [1, 2.5, None, True]}, None),
        ([{"name": "Lệ phí \x00"}], "at [0].name: contains a NUL character"),
        ({"a": {"b": [1, math.nan]}}, "at a.b[1]: not a finite number (nan)"),
        ({1: "x"}, "at the top: key 1 is not text"),
        ({"k\udc80": 1}, "at k\\udc80: key contains an unpaired surrogate (U+DC80), not valid"
                          " Unicode"),
        ({"n": 2**63}, "at n: out of range for a 64-bit integer (9223372036854775808)"),
        ({"d": T0}, "at d: not a JSON value (datetime)"),
    ],
)  # fmt: skip
def test_json_values_must_be_storable_alike(value, fault):
    assert rules.column_rule(schema.dossiers.c.attributes)(value) == fault


def test_json_nesting_is_bounded():
    deep: list = []
    inner = deep
    for _ in range(rules.JSON_DEPTH + 1):
        inner.append([])
        inner = inner[0]
    assert "nested deeper than" in rules.column_rule(schema.dossiers.c.attributes)(deep)


def test_storable_text_escapes_exactly_and_json_reads_it_back():
    raw = {"MaHoSo": "HS\x00", "TenCoQuan": "Sở \udc80"}
    text = rules.storable_text(json.dumps(raw, ensure_ascii=False))
    text.encode()  # any driver can take it
    assert json.loads(text) == raw
    assert rules.storable_text("Sở Tư pháp") == "Sở Tư pháp"
    assert rules.storable_text("a\x00\ud800") == "a\\u0000\\ud800"


def test_a_row_names_its_first_fault_and_absent_columns_are_not_checked():
    check = ENTITIES[Dossier].check
    row = ENTITIES[Dossier].to_row(dossier(procedure_code="P" * 100), "one_stop")
    assert check(row) == "procedure_code: longer than 64 characters (100)"
    assert check({"source_id": "D1"}) is None


def test_prepare_page_turns_an_unstorable_record_into_a_rejection_with_its_raw_form():
    good, bad = dossier(1), dossier(2, agency_code="A" * 300)
    late = dossier(3, history=(StatusEvent(4, datetime(9999, 12, 31, 23, tzinfo=LOCAL_TZ)),))
    page = prepare_page([good, bad, late], [], "one_stop", [{"raw": 1}, {"raw": 2}, {"raw": 3}])
    assert list(page.entities["dossier"].rows) == [("one_stop", "D1")]
    assert page.read == 3
    assert page.rejections == [
        (Rejection("agency_code: longer than 64 characters (300)", "D2"), {"raw": 2}),
        (
            Rejection(
                "history.changed_at: outside the years 1-9999 in UTC (9999-12-31T23:00:00+07:00)",
                "D3",
            ),
            {"raw": 3},
        ),
    ]


def test_the_quarantine_row_of_any_record_can_be_written(engine):
    """Hostile text in the reason, the source id and the payload; a source id too long for its
    column; a payload no JSON encoder can print: the batch still commits, each row kept."""
    hostile = [
        (Rejection("bad \udc80 \x00", "HS-\udc80-\x00"), {"MaHoSo": "HS-\udc80-\x00", 1: None}),
        (Rejection("too long", "N" * 250), {"MaHoSo": "N" * 250}),
        (Rejection("huge", "H1"), {"n": 10**5000}),
    ]
    with Batch(engine, source="one_stop", stream="dossiers") as batch:
        batch.load_page([dossier(1)], hostile)
    assert batch.outcome == "succeeded"
    q = schema.rejected_records
    with engine.connect() as conn:
        rows = {r.source_id: r for r in conn.execute(select(q)).all()}
    assert set(rows) == {"HS-\\udc80-\\u0000", "N" * 200, "H1"}
    assert rows["HS-\\udc80-\\u0000"].reason == "bad \\udc80 \\u0000"
    assert json.loads(rows["HS-\\udc80-\\u0000"].payload)["MaHoSo"] == "HS-\udc80-\x00"
    assert json.loads(rows["H1"].payload)["unserialisable_payload"] == "dict"
    with Batch(engine, source="one_stop", stream="dossiers") as again:  # seen again: one row
        again.load_page([], hostile)
    with engine.connect() as conn:
        assert len(conn.execute(select(q.c.id)).all()) == 3


_ODD = st.sampled_from(["\x00", "\udc80", "\ud800", "😀", "ệ"])
_TEXT = st.text(alphabet=st.one_of(st.characters(), _ODD), max_size=70)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    code=_TEXT,
    name=_TEXT,
    fee=st.one_of(st.integers(0, 10**6), st.integers(2**63 - 2, 2**64)),
    duration=st.one_of(st.none(), st.floats(), st.just(-0.0)),
)
def test_what_the_rules_accept_every_backend_stores_and_hands_back(
    engine, code, name, fee, duration
):
    """Through the loader: a record is stored exactly as its row says (compared by repr, so
    -0.0 is not 0.0), or quarantined; never a failed batch."""
    record = Procedure(code, name, None, None, None, duration, None, None, fee)
    row = ENTITIES[Procedure].to_row(record, "one_stop")
    with Batch(engine, source="one_stop", stream="procedures") as batch:
        batch.load_page([record])
    try:
        with engine.connect() as conn:
            back = conn.execute(select(schema.procedures)).mappings().all()
        if ENTITIES[Procedure].check(row) is None:
            assert [repr({k: b[k] for k in row}) for b in back] == [repr(row)]
        else:
            assert back == [] and batch.counts.rejected == 1
    finally:
        with engine.begin() as conn:
            conn.execute(delete(schema.procedures))
            conn.execute(delete(schema.rejected_records))


def test_json_columns_are_all_checked():
    json_columns = [name(c) for c in COLUMNS if isinstance(c.type, JSON)]
    assert set(json_columns) == {
        "dossiers.attributes",
        "payments.fee_lines",
        "fee_statements.lines",
    }
