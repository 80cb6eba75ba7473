"""Hostile but mappable records, through the real sync (a stand-in over real HTTP) into SQLite
AND PostgreSQL: every batch succeeds, the good records are stored, each bad one is quarantined
with the column and the rule as its reason, and the two warehouses hold identical tables."""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable
from datetime import datetime
from itertools import count as counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from lienthong.registry import SOURCES, load_object
from mappings.common import LOCAL_TZ
from simulators.server import PrefixDispatcher, serve
from tests.helpers import sync_from_stand_in
from warehouse import schema
from warehouse.db import make_engine, upgrade

SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
# Which load wrote a row, not what it holds; a dossier's link is compared by the key it names.
_AUDIT = {"id", "dossier_id", "batch_id", "first_batch_id", "updated_at", "linked_to"}
_LONG_NUMBER = "N" * 250


@pytest.fixture
def backends(tmp_path, pg_engine) -> tuple[Engine, Engine]:
    """An empty, migrated warehouse on each backend, engines as production makes them."""
    sqlite = make_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    pg = make_engine(pg_engine.url.render_as_string(hide_password=False))
    for engine in (sqlite, pg):
        upgrade(engine)
    yield sqlite, pg
    sqlite.dispose()
    pg.dispose()


def stand_in(key: str, edit: Callable) -> Callable:
    """The source's stand-in app over its small data set as ``edit`` changed it."""
    base = load_object(SOURCES[key].simulator)(seed=11, scenario="small")
    module = importlib.import_module(SOURCES[key].simulator.split(":")[0])
    return module.make_app(edit(base.dataset))


def sync_both(key: str, app, backends: tuple[Engine, Engine]) -> list:
    """The same sync from the same stand-in into each warehouse; every batch must succeed."""
    results = []
    with serve(PrefixDispatcher({f"/{key}": app})) as base_url:
        for engine in backends:
            done = sync_from_stand_in(key, engine, base_url, since=SINCE, until=UNTIL)
            assert [r.outcome for r in done] == ["succeeded"] * len(done), done
            results.append(done)
    return results


def table_rows(engine: Engine) -> dict[str, list[str]]:
    """Every table's rows (audit columns aside), sorted: what the warehouse holds."""
    tables = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            if table.name == "load_batches":  # times and durations of this run
                continue
            cols = [c for c in table.c if c.name not in _AUDIT]
            query = select(*cols)
            if table is schema.dossiers:
                target = table.alias("target")
                query = select(*cols, target.c.source, target.c.source_id).outerjoin(
                    target, target.c.id == table.c.linked_to
                )
            if table is schema.dossier_status_history:
                d = schema.dossiers
                query = select(d.c.source, d.c.source_id, *cols).join(
                    d, d.c.id == table.c.dossier_id
                )
            tables[table.name] = sorted(repr(tuple(row)) for row in conn.execute(query))
    return tables


def assert_identical(backends: tuple[Engine, Engine]) -> None:
    sqlite, pg = (table_rows(engine) for engine in backends)
    for name in sqlite:
        assert sqlite[name] == pg[name], name


def quarantined(engine: Engine, source: str) -> dict[tuple[str, str | None], str]:
    """(stream, source id) -> reason of the source's quarantined records."""
    q = schema.rejected_records
    with engine.connect() as conn:
        rows = conn.execute(
            select(q.c.stream, q.c.source_id, q.c.reason).where(q.c.source == source)
        ).all()
    return {(stream, source_id): reason for stream, source_id, reason in rows}


def stored(engine: Engine, table, source: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(select(table.c.source_id).where(table.c.source == source)).scalars()
        )


def in_window(rows: list[dict], cursor: str) -> list[int]:
    """Indices of the rows updated inside the synced window (the stand-ins' compact stamps)."""
    low, high = f"{SINCE:%Y%m%d%H%M%S}", f"{UNTIL:%Y%m%d%H%M%S}"
    return [i for i, row in enumerate(rows) if low <= str(row.get(cursor)) < high]


# -- the one-stop source ----------------------------------------------------------------------

