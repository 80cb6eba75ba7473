"""The gateway stand-in: derived from the one-stop data set, deterministic, anomalies as seeded
shares with their ground truth, and the contract enforced on requests over HTTP."""

from __future__ import annotations

import inspect
from collections import Counter
from datetime import datetime

import pytest
import requests

from connectors import signing
from connectors.base import LOCAL_TZ
from simulators import one_stop
from simulators.faults import Faults
from simulators.server import PrefixDispatcher, serve
from simulators.vietinbank import Anomalies, build_dataset, make_app, make_stand_in
from simulators.vietinbank.app import MAX_STATEMENT_DAYS
from simulators.vietinbank.checksum import sign_fields

SECRET = b"demo-secret"
ANOMALIES = Anomalies(
    unpaid_rate=0.1,
    failed_rate=0.1,
    mismatch_rate=0.1,
    duplicate_rate=0.1,
    refund_rate=0.1,
    unknown_dossier_rate=0.05,
    repeat_notification_rate=0.1,
    bad_signature_rate=0.05,
    seed=1,
)


@pytest.fixture(scope="module")
def dataset():
    return build_dataset("small", seed=8, anomalies=ANOMALIES)


@pytest.fixture(scope="module")
def source_dossiers():
    data = one_stop.build_dataset("small", seed=8)
    return {w["MaHoSo"]: (w, t) for w, t in zip(data.dossiers, data.truth, strict=True)}


def test_the_same_scenario_and_seed_give_identical_data(dataset):
    again = build_dataset("small", seed=8, anomalies=ANOMALIES)
    assert again.transactions == dataset.transactions
    assert again.statements == dataset.statements and again.truth == dataset.truth
    assert build_dataset("small", seed=9).transactions != dataset.transactions


def test_payments_name_the_one_stop_dossiers_and_their_fees(dataset, source_dossiers):
    for t in dataset.truth:
        if t.expected == "unknown_dossier":
            assert t.dossier_number not in source_dossiers
            continue
        wire, truth = source_dossiers[t.dossier_number]
        fee = sum(line["Gia"] for line in wire["DanhSachLePhi"])
        assert fee > 0 and truth.received_at is not None
        if t.expected == "amount_mismatch":
            assert t.amount != fee
        elif t.expected in ("matched", "duplicate"):
            assert t.amount == fee, t
        assert sum(amount for _, amount in t.fee_lines) == t.amount


def test_every_anomaly_appears_as_a_share(dataset):
    classes = Counter(t.expected for t in dataset.truth)
    assert set(classes) == {
        "matched",
        "amount_mismatch",
        "unknown_dossier",
        "duplicate",
        "refunded",
        "refund",
        "failed",
        "bad_signature",
    }
    assert classes["refund"] == classes["refunded"]
    repeated = len(dataset.transactions) - len(dataset.truth)
    assert repeated > 0  # duplicate notifications: the same transaction listed twice
    unpaid = [d for d in dataset.dossiers.values() if d.paid_on is None]
    assert 0.05 < len(unpaid) / len(dataset.dossiers) < 0.4


def test_turning_on_forgeries_leaves_the_genuine_data_alone():
    plain = build_dataset("small", seed=8, anomalies=Anomalies(seed=1))
    forged = build_dataset("small", seed=8, anomalies=Anomalies(seed=1, bad_signature_rate=0.1))
    genuine = {t.number for t in forged.truth if t.expected != "bad_signature"}
    # Ids are numbered in time order, so compare the transactions themselves.
    key = [(t.kind, t.dossier_number, t.amount, t.paid_at, t.expected) for t in plain.truth]
    assert key == [
        (t.kind, t.dossier_number, t.amount, t.paid_at, t.expected)
        for t in forged.truth
        if t.number in genuine
    ]
    assert plain.dossiers == forged.dossiers


def test_forgeries_aim_first_at_dossiers_nobody_paid(dataset):
    unpaid = {n for n, d in dataset.dossiers.items() if d.paid_on is None}
    targets = [t.dossier_number for t in dataset.truth if t.expected == "bad_signature"]
    assert targets and set(targets) <= unpaid


def test_statements_list_the_genuine_successful_movements_of_each_day(dataset):
    listed = {line["MaGiaoDich"] for s in dataset.statements for line in s["DongSaoKe"]}
    closed = datetime.strptime(dataset.statements[-1]["NgaySaoKe"], "%Y%m%d").date()
    expected = {
        t.number
        for t in dataset.truth
        if t.result_code == "00" and t.expected != "bad_signature" and t.paid_at.date() <= closed
    }
    assert listed == expected
    for s in dataset.statements:
        assert all(line["ThoiGianGiaoDich"][:8] == s["NgaySaoKe"] for line in s["DongSaoKe"])


