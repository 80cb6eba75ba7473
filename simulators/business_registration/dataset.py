"""Deterministic business registration data sets: dossiers of the province's registration office
with whole timelines shown as of the scenario's clock, and the truth a test counts from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from simulators.ministry_catalogue import PLANNING_AND_INVESTMENT, procedures_of
from simulators.one_stop import catalogue as cat
from simulators.one_stop.scenario import (
    H1_END,
    H1_START,
    Q4_START,
    TZ,
    WORK_DAY,
    Calendar,
    DossierTruth,
)

# The system's own status codes, by the national status each one means. The stand-in is the
# source, so it owns this list; mappings/codes/business_registration.toml maps it back.
WIRE_STATUS = {
    1: "CHO_TIEP_NHAN",  # submitted online, not yet accepted
    2: "DA_TIEP_NHAN",
    3: "KHONG_TIEP_NHAN",  # refused at intake
    4: "DANG_XU_LY",
    5: "YEU_CAU_BO_SUNG",  # thông báo yêu cầu sửa đổi, bổ sung hồ sơ
    6: "CHO_NOP_LE_PHI",
    7: "RUT_HO_SO",
    8: "TU_CHOI",  # thông báo từ chối đăng ký after review
    9: "DA_CAP_GCN",  # certificate issued / change recorded: the result is ready
    10: "DA_TRA_KET_QUA",
}
WIRE_CHANNEL = {1: "TRUC_TIEP", 2: "QUA_MANG", 3: "BUU_CHINH"}
PROCEDURES = procedures_of("business_registration")
# Change registrations dominate; new companies next; dissolutions are rare.
_PROCEDURE_WEIGHTS = {
    "1.005167": 38,
    "2.002004": 22,
    "2.001893": 9,
    "2.001610": 8,
    "2.002013": 16,
    "1.010026": 7,
}
FOUNDING = frozenset({"2.001610", "2.002004", "2.001893"})  # a new enterprise, a new MST
_CLOCK_SCENARIOS = {"langson-2019h1": 1500, "small": 150}  # dossiers received in H1 2019
CARRY_SHARE = 0.5  # Q4 2018 receipts relative to H1's
INTAKE_SEQ_BASE = 8000  # see _intake_number
MALFORMATIONS = (
    "missing_key",
    "bad_date",
    "unknown_status",
    "due_before_received",
    "unknown_channel",
    "invalid_mst",
    "unknown_procedure",
)


@dataclass
class Dataset:
    """One scenario's dossiers in wire form (values are the XML texts, None = absent)."""

    scenario: str
    seed: int
    as_of: Any  # datetime of the clock
    dossiers: list[dict[str, str | None]]  # ordered by (NgayCapNhat, SoHoSo)
    truth: list[DossierTruth]  # truth[i] describes dossiers[i]
    malformed: dict[str | int, str] = field(default_factory=dict)  # SoHoSo (or index) -> reason

    def with_malformed(self, rate: float, seed: int = 0) -> Dataset:
        """A copy with a fixed, seed-chosen share of dossier records corrupted."""
        if rate <= 0:
            return self
        rng = random.Random(f"malformed:{self.seed}:{seed}")  # noqa: S311 - test data
        picks = sorted(rng.sample(range(len(self.dossiers)), round(rate * len(self.dossiers))))
        dossiers, truth, malformed = list(self.dossiers), list(self.truth), {}
        for n, index in enumerate(picks):
            record = dict(dossiers[index])
            # Cycle through the kinds so that even a small sample shows every one.
            reason = _corrupt(record, MALFORMATIONS[n % len(MALFORMATIONS)])
            dossiers[index] = record
            truth[index] = replace(truth[index], malformed_reason=reason)
            malformed[index if reason == "missing_key" else record["SoHoSo"]] = reason
        return replace(self, dossiers=dossiers, truth=truth, malformed=malformed)


def _corrupt(record: dict[str, str | None], reason: str) -> str:
    received, due = record.get("NgayTiepNhan"), record.get("NgayHenTra")
    if reason == "due_before_received" and not (received and due):
        reason = "unknown_status"  # needs both dates
    if reason == "missing_key":
        del record["SoHoSo"]
    elif reason == "bad_date":
        record["NgayTiepNhan" if received else "NgayNop"] = "2019-02-31T25:00:00+07:00"
    elif reason == "unknown_status":
        record["TrangThai"] = "DANG_THAM_DINH"
    elif reason == "due_before_received":
        record["NgayHenTra"] = f"{int(received[:4]) - 1}{received[4:]}"  # type: ignore[index]
    elif reason == "unknown_channel":
        record["KenhNop"] = "QUA_CONG_DVCQG"
    elif reason == "invalid_mst":
        mst = record["MaSoDoanhNghiep"] or ""
        record["MaSoDoanhNghiep"] = mst[:9] + str((int(mst[9]) + 1) % 10) + mst[10:]
    else:
        record["MaThuTuc"] = "2.999999"
    return reason


