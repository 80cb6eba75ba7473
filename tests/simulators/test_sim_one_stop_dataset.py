"""The one-stop data sets: the seed report's figures, coherent timelines, truth, determinism."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime

import pytest
import requests

from simulators.one_stop import build_dataset, make_app
from simulators.one_stop.scenario import TZ
from simulators.server import serve

H1_START, H1_END = datetime(2019, 1, 1, tzinfo=TZ), datetime(2019, 7, 1, tzinfo=TZ)
DATE_FIELDS = (
    "NgayNopHoSo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "NgayTuChoi",
)


@pytest.fixture(scope="module")
def big():
    return build_dataset("langson-2019h1")


def local(stamp: str | None) -> datetime | None:
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=TZ) if stamp else None


def received_in_h1(dataset) -> Counter:
    return Counter(
        t.agency_code for t in dataset.truth if t.received_at and H1_START <= t.received_at < H1_END
    )


def test_seventeen_departments_and_1303_procedures(big):
    names = {a["TenCoQuan"] for a in big.agencies}
    assert len(big.agencies) == 17 and len(names) == 17
    assert {"Sở Tư pháp", "Sở Kế hoạch và Đầu tư", "Công an tỉnh"} <= names
    assert all(re.fullmatch(r"000\.00\.\d\d\.H22", a["MaCoQuan"]) for a in big.agencies)
    assert len(big.procedures) == 1303
    assert len({p["MaTTHC"] for p in big.procedures}) == 1303
    assert all(
        re.fullmatch(r"[123]\.\d{6}(\.000\.00\.\d\d\.H22)?", p["MaTTHC"]) for p in big.procedures
    )
    assert {p["MaCoQuan"] for p in big.procedures} == {a["MaCoQuan"] for a in big.agencies}
    assert {p["MucDo"] for p in big.procedures} == {"2", "3", "4"}
    assert {p["DonViThoiHan"] for p in big.procedures} == {"ngay", "gio"}
    assert Counter(p["LePhi"] == 0 for p in big.procedures)[True] > 600


def test_h1_ratings_are_the_seed_reports(big):
    in_h1 = [r for r in big.ratings if "20190101" <= r["NgayDanhGia"] < "20190701"]
    assert len(in_h1) == 2427
    assert Counter(r["MucDoHaiLong"] for r in in_h1) == {"1": 2291, "2": 136}
    assert len({r["MaDanhGia"] for r in big.ratings}) == len(big.ratings)
    truth = {t.number: t for t in big.truth}
    for rating in big.ratings:  # a rating follows the dossier's resolution
        dossier = truth[rating["MaHoSo"]]
        assert dossier.status in (9, 10) and dossier.ended_at <= local(rating["NgayDanhGia"])


def test_h1_receipts_are_about_30000_and_uneven(big):
    per_agency = received_in_h1(big)
    assert 29_000 <= sum(per_agency.values()) <= 31_000
    names = {a["MaCoQuan"]: a["TenCoQuan"] for a in big.agencies}
    busy = {names[code] for code, n in per_agency.items() if n >= 1000}
    assert {"Sở Tư pháp", "Sở Giao thông vận tải", "Sở Kế hoạch và Đầu tư"} <= busy
    assert sum(1 for code in names if per_agency[code] < 20) >= 3


def test_dossiers_carried_over_from_2018(big):
    carried = [
        t
        for t in big.truth
        if t.received_at
        and t.received_at < H1_START
        and (t.ended_at is None or t.ended_at >= H1_START)
    ]
    assert len(carried) > 500
    assert all(t.received_at >= datetime(2018, 10, 1, tzinfo=TZ) for t in carried)


def test_every_status_and_channel_occurs(big):
    assert {t.status for t in big.truth} == {1, 2, 3, 4, 5, 7, 8, 9, 10}
    channels = Counter(d.get("KenhThucHien") for d in big.dossiers)
    assert set(channels) == {"1", "2", "3", None} and 0 < channels[None] < 0.05 * len(big.truth)
    assert {type(d["TrangThaiHoSo"]) for d in big.dossiers} == {str, int}  # both are allowed


def test_report_columns_balance_and_some_are_late(big):
    """Columns 3 = 7 + 11 per agency for H1, computed from the truth alone."""
    last_day = date(2019, 6, 30)
    columns: dict[str, Counter] = defaultdict(Counter)
    for t in big.truth:
        if t.received_at is None or t.received_at >= H1_END:
            continue
        row = columns[t.agency_code]
        if t.received_at >= H1_START:
            row["received"] += 1
        elif t.ended_at is None or t.ended_at >= H1_START:
            row["carried"] += 1
        else:
            continue
        if t.ended_at is not None and t.ended_at < H1_END:
            ended, due = t.ended_at.date(), t.due_at.date()
            row["before" if ended < due else "on" if ended == due else "after"] += 1
        else:
            row["open_overdue" if t.due_at.date() < last_day else "open_ok"] += 1
    total = Counter()
    for row in columns.values():
        assert row["received"] + row["carried"] == (
            row["before"] + row["on"] + row["after"] + row["open_ok"] + row["open_overdue"]
        )
        total.update(row)
    resolved = total["before"] + total["on"] + total["after"]
    assert 0.05 <= total["after"] / resolved <= 0.10
    assert total["on"] / resolved > 0.1 and total["open_overdue"] > 0


def test_timelines_are_coherent_and_stop_at_the_clock(big):
    clock = "20190701000000"
    for record, truth in zip(big.dossiers, big.truth, strict=True):
        steps = [row["ThoiDiemXuLy"] for row in record["QuaTrinhXuLy"]]
        stamps = [record[f] for f in DATE_FIELDS if record[f] and f != "NgayHenTra"]
        assert steps == sorted(steps) and record["NgayCapNhat"] == steps[-1] < clock
        assert max(stamps) <= record["NgayCapNhat"]
        assert str(record["TrangThaiHoSo"]) == record["QuaTrinhXuLy"][-1]["TrangThai"]
        received = local(record["NgayTiepNhan"])
        assert received == truth.received_at and local(record["NgayHenTra"]) == truth.due_at
        if truth.status in (1, 3):
            assert received is None and bool(record["NgayTuChoi"]) == (truth.status == 3)
            continue
        assert received.weekday() < 5 and (
            "0700" <= record["NgayTiepNhan"][8:12] < "1130"
            or "1330" <= record["NgayTiepNhan"][8:12] < "1700"
        )
        assert truth.due_at > received and record["NgayNopHoSo"] <= record["NgayTiepNhan"]
        first_end = local(record["NgayKetThucXuLy"]) or local(record["NgayTra"])
        if truth.status in (9, 10):
            assert truth.ended_at == first_end
        for round_ in record["DanhSachHoSoBoSung"]:
            assert round_["NgayHenTraTruoc"] < (round_["NgayHenTraMoi"] or "99")


def test_june_receipts_can_still_be_pending(big):
    june = [
        t for t in big.truth if t.received_at and t.received_at >= datetime(2019, 6, 1, tzinfo=TZ)
    ]
    assert sum(t.ended_at is None for t in june) > 100


def test_h1_ratings_over_http(big):
    with serve(make_app(big)) as base_url:
        session = requests.post(
            f"{base_url}/api/login",
            json={"username": "demo", "password": "demo-secret"},
            headers={"dstcode": "x"},
            timeout=10,
        ).json()["session"]
        levels, page = Counter(), 1
        while True:
            reply = requests.post(
                f"{base_url}/api/service",
                json={
                    "session": session,
                    "madonvi": "x",
                    "service": "LayDanhSachDanhGia",
                    "TuNgay": "20190101000000",
                    "DenNgay": "20190701000000",
                    "Trang": page,
                    "SoBanGhi": 1000,
                },
                timeout=30,
            ).json()
            levels.update(r["MucDoHaiLong"] for r in reply["data"])
            if page >= reply["TongSoTrang"]:
                break
            page += 1
    assert reply["TongSoBanGhi"] == 2427 and levels == {"1": 2291, "2": 136}


def dump(dataset) -> bytes:
    return json.dumps(
        [dataset.agencies, dataset.procedures, dataset.dossiers, dataset.ratings],
        ensure_ascii=False,
    ).encode()


def test_same_seed_same_bytes_other_seed_other_data():
    first, second = build_dataset("small", seed=2019), build_dataset("small", seed=2019)
    assert dump(first) == dump(second) and first.truth == second.truth
    assert dump(build_dataset("small", seed=2020)) != dump(first)


def test_small_scenario_is_small_and_mixed():
    small = build_dataset("small")
    assert len(small.agencies) == 17 and len(small.procedures) == 62
    assert 700 <= len(small.dossiers) <= 900
    assert {r["MucDoHaiLong"] for r in small.ratings if r["NgayDanhGia"] >= "2019"} == {
        "1",
        "2",
        "3",
    }
    assert small.as_of == H1_END


def test_unknown_scenario_is_an_error():
    with pytest.raises(ValueError, match="unknown scenario"):
        build_dataset("hanoi")


def test_ministry_procedures_are_in_the_catalogue_without_one_stop_dossiers(big):
    from simulators.ministry_catalogue import PROCEDURES

    codes = {p.code for p in PROCEDURES}
    assert codes <= {p["MaTTHC"] for p in big.procedures}
    assert len(big.procedures) == 1303
    assert not codes & {t.procedure_code for t in big.truth}