# Each hostile edit of a dossier record, and the reason its quarantine row must give.
ONE_STOP_DOSSIERS = [
    ({"MaTTHC": "P" * 100}, "procedure_code: longer than 64 characters (100)"),
    ({"DonViXuLy": "A" * 300}, "agency_code: longer than 64 characters (300)"),
    ({"MaHoSo": _LONG_NUMBER}, "source_id: longer than 200 characters (250)"),
    (
        {"DanhSachLePhi": [{"Gia": 10**19}]},
        "fee_amount: out of range for a 64-bit integer (10000000000000000000)",
    ),
    ({"DonViXuLy": "000.00.12.H22\x00"}, "agency_code: contains a NUL character"),
    (
        {"DonViXuLy": "000.00.12.H22\udc80"},
        "agency_code: contains an unpaired surrogate (U+DC80), not valid Unicode",
    ),
    (
        {"NgayTiepNhan": "00010101000000"},
        "received_at: outside the years 1-9999 in UTC (0001-01-01T00:00:00+07:06:30)",
    ),
    (
        {"QuaTrinhXuLy": [{"TrangThai": "4", "ThoiDiemXuLy": "99991231235959"}]},
        "history.changed_at: outside the years 1-9999 in UTC (9999-12-31T23:59:59+07:00)",
    ),
]
# Rejected by the mapping already, and carrying text no driver can take, key included.
UNMAPPABLE = {"MaHoSo": "HS-\udc80-\x00", "TrangThaiHoSo": "4\udc80\x00"}


def _one_stop_edit(dataset):
    dossiers = [dict(r) for r in dataset.dossiers]
    picks = in_window(dossiers, "NgayCapNhat")[5::40][: len(ONE_STOP_DOSSIERS) + 1]
    expected = {}
    for index, (change, reason) in zip(picks, ONE_STOP_DOSSIERS, strict=False):
        dossiers[index].update(change)
        expected[("dossiers", dossiers[index]["MaHoSo"][:200])] = reason
    dossiers[picks[-1]].update(UNMAPPABLE)
    expected[("dossiers", "HS-\\udc80-\\u0000")] = (
        "unknown status code TrangThaiHoSo='4\\udc80\\x00'"
    )
    ratings = [dict(r) for r in dataset.ratings]
    rating = in_window(ratings, "NgayDanhGia")[3]
    ratings[rating]["MaCoQuan"] = "R" * 65
    expected[("ratings", ratings[rating]["MaDanhGia"])] = (
        "agency_code: longer than 64 characters (65)"
    )
    agencies = [dict(r) for r in dataset.agencies]
    agencies[-1]["TenCoQuan"] = "Sở \x00"
    expected[("agencies", agencies[-1]["MaCoQuan"])] = "name: contains a NUL character"
    procedures = [dict(r) for r in dataset.procedures]
    procedures[-1]["TenTTHC"] = "Thủ tục \udc80"
    expected[("procedures", procedures[-1]["MaTTHC"])] = (
        "name: contains an unpaired surrogate (U+DC80), not valid Unicode"
    )
    edited = dataclasses.replace(
        dataset, dossiers=dossiers, ratings=ratings, agencies=agencies, procedures=procedures
    )
    return edited, expected


def test_hostile_one_stop_records_are_quarantined_alike_on_both_backends(backends):
    edited = {}

    def edit(dataset):
        dataset, edited["expected"] = _one_stop_edit(dataset)
        edited["dataset"] = dataset
        return dataset

    app = stand_in("one_stop", edit)
    expected, dataset = edited["expected"], edited["dataset"]
    sync_both("one_stop", app, backends)
    bad_numbers = {sid for stream, sid in expected if stream == "dossiers"}
    good = {
        r["MaHoSo"]
        for i, r in enumerate(dataset.dossiers)
        if i in set(in_window(dataset.dossiers, "NgayCapNhat"))
        and r["MaHoSo"][:200] not in bad_numbers
        and r.get("TrangThaiHoSo") != UNMAPPABLE["TrangThaiHoSo"]
    }
    for engine in backends:
        assert quarantined(engine, "one_stop") == expected
        assert stored(engine, schema.dossiers, "one_stop") == good
    assert_identical(backends)
    # The quarantined payload is the record itself, its hostile text kept exactly (as escapes).
    q = schema.rejected_records
    with backends[1].connect() as conn:
        payload = conn.execute(
            select(q.c.payload).where(q.c.source_id == "HS-\\udc80-\\u0000")
        ).scalar_one()
    assert json.loads(payload)["TrangThaiHoSo"] == "4\udc80\x00"


