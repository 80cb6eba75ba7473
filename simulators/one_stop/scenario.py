"""Deterministic one-stop data sets: agencies, procedures, dossiers whose whole timelines are shown
as of the scenario's clock, ratings, and the ground truth a test counts the official report from."""

from __future__ import annotations

import gc
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import accumulate
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

from simulators.ministry_catalogue import PROCEDURES as MINISTRY_PROCEDURES
from simulators.one_stop import catalogue as cat

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EPOCH = date(2018, 1, 1)  # instants are local seconds since its midnight: fast to draw and compare
Q4_START, H1_START, H1_END = date(2018, 10, 1), date(2019, 1, 1), date(2019, 7, 1)
WORK_DAY = 28_800  # working seconds a day: 07:00-11:30 and 13:30-17:00
MORNING = 16_200
Event = tuple[int, str, int | None, str | None]  # (instant, status, new due instant, text)


@dataclass(frozen=True, slots=True)
class DossierTruth:
    """What really happened to one dossier as of the clock, in plain Python values."""

    number: str
    agency_code: str
    procedure_code: str
    channel: int  # 1 direct, 2 online, 3 postal; a record missing it is direct
    received_at: datetime | None  # accepted (NgayTiepNhan); None for statuses 1 and 3
    due_at: datetime | None
    ended_at: datetime | None  # first 9, else 10, else 7/8
    status: int
    updated_at: datetime
    malformed_reason: str | None = None
    # A one-stop record of a dossier processed in a ministry system: that system's number for
    # it (the ministry record is the real dossier; this one must not be counted again).
    twin_of: str | None = None


@dataclass
class Dataset:
    """One scenario's records in wire form, as of its clock, with the truth behind them."""

    scenario: str
    seed: int
    as_of: datetime
    agencies: list[dict[str, Any]]
    procedures: list[dict[str, Any]]  # ordered by (NgayCapNhat, MaTTHC)
    dossiers: list[dict[str, Any]]  # wire records ordered by (NgayCapNhat, MaHoSo)
    ratings: list[dict[str, Any]]  # ordered by (NgayDanhGia, MaDanhGia)
    truth: list[DossierTruth]  # truth[i] describes dossiers[i]
    malformed: dict[str | int, str] = field(default_factory=dict)  # MaHoSo (or index) -> reason

    @property
    def fields(self) -> list[dict[str, str]]:
        """Fields (lĩnh vực) per agency, as its procedures name them."""
        seen = {(p["MaCoQuan"], p["MaLinhVuc"]): p["TenLinhVuc"] for p in self.procedures}
        return [{"MaCoQuan": agency, "MaLinhVuc": code, "TenLinhVuc": name}
                for (agency, code), name in sorted(seen.items())]

    def with_malformed(self, rate: float, seed: int = 0) -> Dataset:
        """A copy with a fixed, seed-chosen share of dossier records corrupted."""
        if rate <= 0:
            return self
        rng = random.Random(f"malformed:{self.seed}:{seed}")  # noqa: S311 - test data
        picks = sorted(rng.sample(range(len(self.dossiers)), round(rate * len(self.dossiers))))
        dossiers, truth, malformed = list(self.dossiers), list(self.truth), {}
        for index in picks:
            record = dict(dossiers[index])
            reason = _corrupt(record, MALFORMATIONS[rng.randrange(len(MALFORMATIONS))])
            dossiers[index] = record
            truth[index] = replace(truth[index], malformed_reason=reason)
            malformed[index if reason == "missing_key" else record["MaHoSo"]] = reason
        return replace(self, dossiers=dossiers, truth=truth, malformed=malformed)


MALFORMATIONS = ("missing_key", "bad_date", "unknown_status", "due_before_received",
                 "unknown_procedure", "unknown_channel")


def _corrupt(record: dict[str, Any], reason: str) -> str:
    received, due = record.get("NgayTiepNhan"), record.get("NgayHenTra")
    if reason == "due_before_received" and not (received and due):
        reason = "unknown_status"  # needs both dates
    if reason == "missing_key":
        del record["MaHoSo"]
    elif reason == "bad_date":
        record["NgayTiepNhan" if received else "NgayNopHoSo"] = "20193102250000"
    elif reason == "unknown_status":
        record["TrangThaiHoSo"] = "42"
    elif reason == "due_before_received":
        record["NgayHenTra"] = f"{int(received[:4]) - 1}{received[4:]}"
    elif reason == "unknown_procedure":
        record["MaTTHC"] = "9.999999"
    else:
        record["KenhThucHien"] = "7"
    return reason


