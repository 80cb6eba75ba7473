"""Deterministic GPLX data sets: the Sở GTVT's licence dossiers with whole timelines shown as of the
scenario's clock, in the list and detail wire forms, and the truth a test checks a sync against."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from simulators.driving_licence import people
from simulators.driving_licence.timeline import Plan, Spec, plans
from simulators.ministry_catalogue import TRANSPORT
from simulators.one_stop.scenario import TZ, Calendar, DossierTruth

UNIT_NAME = "Sở Giao thông vận tải tỉnh Lạng Sơn"
CLOCK = datetime(2019, 7, 1, tzinfo=TZ)  # the H1 2019 report is compiled on 1 July

# MaTrangThai (the system's own list) -> its name and the national status.
STATUSES = {
    "0": ("Chờ tiếp nhận", 1),
    "1": ("Đã tiếp nhận", 2),
    "2": ("Đang xử lý", 4),
    "3": ("Chờ bổ sung hồ sơ", 5),
    "4": ("Chờ nộp lệ phí", 6),
    "5": ("Đã in GPLX, chờ trả", 9),
    "6": ("Đã trả GPLX", 10),
    "7": ("Từ chối tiếp nhận", 3),
    "8": ("Công dân rút hồ sơ", 7),
    "9": ("Hủy hồ sơ", 8),
}
CHANNEL_CODES = {1: "0", 2: "1", 3: "2"}  # canonical channel -> HinhThucNop


# (accepted in H1 2019, accepted in Q4 2018): "about 3,000 in the half year" and a small one.
SCENARIOS = {"langson-2019h1": Spec(h1=3000, q4=1400), "small": Spec(h1=100, q4=45)}


@dataclass
class Dataset:
    """One scenario's records in wire form, as of its clock, with the truth behind them."""

    scenario: str
    seed: int
    as_of: datetime
    unit: str  # the donViXuLy whose dossiers the stand-in serves
    dossiers: list[dict[str, Any]]  # DanhSachHoSo rows ordered by (ngayNhanHoSo, maHoSo)
    details: dict[str, dict[str, Any]]  # TraCuuHoSo records by maHoSo
    truth: list[DossierTruth]  # truth[i] describes dossiers[i]
    arrived: list[str]  # the local date (yyyy-MM-dd) the list filters dossiers[i] on
    malformed: dict[str | int, str] = field(default_factory=dict)  # maHoSo (or index) -> reason

    def with_malformed(self, rate: float, seed: int = 0) -> Dataset:
        """A copy with a fixed, seed-chosen share of dossiers corrupted (list row or detail)."""
        if rate <= 0:
            return self
        rng = random.Random(f"malformed:{self.seed}:{seed}")  # noqa: S311 - test data
        picks = sorted(rng.sample(range(len(self.dossiers)), round(rate * len(self.dossiers))))
        dossiers, details, truth = list(self.dossiers), dict(self.details), list(self.truth)
        malformed: dict[str | int, str] = {}
        for index in picks:
            row = dict(dossiers[index])
            number = row["maHoSo"]
            detail = dict(details[number])
            reason = _corrupt(row, detail, MALFORMATIONS[rng.randrange(len(MALFORMATIONS))])
            dossiers[index] = row
            if reason == "missing_detail":
                del details[number]
            else:
                details[number] = detail
            truth[index] = replace(truth[index], malformed_reason=reason)
            malformed[index if reason == "missing_key" else number] = reason
        return replace(self, dossiers=dossiers, details=details, truth=truth, malformed=malformed)


MALFORMATIONS = (
    "missing_key",
    "missing_detail",
    "bad_list_date",
    "bad_day_date",
    "bad_detail_date",
    "unknown_status",
    "due_before_received",
    "unknown_procedure",
    "unknown_channel",
)


def _corrupt(row: dict[str, Any], detail: dict[str, Any], reason: str) -> str:
    received, due = detail["NgayTiepNhan"], detail["NgayHenTra"]
    if reason == "due_before_received" and not (received and due):
        reason = "unknown_status"  # needs both dates
    if reason == "missing_key":
        del row["maHoSo"]
    elif reason == "bad_list_date":
        row["ngayNhanHoSo"] = row["ngayNhanHoSo"].replace("T", " ")
    elif reason == "bad_day_date":
        row["ngayHenTraGplx"] = "2019-02-31"
    elif reason == "bad_detail_date":  # the list's format where the detail's belongs
        detail["NgayTiepNhan" if received else "NgayNop"] = row["ngayNhanHoSo"]
    elif reason == "unknown_status":
        detail["MaTrangThai"] = "42"
    elif reason == "due_before_received":
        detail["NgayHenTra"] = f"{due[:6]}{int(received[6:10]) - 1}{due[10:]}"
    elif reason == "unknown_procedure":
        detail["MaTTHC"] = "9.999999"
    elif reason == "unknown_channel":
        detail["HinhThucNop"] = "7"
    return reason