class _Plan:
    """One dossier's whole timeline, before the clock hides its future."""

    __slots__ = ("procedure", "channel", "submitted", "events", "first_due")

    def __init__(self, procedure: Any, channel: int, submitted: int) -> None:
        self.procedure, self.channel, self.submitted = procedure, channel, submitted
        self.events: list[tuple[int, int, int | None]] = []  # (instant, national status, due)
        self.first_due: int | None = None


def _timeline(rng: random.Random, cal: Calendar, procedure: Any, channel: int, work: int) -> _Plan:
    """A dossier arriving at working-time position ``work``, with the rest of its life."""
    at, r = cal.instant, rng.random
    before = {1: (60, 1200), 2: (600, 2 * 86400), 3: (86400, 3 * 86400)}[channel]
    received = at(work)
    plan = _Plan(procedure, channel, received - rng.randint(*before))
    events = plan.events
    if channel == 2:
        events.append((plan.submitted, 1, None))
    if r() < 0.03:  # refused at intake: incomplete file, wrong office
        events.append((received, 3, None))
        return plan
    due = work + procedure.duration * WORK_DAY
    plan.first_due = at(due)
    events.append((received, 2, at(due)))
    step = work + rng.randint(120, 3600)
    if channel == 2 and procedure.fee and r() < 0.06:  # waits for the online fee payment
        events.append((at(step), 6, None))
        step += rng.randint(600, WORK_DAY)
    events.append((at(step), 4, None))
    # Processing ends before, on or after the due *date*.
    day, share = due // WORK_DAY, r()
    if share < 0.7 and day * WORK_DAY - 1 > step + 600:
        end = rng.randint(step + 600, day * WORK_DAY - 1)
    elif share < 0.93:
        end = rng.randint(
            max(step + 600, day * WORK_DAY), max(step + 600, day * WORK_DAY) + WORK_DAY - 1
        )
    else:
        end = (day + rng.randint(1, 6)) * WORK_DAY + rng.randrange(WORK_DAY)
    if r() < 0.1 and end - step > 1200:  # supplement requested; the clock stops meanwhile
        asked = rng.randint(step + 300, end - 300)
        events.append((at(asked), 5, None))
        if r() < 0.15:
            return plan  # the applicant never came back
        pause = rng.randint(1, 8) * WORK_DAY
        due, end, step = due + pause, end + pause, asked + pause
        events.append((at(step), 4, at(due)))
    fate = r()
    if fate < 0.02:
        events.append((at(rng.randint(step + 60, max(step + 61, end))), 7, None))
        return plan
    if fate < 0.05:
        events.append((at(end), 8, None))
        return plan
    events.append((at(end), 9, None))
    if r() < 0.9:  # most results are collected (or posted) within a few days
        events.append((at(end + rng.randint(60, 4 * WORK_DAY)), 10, None))
    return plan


def _pending_online(rng: random.Random, procedure: Any, instant: int) -> _Plan:
    plan = _Plan(procedure, 2, instant)
    plan.events.append((instant, 1, None))
    return plan