@dataclass(frozen=True)
class _Spec:
    procedures: tuple[int, ...]  # per agency, in catalogue order
    h1_received: tuple[int, ...]
    carry_share: float  # Q4 2018 receipts relative to H1's
    h1_ratings: tuple[int, int, int] | None  # exact counts of levels 1, 2, 3; None = drawn
    rating_share: float  # share of candidates rated where not exact
    as_of: datetime


def _scaled(values: tuple[int, ...], total: int) -> tuple[int, ...]:
    scale = total / sum(values)
    return tuple(max(1, round(v * scale)) for v in values)


_CLOCK = datetime(2019, 7, 1, tzinfo=TZ)  # the H1 2019 report is compiled on 1 July
SCENARIOS: dict[str, _Spec] = {
    "langson-2019h1": _Spec(tuple(a.procedures for a in cat.AGENCIES),
                            tuple(a.h1_received for a in cat.AGENCIES), 0.5, (2291, 136, 0), 0.08,
                            _CLOCK),
    "small": _Spec(_scaled(tuple(a.procedures for a in cat.AGENCIES), 60),
                   _scaled(tuple(a.h1_received for a in cat.AGENCIES), 520), 0.5, None, 0.3,
                   _CLOCK),
}


class _Random(random.Random):
    """random.Random with integer draws from one float each: several times faster, and the data
    sets need reproducibility, not perfect uniformity."""

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if step != 1:
            return super().randrange(start, stop, step)
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))


_HHMM = [f"{m // 60:02d}{m % 60:02d}" for m in range(1440)]
_SS = [f"{s:02d}" for s in range(60)]