def test_a_rejected_record_with_unstorable_text_does_not_fail_its_batch(backends):
    """Only a record the mapping rejects, carrying "\\udc80" and NUL: the quarantine write
    itself must not fail (it did: the batch failed inside the quarantine)."""

    def edit(dataset):
        dossiers = [dict(r) for r in dataset.dossiers]
        dossiers[in_window(dossiers, "NgayCapNhat")[0]].update(UNMAPPABLE)
        return dataclasses.replace(dataset, dossiers=dossiers)

    results = sync_both("one_stop", stand_in("one_stop", edit), backends)
    for done in results:
        assert sum(r.counts.rejected for r in done) == 1
    for engine in backends:
        assert list(quarantined(engine, "one_stop")) == [("dossiers", "HS-\\udc80-\\u0000")]
    assert_identical(backends)


def test_hostile_records_go_through_extract_and_load_alike(backends, tmp_path):
    """The production DAGs' path: the landing store keeps the hostile records exactly (a lone
    surrogate as JSON's escape) and `load` quarantines them as `sync` does."""
    from upath import UPath

    from connectors.base import Window
    from lienthong.pipeline import extract, load
    from lienthong.settings import load as settings
    from simulators.standins import stand_in_connection

    edited = {}

    def edit(dataset):
        dataset, edited["expected"] = _one_stop_edit(dataset)
        return dataset

    app, root, window = (
        stand_in("one_stop", edit),
        UPath(tmp_path / "landing"),
        Window(SINCE, UNTIL),
    )
    with serve(PrefixDispatcher({"/one_stop": app})) as base_url:
        connection = stand_in_connection(base_url, "one_stop")
        extract("one_stop", window, settings(), root=root, connection=connection)
    for engine in backends:
        done = load("one_stop", window, settings(), root=root, engine=engine)
        assert [r.outcome for r in done] == ["succeeded"] * len(done)
        assert quarantined(engine, "one_stop") == edited["expected"]
    assert_identical(backends)


# -- the fee gateway --------------------------------------------------------------------------

VIETINBANK = [
    ({"MaHoSo": "000.00.12.H22-\x00"}, "dossier_number: contains a NUL character"),
    (
        {"ThoiGianGiaoDich": "99991231235959"},
        "paid_at: outside the years 1-9999 in UTC (9999-12-31T23:59:59+07:00)",
    ),
]


def test_hostile_payments_are_quarantined_alike_on_both_backends(backends):
    expected, kept = {}, {}

    def edit(dataset):
        rows = [dict(r) for r in dataset.transactions]
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["MaGiaoDich"]] = counts.get(row["MaGiaoDich"], 0) + 1
        picks = [
            i
            for i in in_window(rows, "ThoiGianCapNhat")
            if counts[rows[i]["MaGiaoDich"]] == 1 and rows[i]["DanhSachPhiLePhi"]
        ][3::30]
        for index, (change, reason) in zip(picks, VIETINBANK, strict=False):
            rows[index].update(change)
            expected[("transactions", rows[index]["MaGiaoDich"])] = reason
        fee = rows[picks[len(VIETINBANK)]]
        fee["DanhSachPhiLePhi"] = [dict(fee["DanhSachPhiLePhi"][0], TenPhiLePhi="Lệ phí \x00")]
        expected[("transactions", fee["MaGiaoDich"])] = (
            "fee_lines: at [0].name: contains a NUL character"
        )
        kept["ids"] = {
            r["MaGiaoDich"]
            for i, r in enumerate(rows)
            if i in set(in_window(rows, "ThoiGianCapNhat"))
        }
        return dataclasses.replace(dataset, transactions=rows)

    sync_both("vietinbank", stand_in("vietinbank", edit), backends)
    good = kept["ids"] - {sid for _, sid in expected}
    for engine in backends:
        assert quarantined(engine, "vietinbank") == expected
        assert stored(engine, schema.payments, "vietinbank") == good
    assert_identical(backends)