def test_malformed_payments_are_single_payments_whose_dossier_becomes_unpaid(dataset):
    corrupted = dataset.with_malformed(0.2, seed=2)
    assert set(corrupted.malformed.values()) >= {"missing_key", "bad_date", "wrong_currency"}
    hit = [t for t in corrupted.truth if t.expected == "malformed"]
    assert len(hit) == len(corrupted.malformed) > 0
    for t in hit:
        assert corrupted.dossiers[t.dossier_number].paid_on is None
        assert dataset.dossiers[t.dossier_number].paid_on is not None


def test_the_registry_entry_point_mirrors_the_one_stop_one():
    ours, theirs = inspect.signature(make_stand_in), inspect.signature(one_stop.make_stand_in)
    assert ours.parameters == theirs.parameters
    app = make_stand_in(seed=11, scenario="small", faults=Faults(malformed_rate=0.1, seed=9))
    assert app.dataset.malformed and all(t.number and t.updated_at for t in app.dataset.truth)


# -- the contract on the wire --------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(dataset):
    with serve(PrefixDispatcher({"/vietinbank": make_app(dataset)})) as base_url:
        yield f"{base_url}/vietinbank/api/v1"


def signed(body: dict, order: tuple[str, ...], secret: bytes = SECRET) -> dict:
    body = {"MaDoiTac": "demo", "MaYeuCau": "req-1", **body}
    body.setdefault("ThoiGian", datetime.now(LOCAL_TZ).strftime("%Y%m%d%H%M%S"))
    return {**body, "ChuKy": sign_fields(secret, body, order)}


def token(gateway: str) -> str:
    reply = requests.post(f"{gateway}/xac-thuc", json=signed({}, signing.TOKEN_REQUEST), timeout=5)
    assert reply.status_code == 200
    return reply.json()["Token"]


def test_a_token_reply_is_signed(gateway):
    reply = requests.post(f"{gateway}/xac-thuc", json=signed({}, signing.TOKEN_REQUEST), timeout=5)
    body = reply.json()
    assert body["MaKetQua"] == "00" and body["MaYeuCau"] == "req-1"
    assert signing.matches(SECRET, signing.fields(body, signing.TOKEN_REPLY), body["ChuKy"])


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: signed({}, signing.TOKEN_REQUEST, b"wrong"), 401, "06"),
        (lambda: {**signed({}, signing.TOKEN_REQUEST), "MaDoiTac": "other"}, 401, "01"),
        (lambda: signed({"ThoiGian": "20190101000000"}, signing.TOKEN_REQUEST), 400, "07"),
    ],
    ids=["wrong_checksum", "unknown_partner", "stale_request"],
)
def test_a_bad_token_request_is_refused(gateway, make, status, code):
    reply = requests.post(f"{gateway}/xac-thuc", json=make(), timeout=5)
    assert (reply.status_code, reply.json()["MaKetQua"]) == (status, code)


def test_queries_need_a_token_and_a_valid_checksum(gateway):
    query = {
        "TuThoiGian": "20190101000000",
        "DenThoiGian": "20190201000000",
        "Trang": 1,
        "SoBanGhi": 10,
    }
    body = signed(query, signing.TRANSACTIONS_REQUEST)
    no_token = requests.post(f"{gateway}/giao-dich", json=body, timeout=5)
    assert (no_token.status_code, no_token.json()["MaKetQua"]) == (401, "11")
    headers = {"Authorization": f"Bearer {token(gateway)}"}
    forged = {**body, "SoBanGhi": 500}  # changed after signing
    refused = requests.post(f"{gateway}/giao-dich", json=forged, headers=headers, timeout=5)
    assert (refused.status_code, refused.json()["MaKetQua"]) == (401, "06")
    ok = requests.post(f"{gateway}/giao-dich", json=body, headers=headers, timeout=5).json()
    rows = ok["DuLieu"]
    parts = signing.fields(ok, signing.TRANSACTIONS_REPLY)
    parts.append(signing.render_list(r.get("ChuKy") for r in rows))
    assert len(rows) == 10 and signing.matches(SECRET, parts, ok["ChuKy"])


def test_statements_are_asked_for_at_most_31_days_at_a_time(gateway):
    headers = {"Authorization": f"Bearer {token(gateway)}"}
    too_long = signed({"TuNgay": "20190101", "DenNgay": "20190201"}, signing.STATEMENTS_REQUEST)
    reply = requests.post(f"{gateway}/sao-ke", json=too_long, headers=headers, timeout=5)
    assert (reply.status_code, reply.json()["MaKetQua"]) == (400, "30")
    assert MAX_STATEMENT_DAYS == 31
    month = signed({"TuNgay": "20190101", "DenNgay": "20190131"}, signing.STATEMENTS_REQUEST)
    files = requests.post(f"{gateway}/sao-ke", json=month, headers=headers, timeout=5).json()
    assert [f["NgaySaoKe"] for f in files["DanhSachSaoKe"]] == [
        f"201901{d:02d}" for d in range(1, 32)
    ]
    for f in files["DanhSachSaoKe"]:
        assert signing.matches_digest(f["NoiDung"], f["BamTep"])
        assert signing.matches(SECRET, signing.fields(f, signing.STATEMENT_FILE), f["ChuKy"])