class Calendar:
    """Working time as integer seconds, weekends and holidays skipped."""

    def __init__(self, end: date) -> None:
        days = (end - EPOCH).days
        self.day_str = [(EPOCH + timedelta(n)).strftime("%Y%m%d") for n in range(days)]
        self.work_days = [n for n in range(days) if (EPOCH + timedelta(n)).weekday() < 5
                          and EPOCH + timedelta(n) not in cat.HOLIDAYS]
        self.next_work = [0] * days  # day -> index of the first working day on or after it
        index = len(self.work_days)
        for day in range(days - 1, -1, -1):
            while index > 0 and self.work_days[index - 1] >= day:
                index -= 1
            self.next_work[day] = index
        self.origin = datetime(EPOCH.year, EPOCH.month, EPOCH.day, tzinfo=TZ)

    def instant(self, work: int) -> int:
        """Local seconds of a working-time position."""
        day, second = divmod(work, WORK_DAY)
        return self.work_days[day] * 86400 + 25200 + second + (7200 if second >= MORNING else 0)

    def work_at(self, day: date) -> int:
        """The working-time position of the first working moment on or after ``day``."""
        return self.next_work[(day - EPOCH).days] * WORK_DAY

    def fmt(self, instant: int) -> str:
        """``yyyyMMddHHmmss``, the contract's date format."""
        day, second = divmod(instant, 86400)
        return self.day_str[day] + _HHMM[second // 60] + _SS[second % 60]

    def local(self, instant: int | None) -> datetime | None:
        return None if instant is None else self.origin + timedelta(seconds=instant)


@dataclass(frozen=True)
class _Procedure:
    code: str
    name: str
    field_code: str
    field_name: str
    agency: cat.Agency
    duration: int
    unit: str  # "ngay" | "gio"
    level: str
    fee: int
    updated: int

    @property
    def work_seconds(self) -> int:
        return self.duration * (WORK_DAY if self.unit == "ngay" else 3600)


def _pick(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _procedures(rng: random.Random, cal: Calendar, spec: _Spec) -> dict[str, list[_Procedure]]:
    """The procedures whose dossiers the one-stop software processes, per agency.

    The agency's catalogue count includes the procedures a ministry system processes
    (`ministry_catalogue`); those are listed in the catalogue but get no one-stop dossiers.
    """
    used: set[int] = {int(p.code.split(".")[1]) for p in MINISTRY_PROCEDURES}
    result: dict[str, list[_Procedure]] = {}
    for agency, total in zip(cat.AGENCIES, spec.procedures, strict=True):
        count = max(1, total - sum(p.agency_code == agency.code for p in MINISTRY_PROCEDURES))
        field_codes = {name: f"{agency.abbr}{n + 1:02d}"
                       for n, name in enumerate(dict.fromkeys(f.name for f in agency.fields))}
        items = [(f, obj) for f in agency.fields for obj in f.objects]
        names = [(f"{f.verbs[v]} {obj}{q}", f) for q in cat.QUALIFIERS for v in range(6)
                 for f, obj in items]
        procs = []
        for name, fld in names[:count]:
            number = rng.randrange(100, 12000)
            while number in used:
                number = rng.randrange(100, 12000)
            used.add(number)
            code = f"{_pick(rng, ((1, 5), (2, 4), (3, 1)))}.{number:06d}"
            if rng.random() < 0.02:
                code += f".{agency.code}"  # national codes sometimes carry the agency suffix
            hours = rng.random() < 0.03
            procs.append(_Procedure(
                code, name, field_codes[fld.name], fld.name, agency,
                rng.choice(cat.HOUR_DURATIONS) if hours else _pick(rng, cat.DAY_DURATIONS),
                "gio" if hours else "ngay", _pick(rng, cat.ONLINE_LEVELS), _pick(rng, cat.FEES),
                cal.instant(rng.randrange(cal.work_at(EPOCH), cal.work_at(H1_END) - WORK_DAY))))
        result[agency.code] = procs
    return result


# Channel shares by online level: a level-2 procedure cannot be submitted online.
_CHANNELS = {"2": (0.93, 0.93, 1.0), "3": (0.70, 0.92, 1.0), "4": (0.55, 0.93, 1.0)}


class _Plan:
    """One dossier's whole timeline, before the clock hides its future."""

    __slots__ = ("proc", "channel", "submitted", "events", "rounds", "on_spot", "by_post")

    def __init__(self, proc: _Procedure, channel: int, submitted: int) -> None:
        self.proc, self.channel, self.submitted = proc, channel, submitted
        self.events: list[Event] = []
        self.rounds: list[tuple[int, int, int, int]] = []  # (asked, due before, due after, from)
        self.on_spot = self.by_post = False


def _end_of_processing(rng: random.Random, start: int, due: int) -> tuple[int, bool]:
    """When processing ends relative to the due *date*: before, on, or after it (late)."""
    day = due // WORK_DAY
    share = rng.random()
    if share < 0.68 and day * WORK_DAY - 1 > start + 600:
        return rng.randint(start + 600, day * WORK_DAY - 1), False
    low = max(start + 600, day * WORK_DAY)
    if share < 0.92 and low < (day + 1) * WORK_DAY:
        return rng.randint(low, (day + 1) * WORK_DAY - 1), False
    late = day + rng.randint(1, 8)
    return rng.randint(late * WORK_DAY, (late + 1) * WORK_DAY - 1), True


def _accepted(rng: random.Random, cal: Calendar, proc: _Procedure, channel: int,
              work: int) -> _Plan:
    """A dossier accepted at working-time position ``work``, with the rest of its life."""
    at, r = cal.instant, rng.random
    duration = proc.work_seconds
    due = work + duration
    received = at(work)
    before = {1: (60, 1200), 2: (600, 2 * 86400), 3: (86400, 3 * 86400)}[channel]
    plan = _Plan(proc, channel, received - rng.randint(*before))
    plan.by_post = r() < (0.7 if channel == 3 else 0.08)
    events = plan.events
    if channel == 2:
        events.append((plan.submitted, "1", None, None))
    events.append((received, "2", at(due), None))
    if channel == 1 and duration >= WORK_DAY and r() < 0.04:  # "4 tại chỗ": done on the spot
        plan.on_spot = True
        step = work + rng.randint(60, 300)
        done = step + rng.randint(300, 1800)
        events += [(at(step), "4", None, None), (at(done), "9", None, None),
                   (at(done + rng.randint(60, 600)), "10", None, None)]
        return plan
    step = work + rng.randint(60, max(61, min(7200, duration // 4)))
    events.append((at(step), "4", None, None))
    end, late = _end_of_processing(rng, step, due)
    fate = r()
    if r() < 0.08 and end - step > 1200:  # supplement requested: the clock stops meanwhile
        asked = rng.randint(step + 300, end - 300)
        events.append((at(asked), "5", None, None))
        if r() < 0.1:
            plan.rounds.append((at(asked), at(due), 0, 0))
            return plan  # the applicant never came back
        pause = rng.randint(1, 10) * WORK_DAY
        plan.rounds.append((at(asked), at(due), at(due + pause), at(asked + pause)))
        due, end, step = due + pause, end + pause, asked + pause
        events.append((at(step), "4", at(due), cat.RESUMED_TEXT))
    elif late and r() < 0.3:  # an apology slip re-sets the due date past the real end
        asked = max(step + 60, due - rng.randint(0, WORK_DAY))
        new_due = due + (end // WORK_DAY - due // WORK_DAY + rng.randint(0, 2)) * WORK_DAY
        plan.rounds.append((at(asked), at(due), at(new_due), at(asked)))
        events.append((at(asked), "4", at(new_due), cat.APOLOGY_TEXT))
        due, step = new_due, asked
    if fate < 0.025:  # withdrawn (7) or stopped (8) before the end
        events.append((at(rng.randint(step + 60, max(step + 61, end))),
                       "7" if fate < 0.02 else "8", None, None))
        return plan
    if r() < 0.03:  # some modules jump straight to "handed over"
        events.append((at(end), "10", None, None))
        return plan
    events.append((at(end), "9", None, None))
    if r() >= 0.02:  # a few results are never collected
        handover = end + (rng.randint(WORK_DAY, 3 * WORK_DAY) if plan.by_post
                          else rng.randint(60, 5 * WORK_DAY))
        events.append((at(handover), "10", None,
                       "Chuyển trả kết quả qua dịch vụ bưu chính công ích" if plan.by_post
                       else None))
    return plan


def _not_accepted(rng: random.Random, cal: Calendar, proc: _Procedure, online: bool,
                  work: int | None, instant: int | None = None) -> _Plan:
    """Refused at intake at ``work`` (status 3), or an online submission at ``instant`` that
    nobody has accepted (status 1)."""
    if work is None:
        plan = _Plan(proc, 2, instant or 0)
        plan.events.append((plan.submitted, "1", None, None))
        return plan
    refused = cal.instant(work)
    plan = _Plan(proc, 2 if online else 1,
                 refused - (rng.randint(600, 2 * 86400) if online else rng.randint(120, 900)))
    if online:
        plan.events.append((plan.submitted, "1", None, None))
    plan.events.append((refused, "3", None, None))
    return plan


def _agency_plans(rng: random.Random, cal: Calendar, procs: list[_Procedure], h1: int,
                  carry_share: float, as_of: int) -> list[_Plan]:
    weights = list(accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(procs))))
    online = [p for p in procs if p.level != "2"]
    q4, start, mid, end = (round(h1 * carry_share), cal.work_at(Q4_START), cal.work_at(H1_START),
                           cal.work_at(H1_END))
    plans = []
    for count, low, high in ((q4, start, mid), (h1, mid, end)):
        for proc in rng.choices(procs, cum_weights=weights, k=count):
            cuts = _CHANNELS[proc.level]
            share = rng.random()
            channel = 1 if share < cuts[0] else 2 if share < cuts[1] else 3
            plans.append(_accepted(rng, cal, proc, channel, rng.randrange(low, high)))
    total = q4 + h1
    for _ in range(round(0.015 * total)):
        proc = rng.choice(online or procs)
        plans.append(_not_accepted(rng, cal, proc, bool(online) and rng.random() < 0.6,
                                   rng.randrange(start, end)))
    if online:
        first = (Q4_START - EPOCH).days * 86400
        for low in [as_of - 3 * 86400] * ceil(0.003 * h1) + [first] * round(0.002 * total):
            plans.append(_not_accepted(rng, cal, rng.choice(online), True, None,
                                       rng.randrange(low, as_of)))
    return plans


_Row = tuple[dict[str, Any], DossierTruth, int | None]  # wire record, truth, rating time


def _present(rng: random.Random, cal: Calendar, plan: _Plan, number: str, as_of: int) -> _Row:
    """The wire record and truth of ``plan`` as of the clock, and when it may be rated."""
    proc, fmt = plan.proc, cal.fmt
    agency = proc.agency
    empty = None if agency.legacy_format else ""
    seen = [e for e in plan.events if e[0] <= as_of]
    firsts: dict[str, int] = {}
    due = None
    for instant, status, new_due, _ in seen:
        firsts.setdefault(status, instant)
        due = new_due if new_due is not None else due
    status = seen[-1][1]
    received = firsts.get("2")
    ended = firsts.get("9", firsts.get("10", firsts.get("7", firsts.get("8"))))
    draw = rng.random()
    kind = 1 + sum(draw >= c for c in accumulate(agency.applicants[:3]))
    name, paper = cat.applicant(rng, kind)
    paid = "0"
    if plan.channel == 2 and proc.fee and received is not None:
        share = rng.random()
        paid = "1" if share < 0.35 else "2" if share < 0.5 else "0"
    record: dict[str, Any] = {
        "MaHoSo": number, "MaTTHC": proc.code, "TenTTHC": proc.name,
        "MaLinhVuc": proc.field_code, "TenLinhVuc": proc.field_name, "DonViXuLy": agency.code,
        "ChuHoSo": name, "LoaiDoiTuong": str(kind), "SoGiayToChuHoSo": paper,
        "KenhThucHien": str(plan.channel), "HinhThuc": "1" if plan.by_post else "0",
        "NgayNopHoSo": fmt(plan.submitted),
        "NgayTiepNhan": fmt(received) if received is not None else empty,
        "NgayHenTra": fmt(due) if due is not None else empty,
        "NgayKetThucXuLy": fmt(firsts["9"]) if "9" in firsts else empty,
        "NgayTra": fmt(firsts["10"]) if "10" in firsts else empty,
        "NgayTuChoi": fmt(firsts["3"]) if "3" in firsts else empty,
        "TrangThaiHoSo": int(status) if agency.legacy_format else status,
        "DuocThanhToanTrucTuyen": paid, "TaiCho": "1" if plan.on_spot else "0",
        "DanhSachLePhi": [{"MaPhiLePhi": f"LP{proc.code}", "TenPhiLePhi":
                           f"Lệ phí {proc.name[0].lower()}{proc.name[1:]}", "Gia": proc.fee}]
                         if proc.fee else [],
        "DanhSachHoSoBoSung": [
            {"NgayYeuCau": fmt(asked), "NgayHenTraTruoc": fmt(old),
             "NgayHenTraMoi": fmt(new) if new and since <= as_of else empty}
            for asked, old, new, since in plan.rounds if asked <= as_of],
        "QuaTrinhXuLy": [{"TrangThai": s, "ThoiDiemXuLy": fmt(t),
                          "NoiDungXuLy": text or cat.STEP_TEXT[s]} for t, s, _, text in seen],
        "NgayCapNhat": fmt(seen[-1][0]),
    }
    if plan.channel == 1 and rng.random() < 0.015:
        del record["KenhThucHien"]  # some counters never filled it in: it means direct
    truth = DossierTruth(number, agency.code, proc.code, plan.channel, cal.local(received),
                         cal.local(due) if received is not None else None, cal.local(ended),
                         int(status), cal.local(seen[-1][0]))
    rated = firsts.get("10", firsts.get("9"))
    return record, truth, None if rated is None else rated + rng.randint(30, 3600)


def build_dataset(scenario: str = "small", seed: int = 2019) -> Dataset:
    """The named scenario's data set; the same scenario and seed give identical records."""
    # Building ~50k small containers triggers the cyclic collector over and over, for nothing:
    # they hold no cycles. Pausing it halves the time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(scenario, seed)
    finally:
        if enabled:
            gc.enable()


def _build(scenario: str, seed: int) -> Dataset:
    try:
        spec = SCENARIOS[scenario]
    except KeyError:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}") from None
    rng = _Random(f"{scenario}:{seed}")
    cal = Calendar(date(2021, 1, 1))
    as_of = int((spec.as_of - cal.origin).total_seconds())
    procs = _procedures(rng, cal, spec)
    rows: list[_Row] = []
    for agency, h1 in zip(cat.AGENCIES, spec.h1_received, strict=True):
        plans = _agency_plans(rng, cal, procs[agency.code], h1, spec.carry_share, as_of)
        plans.sort(key=lambda p: p.submitted)
        seq, last_day = 0, ""
        for plan in plans:
            day = cal.day_str[plan.submitted // 86400][2:]
            seq = seq + 1 if day == last_day else 1
            last_day = day
            rows.append(_present(rng, cal, plan, f"{agency.code}-{day}-{seq:04d}", as_of))
    rows.sort(key=lambda row: (row[0]["NgayCapNhat"], row[0]["MaHoSo"]))
    return Dataset(
        scenario=scenario, seed=seed, as_of=spec.as_of,
        agencies=[{"MaCoQuan": a.code, "TenCoQuan": a.name, "MaCoQuanCha": None}
                  for a in cat.AGENCIES],
        procedures=sorted([*(_procedure_row(cal, p) for ps in procs.values() for p in ps),
                           *_ministry_rows(cal)], key=lambda r: (r["NgayCapNhat"], r["MaTTHC"])),
        dossiers=[row[0] for row in rows], truth=[row[1] for row in rows],
        ratings=_ratings(rng, cal, spec, rows, as_of))


def _ministry_rows(cal: Calendar) -> list[dict[str, Any]]:
    updated = cal.fmt(cal.instant(cal.work_at(EPOCH)))
    return [{"MaTTHC": p.code, "TenTTHC": p.name, "MaLinhVuc": p.field_code,
             "TenLinhVuc": p.field_name, "MaCoQuan": p.agency_code, "ThoiHanGiaiQuyet": p.duration,
             "DonViThoiHan": "ngay", "MucDo": p.online_level, "LePhi": p.fee,
             "NgayCapNhat": updated} for p in MINISTRY_PROCEDURES]


def _procedure_row(cal: Calendar, p: _Procedure) -> dict[str, Any]:
    return {"MaTTHC": p.code, "TenTTHC": p.name, "MaLinhVuc": p.field_code,
            "TenLinhVuc": p.field_name, "MaCoQuan": p.agency.code, "ThoiHanGiaiQuyet": p.duration,
            "DonViThoiHan": p.unit, "MucDo": p.level, "LePhi": p.fee,
            "NgayCapNhat": cal.fmt(p.updated)}


def _ratings(rng: random.Random, cal: Calendar, spec: _Spec, rows: list[_Row], as_of: int
             ) -> list[dict[str, Any]]:
    """Satisfaction ratings of resolved dossiers: exact H1 counts where the scenario fixes them."""
    h1_low, h1_high, q4_low = ((d - EPOCH).days * 86400 for d in (H1_START, H1_END, Q4_START))
    in_h1 = [(t, row[0]) for row in rows if (t := row[2]) is not None and h1_low <= t < min(
        h1_high, as_of + 1)]
    before = [(t, row[0]) for row in rows if (t := row[2]) is not None and q4_low <= t < h1_low]
    if spec.h1_ratings:
        picked = rng.sample(in_h1, sum(spec.h1_ratings))
        levels = [str(level) for level, n in enumerate(spec.h1_ratings, 1) for _ in range(n)]
        rng.shuffle(levels)
    else:
        picked = [c for c in in_h1 if rng.random() < spec.rating_share]
        levels = rng.choices(("1", "2", "3"), weights=(75, 18, 7), k=len(picked))
    earlier = [c for c in before if rng.random() < spec.rating_share]
    picked += earlier
    levels += rng.choices(("1", "2", "3"), weights=(93, 6, 1), k=len(earlier))
    rated = sorted(zip(picked, levels, strict=True), key=lambda x: (x[0][0], x[0][1]["MaHoSo"]))
    return [{"MaDanhGia": f"DG-{cal.day_str[t // 86400][2:]}-{n:05d}", "MaHoSo": rec["MaHoSo"],
             "MaCoQuan": rec["DonViXuLy"], "MucDoHaiLong": level, "NgayDanhGia": cal.fmt(t)}
            for n, ((t, rec), level) in enumerate(rated, 1)]