def _stamps(cal: Calendar, instant: int) -> tuple[str, str, str]:
    """(yyyy-MM-dd, yyyy-MM-ddTHH:mm:ss, dd/MM/yyyy HH:mm:ss): the system's three formats."""
    s = cal.fmt(instant)
    day = f"{s[:4]}-{s[4:6]}-{s[6:8]}"
    clock = f"{s[8:10]}:{s[10:12]}:{s[12:14]}"
    return day, f"{day}T{clock}", f"{s[6:8]}/{s[4:6]}/{s[:4]} {clock}"


def _present(
    rng: random.Random, cal: Calendar, plan: Plan, number: str, as_of: int
) -> tuple[dict[str, Any], dict[str, Any], DossierTruth]:
    """The list row, the detail and the truth of ``plan`` as of the clock."""
    proc = plan.proc
    seen = [e for e in plan.events if e[0] <= as_of]
    firsts: dict[str, int] = {}
    for instant, status in seen:
        firsts.setdefault(status, instant)
    status, changed = seen[-1][1], seen[-1][0]
    received = firsts.get("1")
    due = plan.due if received is not None else None
    closed = next((firsts[s] for s in ("7", "8", "9") if s in firsts), None)

    def detail_stamp(instant: int | None) -> str:
        return "" if instant is None else _stamps(cal, instant)[2]

    arrived_day, arrived_stamp, _ = _stamps(cal, plan.submitted)
    who = people.person(rng, date.fromisoformat(arrived_day))
    reason = people.pick(rng, people.REASONS[proc.code])
    licence_class = people.pick(rng, people.CLASSES)
    if proc.code == "1.001777":  # an international licence translates a car licence
        licence_class = rng.choice(("B1", "B2", "C"))
    row = {
        "maHoSo": number,
        "maDangKyDvc": f"G22-{arrived_day[2:].replace('-', '')}-{rng.randrange(10**6):06d}"
        if plan.channel == 2
        else "",
        "hoTen": who.name,
        "ngaySinh": who.born.isoformat(),
        "soCmnd": who.id_number,
        "dvhcNoiCuTru": who.residence,
        "ngayNhanHoSo": arrived_stamp,
        "ngayHenTraGplx": _stamps(cal, due)[0] if due is not None else "",
        "lyDoDoiGplx": reason,
        "hangDaoTao": licence_class,
        "gplxDaCap": people.licences_held(
            rng, licence_class, reason, date.fromisoformat(arrived_day)
        ),
    }
    name, national = STATUSES[status]
    detail = {
        "MaHoSo": number,
        "MaTTHC": proc.code,
        "TenDVC": proc.name,
        "HoTenNguoiNop": who.name,
        "MaTrangThai": status,
        "TrangThaiHoSo": name,
        "MaDonViXuLy": TRANSPORT,
        "DonViXuLy": UNIT_NAME,
        "HinhThucNop": CHANNEL_CODES[plan.channel],
        "HinhThucNhanKQ": "1" if plan.by_post else "0",
        "NgayNop": detail_stamp(plan.submitted),
        "NgayTiepNhan": detail_stamp(received),
        "NgayHenTra": detail_stamp(due),
        "NgayHoanThanh": detail_stamp(firsts.get("5")),
        "NgayTraKQ": detail_stamp(firsts.get("6")),
        "NgayKetThuc": detail_stamp(closed),
        "NgayCapNhat": detail_stamp(changed),
        "LePhi": proc.fee,
        "DaThanhToanTrucTuyen": "1" if plan.paid_online else "0",
    }
    if plan.channel == 1 and rng.random() < 0.015:
        del detail["HinhThucNop"]  # some counters never fill it in: it means direct
    ended = firsts.get("5", firsts.get("6", closed if status in ("8", "9") else None))
    truth = DossierTruth(
        number,
        TRANSPORT,
        proc.code,
        plan.channel,
        cal.local(received),
        cal.local(due),
        cal.local(ended),
        national,
        cal.local(changed),
    )
    return row, detail, truth


def build_dataset(scenario: str = "small", seed: int = 2019) -> Dataset:
    """The named scenario's data set; the same scenario and seed give identical records."""
    try:
        spec = SCENARIOS[scenario]
    except KeyError:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}") from None
    rng = random.Random(f"driving_licence:{scenario}:{seed}")  # noqa: S311 - test data
    cal = Calendar(date(2020, 1, 1))
    as_of = int((CLOCK - cal.origin).total_seconds())
    timelines = sorted(plans(rng, cal, spec, as_of), key=lambda p: p.submitted)
    rows, details, truth = [], {}, []
    seq, last_day = 0, ""
    for plan in timelines:
        day = cal.day_str[plan.submitted // 86400][2:]
        seq = seq + 1 if day == last_day else 1
        last_day = day
        row, detail, fact = _present(rng, cal, plan, f"GPLX-H22-{day}-{seq:04d}", as_of)
        rows.append(row)
        details[row["maHoSo"]] = detail
        truth.append(fact)
    # Already in (ngayNhanHoSo, maHoSo) order: sorted by arrival, numbered in arrival order.
    return Dataset(
        scenario=scenario,
        seed=seed,
        as_of=CLOCK,
        unit=TRANSPORT,
        dossiers=rows,
        details=details,
        truth=truth,
        arrived=[r["ngayNhanHoSo"][:10] for r in rows],
    )
