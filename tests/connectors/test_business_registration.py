"""The business registration connector against its stand-in over real HTTP, and the full sync."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest
import responses

from connectors.base import LOCAL_TZ, Window
from connectors.business_registration import BusinessRegistrationConnector
from connectors.connection import Connection, ConnectionNotConfigured
from connectors.errors import AuthError, ContractError
from connectors.rest import RetryPolicy
from simulators.business_registration import build_dataset, make_app
from simulators.business_registration.app import NS
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.soap import envelope

KEY = "business_registration"
SINCE = datetime(2018, 10, 1, tzinfo=LOCAL_TZ)
UNTIL = datetime(2019, 7, 1, tzinfo=LOCAL_TZ)
FULL = Window(SINCE, UNTIL)
FAST = RetryPolicy(max_attempts=8, initial=0, maximum=0, jitter=0)


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=5)


def connection(base_url: str, password: str = "demo-secret") -> Connection:  # noqa: S107
    host, port = base_url.removeprefix("http://").split(":")
    return Connection(
        conn_id=f"lienthong_{KEY}",
        host=host,
        port=int(port),
        login="demo",
        password=password,
        schema=KEY,
    )


def connector(base_url: str, **kwargs) -> BusinessRegistrationConnector:
    return BusinessRegistrationConnector(
        connection(base_url, kwargs.pop("password", "demo-secret")),
        retry=FAST,
        sleep=lambda _: None,
        **kwargs,
    )


def served(dataset, faults: Faults | None = None):
    return serve(PrefixDispatcher({f"/{KEY}": make_app(dataset, faults)}))


def numbers(pages) -> list[str]:
    return [r["SoHoSo"] for page in pages for r in page]


@pytest.mark.parametrize("page_size", [1000, 37])
def test_paging_covers_every_record_once_in_order(dataset, page_size):
    with served(dataset) as url, connector(url, page_size=page_size) as c:
        pages = list(c.fetch("dossiers", FULL))
    assert numbers(pages) == [r["SoHoSo"] for r in dataset.dossiers]
    assert all(len(p) == page_size for p in pages[:-1])
    # Spelled as the source spells them: the element names and texts, absent and nil as None.
    assert {k: v for k, v in pages[0][0].items() if v is not None} == {
        k: v for k, v in dataset.dossiers[0].items() if v is not None
    }


def test_a_window_holds_exactly_the_records_changed_in_it(dataset):
    cut = datetime(2019, 3, 15, 10, 30, tzinfo=LOCAL_TZ)
    with served(dataset) as url, connector(url, page_size=50) as c:
        before = numbers(c.fetch("dossiers", Window(SINCE, cut)))
        after = numbers(c.fetch("dossiers", Window(cut, UNTIL)))
    expected_before = [
        r["SoHoSo"] for r in dataset.dossiers if datetime.fromisoformat(r["NgayCapNhat"]) < cut
    ]
    assert before == expected_before
    assert before + after == [r["SoHoSo"] for r in dataset.dossiers]


def test_repeated_page_tails_only_repeat_records_already_seen(dataset):
    with served(dataset, Faults(repeat_rate=0.6, seed=4)) as url, connector(url, page_size=20) as c:
        got = numbers(c.fetch("dossiers", FULL))
    assert len(got) > len(dataset.dossiers)  # some tails came twice
    assert list(dict.fromkeys(got)) == [r["SoHoSo"] for r in dataset.dossiers]


def test_faults_on_the_wire_converge_to_the_same_records(dataset):
    faults = Faults(error_rate=0.3, rate_limit_rate=0.1, seed=9)
    with served(dataset, faults) as url, connector(url, page_size=25) as c:
        pages = list(c.fetch("dossiers", FULL))
    assert numbers(pages) == [r["SoHoSo"] for r in dataset.dossiers]


def test_wrong_password_is_an_auth_error_not_retried(dataset):
    app = make_app(dataset)
    with serve(PrefixDispatcher({f"/{KEY}": app})) as url, connector(url, password="nope") as c:
        with pytest.raises(AuthError, match="FailedAuthentication"):
            list(c.fetch("dossiers", FULL))
    assert app.injector.calls == 1


def test_connection_needs_login_and_password_and_a_sane_page_size():
    bare = Connection(conn_id="lienthong_business_registration", host="example.org")
    with pytest.raises(ConnectionNotConfigured, match="login, password"):
        BusinessRegistrationConnector(bare)
    with pytest.raises(ValueError, match="page_size"):
        BusinessRegistrationConnector(bare, page_size=1001)


def test_stream_and_window_are_checked_at_the_call(dataset):
    with served(dataset) as url, connector(url) as c:
        with pytest.raises(ValueError, match="no stream"):
            c.fetch("ratings", FULL)
        with pytest.raises(ValueError, match="needs a window"):
            c.fetch("dossiers", None)


def _page(trang: int, so_ban_ghi: int, total: int, records: str = "") -> bytes:
    return envelope(
        f'<LayDanhSachHoSoResponse xmlns="{NS}"><Trang>{trang}</Trang>'
        f"<SoBanGhi>{so_ban_ghi}</SoBanGhi><TongSoBanGhi>{total}</TongSoBanGhi>"
        f"<TongSoTrang>{-(-total // so_ban_ghi)}</TongSoTrang>"
        f"<DanhSachHoSo>{records}</DanhSachHoSo></LayDanhSachHoSoResponse>".encode()
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_page(2, 10, 30, "<HoSo><SoHoSo>A</SoHoSo></HoSo>"), "asked for page 1"),
        (_page(1, 5, 30, "<HoSo><SoHoSo>A</SoHoSo></HoSo>"), "asked for page 1"),
        (_page(1, 10, 30, "<Khac/>"), "unexpected element"),
        (_page(1, 10, 30).replace(b"<TongSoTrang>3<", b"<TongSoTrang>ba<"), "TongSoTrang"),
        (envelope(f'<LayDanhSachHoSoResponse xmlns="{NS}"/>'.encode()), "Trang"),
    ],
)
@responses.activate
def test_replies_breaking_the_paging_contract_fail_cleanly(body, message):
    responses.post("https://br.test/business_registration", body=body)
    conn = Connection(
        conn_id="x", host="br.test", login="u", password="p", schema="business_registration"
    )
    with BusinessRegistrationConnector(conn, page_size=10) as c:
        with pytest.raises(ContractError, match=message):
            list(c.fetch("dossiers", FULL))


def test_full_sync_through_the_pipeline(engine, dataset, monkeypatch):
    from lienthong import registry
    from lienthong.pipeline import sync
    from lienthong.settings import load
    from simulators.standins import stand_in_connection
    from tests.e2e.test_one_stop_end_to_end import H1, Q2, as_counters, expected_phu_luc_01
    from warehouse import schema
    from warehouse.reports.phu_luc_01 import phu_luc_01

    source = registry.Source(
        key=KEY,
        title="Hệ thống thông tin quốc gia về đăng ký doanh nghiệp (national)",
        protocol="SOAP",
        connector="connectors.business_registration:BusinessRegistrationConnector",
        streams=(
            registry.Stream(
                "dossiers",
                "mappings.business_registration:map_dossier",
                redact="mappings.business_registration:redact_dossier",
            ),
        ),
        simulator="simulators.business_registration:make_stand_in",
    )
    monkeypatch.setitem(registry.SOURCES, KEY, source)
    corrupted = dataset.with_malformed(0.05, seed=2)
    rejected = {k for k, v in corrupted.malformed.items() if v != "unknown_procedure"}
    with served(corrupted) as url:
        conn = stand_in_connection(url, KEY)
        (result,) = sync(KEY, load(), since=SINCE, until=UNTIL, engine=engine, connection=conn)
        again = sync(KEY, load(), since=SINCE, until=UNTIL, engine=engine, connection=conn)
    assert result.outcome == "succeeded"
    assert result.counts.read == len(corrupted.dossiers)
    assert result.counts.rejected == len(rejected)
    assert result.counts.inserted == len(corrupted.dossiers) - len(rejected)
    assert again[0].counts.inserted == again[0].counts.updated == 0
    with engine.connect() as db:
        rows = db.execute(schema.dossiers.select()).mappings().all()
        quarantined = db.execute(schema.rejected_records.select()).mappings().all()
    assert {r["source"] for r in rows} == {KEY}
    assert Counter(r["status"] for r in rows) == Counter(
        t.status for t in corrupted.truth if t.malformed_reason in (None, "unknown_procedure")
    )
    assert all(r["applicant_type"] == 2 and len(r["applicant_ref"]) == 64 for r in rows)
    secrets = {
        r[f] for r in corrupted.dossiers for f in ("TenDoanhNghiep", "NguoiDaiDienPhapLuat")
    } | {r["MaSoDoanhNghiep"][:10] for r in corrupted.dossiers}
    assert len(quarantined) == len(rejected)
    for row in quarantined:
        assert not any(secret in str(row["payload"]) for secret in secrets)
    # The report counts every valid record exactly as the counting rules say.
    valid = [
        replace(t, malformed_reason=None)  # an unknown procedure is flagged, not rejected
        for t in corrupted.truth
        if t.malformed_reason in (None, "unknown_procedure")
    ]
    for period in (H1, Q2):
        report = phu_luc_01(engine, *period)
        assert as_counters(report) == dict(expected_phu_luc_01(valid, *period))
        for row in [*report.rows, report.total]:
            assert row.received_total == row.resolved_total + row.pending_total