# -- a SOAP source ----------------------------------------------------------------------------

BUSINESS_REGISTRATION = [
    ({"MaThuTuc": "P" * 100}, "procedure_code: longer than 64 characters (100)"),
    ({"MaCoQuanDangKy": "A" * 300}, "agency_code: longer than 64 characters (300)"),
    ({"SoHoSo": _LONG_NUMBER}, "source_id: longer than 200 characters (250)"),
    (
        {"NgayNop": "9999-12-31T23:00:00+07:00"},
        "submitted_at: outside the years 1-9999 in UTC (9999-12-31T23:00:00+07:00)",
    ),
]


def test_hostile_soap_records_are_quarantined_alike_on_both_backends(backends):
    expected, kept = {}, {}

    def edit(dataset):
        rows = [dict(r) for r in dataset.dossiers]
        window = [
            i
            for i, r in enumerate(rows)
            if SINCE <= datetime.fromisoformat(r["NgayCapNhat"]) < UNTIL
        ]
        picks = window[2::25]
        for index, (change, reason) in zip(picks, BUSINESS_REGISTRATION, strict=False):
            rows[index].update(change)
            expected[("dossiers", rows[index]["SoHoSo"][:200])] = reason
        kept["good"] = {rows[i]["SoHoSo"] for i in window if i not in picks[:4]}
        return dataclasses.replace(dataset, dossiers=rows)

    sync_both("business_registration", stand_in("business_registration", edit), backends)
    for engine in backends:
        assert quarantined(engine, "business_registration") == expected
        assert stored(engine, schema.dossiers, "business_registration") == kept["good"]
    assert_identical(backends)


# -- generated hostile records ----------------------------------------------------------------

_ODD = ["\x00", "\udc80", "\ud800", "😀", "ệ", " ", "\n"]
texts = st.one_of(
    st.text(alphabet=st.one_of(st.characters(), st.sampled_from(_ODD)), max_size=12),
    st.builds(lambda c, n: c * n, st.sampled_from(["A", "ệ", "😀"]), st.integers(60, 260)),
    st.builds(str.__add__, st.text(max_size=4), st.sampled_from(_ODD)),
)
amounts = st.one_of(
    st.integers(0, 10**7), st.integers(2**63 - 3, 2**64), st.integers(-(2**70), 2**70)
)
stamps = st.one_of(
    st.sampled_from(["00010101000000", "00010101070000", "99991231235959", "99991230000000"]),
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)).map(
        lambda d: f"{d.year:04d}{d:%m%d%H%M%S}"
    ),
)
FIELDS = {
    "MaHoSo": texts,
    "MaTTHC": texts,
    "DonViXuLy": texts,
    "SoGiayToChuHoSo": texts,
    "DanhSachLePhi": amounts.map(lambda gia: [{"Gia": gia}]),
    "NgayTiepNhan": stamps,
    "NgayHenTra": stamps,
    "QuaTrinhXuLy": stamps.map(lambda at: [{"TrangThai": "4", "ThoiDiemXuLy": at}]),
}
records = st.lists(st.fixed_dictionaries({}, optional=FIELDS), min_size=1, max_size=4)
_RUN = counter()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=records)
def test_generated_hostile_records_load_or_are_quarantined_alike(backends, changes):
    run = next(_RUN)

    def edit(dataset):
        template = dict(dataset.dossiers[in_window(dataset.dossiers, "NgayCapNhat")[0]])
        template["NgayCapNhat"] = "20190301080000"  # the cursor: inside the window
        dossiers = [
            {**template, "MaHoSo": f"GEN-{run}-{i}", **change} for i, change in enumerate(changes)
        ]
        # A small catalogue and no ratings: each example syncs twice, fast.
        return dataclasses.replace(
            dataset,
            dossiers=dossiers,
            ratings=[],
            agencies=dataset.agencies[:3],
            procedures=dataset.procedures[:3],
        )

    results = sync_both("one_stop", stand_in("one_stop", edit), backends)
    for done in results:
        batch = next(r for r in done if r.stream == "dossiers")
        c = batch.counts
        assert c.read == len(changes)
        assert c.read == c.inserted + c.updated + c.unchanged + c.stale + c.rejected
    assert_identical(backends)