class _Enterprises:
    """Tax codes: new ones for founding procedures, often known ones for the others."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.known = rng, []  # (MST, name)

    def pick(self, founding: bool) -> tuple[str, str, str]:
        rng = self.rng
        if founding or not self.known or rng.random() < 0.4:
            name = (
                f"{rng.choice(cat.BUSINESS_FORMS)} {rng.choice(cat.BUSINESS_TRADES)} "
                f"{rng.choice(cat.PLACES)}"
            )
            mst = cat.tax_code(rng)
            if not founding and rng.random() < 0.08:
                mst += f"-{rng.randint(1, 12):03d}"  # a branch: 13 digits, written with a dash
            self.known.append((mst, name))
        else:
            mst, name = rng.choice(self.known)
        person = (
            f"{rng.choice(cat.FAMILY_NAMES)} {rng.choice(cat.MIDDLE_NAMES)} "
            f"{rng.choice(cat.GIVEN_NAMES)}"
        )
        return mst, name, person


def build_dataset(scenario: str = "small", seed: int = 2019) -> Dataset:
    """The named scenario; the same scenario and seed give identical records."""
    try:
        h1 = _CLOCK_SCENARIOS[scenario]
    except KeyError:
        known = ", ".join(_CLOCK_SCENARIOS)
        raise ValueError(f"unknown scenario {scenario!r}; known: {known}") from None
    rng = random.Random(f"business_registration:{scenario}:{seed}")  # noqa: S311 - test data
    cal = Calendar(date(2021, 1, 1))
    as_of_dt = datetime(H1_END.year, H1_END.month, H1_END.day, tzinfo=TZ)  # report compiled 1/7
    as_of = int((as_of_dt - cal.origin).total_seconds())
    procedures = [p for p in PROCEDURES if p.code in _PROCEDURE_WEIGHTS]
    weights = [_PROCEDURE_WEIGHTS[p.code] for p in procedures]
    start, mid, end = (cal.work_at(d) for d in (Q4_START, H1_START, H1_END))
    plans = []
    for count, low, high in ((round(h1 * CARRY_SHARE), start, mid), (h1, mid, end)):
        for procedure in rng.choices(procedures, weights=weights, k=count):
            share = rng.random()
            channel = 1 if share < 0.52 else 2 if share < 0.95 else 3
            plans.append(_timeline(rng, cal, procedure, channel, rng.randrange(low, high)))
    for _ in range(max(1, h1 // 150)):  # online submissions nobody has accepted yet
        procedure = rng.choices(procedures, weights=weights)[0]
        plans.append(_pending_online(rng, procedure, rng.randrange(as_of - 3 * 86400, as_of)))
    plans.sort(key=lambda p: p.submitted)
    enterprises = _Enterprises(rng)
    rows, seq, intake_seq, last_day = [], 0, 0, ""
    for plan in plans:
        day = cal.day_str[plan.submitted // 86400][2:]
        seq, intake_seq = (seq + 1, intake_seq) if day == last_day else (1, 0)
        last_day = day
        intake = None
        if plan.channel == 1 and rng.random() < 0.6:
            intake_seq += 1
            intake = _intake_number(day, intake_seq)
        rows.append(
            _present(rng, cal, plan, f"DKKD-H22-{day}-{seq:04d}", intake, enterprises, as_of)
        )
    rows.sort(key=lambda row: (row[0]["NgayCapNhat"], row[0]["SoHoSo"]))
    return Dataset(
        scenario=scenario,
        seed=seed,
        as_of=as_of_dt,
        dossiers=[row[0] for row in rows],
        truth=[row[1] for row in rows],
    )


def _intake_number(day: str, seq: int) -> str:
    # The center's counter numbers a business registration dossier in the one-stop software's
    # format. The one-stop stand-in numbers its own dossiers from 0001 up each day; starting at
    # 8001 keeps the two apart, so the warehouse's number-based linking finds no false pair.
    return f"{PLANNING_AND_INVESTMENT}-{day}-{INTAKE_SEQ_BASE + seq:04d}"


def _present(
    rng: random.Random,
    cal: Calendar,
    plan: _Plan,
    number: str,
    intake: str | None,
    enterprises: _Enterprises,
    as_of: int,
) -> tuple[dict[str, str | None], DossierTruth]:
    """The wire record and truth of ``plan`` as of the clock."""
    seen = [e for e in plan.events if e[0] <= as_of]
    firsts: dict[int, int] = {}
    due = None
    for instant, status, new_due in seen:
        firsts.setdefault(status, instant)
        due = new_due if new_due is not None else due
    status = seen[-1][1]
    received = firsts.get(2)
    ended = firsts.get(9, firsts.get(10, firsts.get(7, firsts.get(8))))
    decided = firsts.get(9, firsts.get(8, firsts.get(3)))
    mst, name, person = enterprises.pick(plan.procedure.code in FOUNDING)

    def stamp(instant: int | None) -> str | None:
        if instant is None:
            return None
        return cal.local(instant).isoformat()  # type: ignore[union-attr]

    record: dict[str, str | None] = {
        "SoHoSo": number,
        "MaHoSoMotCua": intake,
        "MaSoDoanhNghiep": mst,
        "TenDoanhNghiep": name,
        "NguoiDaiDienPhapLuat": person,
        "MaThuTuc": plan.procedure.code,
        "TenThuTuc": plan.procedure.name,
        "MaCoQuanDangKy": PLANNING_AND_INVESTMENT,
        "KenhNop": WIRE_CHANNEL[plan.channel],
        "NgayNop": stamp(plan.submitted),
        "NgayTiepNhan": stamp(received),
        "NgayHenTra": stamp(due),
        "NgayHenTraBanDau": stamp(plan.first_due) if due is not None else None,
        "NgayQuyetDinh": stamp(decided),
        "NgayTraKetQua": stamp(firsts.get(10)),
        "NgayRutHoSo": stamp(firsts.get(7)),
        "TrangThai": WIRE_STATUS[status],
        "NgayCapNhat": stamp(seen[-1][0]),
    }
    if plan.channel == 1 and rng.random() < 0.02:
        record["KenhNop"] = None  # some counter clerks never filled it in: it means direct
    truth = DossierTruth(
        number,
        PLANNING_AND_INVESTMENT,
        plan.procedure.code,
        plan.channel,
        cal.local(received),
        cal.local(due) if received is not None else None,
        cal.local(ended),
        status,
        cal.local(seen[-1][0]),
    )  # type: ignore[arg-type]
    return record, truth
