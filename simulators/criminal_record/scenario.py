"""Deterministic LLTP data sets: certificate requests of Lạng Sơn's Department of Justice whose
whole timelines are shown as of the scenario's clock, with the truth a test counts from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from simulators.criminal_record.people import certificate, requester
from simulators.ministry_catalogue import JUSTICE, procedures_of
from simulators.one_stop.scenario import (
    H1_END,
    H1_START,
    Q4_START,
    TZ,
    WORK_DAY,
    Calendar,
    DossierTruth,
)

# LLTP requests are numbered in the one-stop format of Sở Tư pháp, from a sequence range the
# one-stop stand-in never reaches for that agency (it numbers from 0001, < 300 a day).
FIRST_SEQUENCE = 5001
CLOCK = datetime(2019, 7, 1, tzinfo=TZ)  # the H1 2019 report is compiled on 1 July
SCENARIOS = {"langson-2019h1": 2000, "small": 150}  # requests received in H1 2019
CARRY_SHARE = 0.5  # Q4 2018 receipts relative to H1's
PURPOSES = (
    ("XV", 40),
    ("XKLD", 18),
    ("DH", 8),
    ("DC", 5),
    ("KD", 8),
    ("HN", 6),
    ("KN", 5),
    ("BT", 6),
    ("K", 4),
)
Event = tuple[int, str]  # (local seconds since EPOCH, status reached)


@dataclass
class Dataset:
    """One scenario's requests in wire form, as of its clock, with the truth behind them."""

    scenario: str
    seed: int
    as_of: datetime
    dossiers: list[dict[str, Any]]  # wire records ordered by (ngayCapNhat, maHoSoMCDT)
    truth: list[DossierTruth]  # truth[i] describes dossiers[i]
    malformed: dict[str | int, str] = field(default_factory=dict)  # key (or index) -> reason

    def with_malformed(self, rate: float, seed: int = 0) -> Dataset:
        """A copy with a fixed, seed-chosen share of records corrupted (personal data kept, so
        quarantine has something to redact)."""
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
            malformed[index if reason == "missing_key" else record["maHoSoMCDT"]] = reason
        return replace(self, dossiers=dossiers, truth=truth, malformed=malformed)


MALFORMATIONS = (
    "missing_key",
    "bad_date",
    "unknown_status",
    "unknown_certificate_type",
    "due_before_received",
    "unknown_channel",
)


def _corrupt(record: dict[str, Any], reason: str) -> str:
    received, due = record.get("ngayTiepNhan"), record.get("ngayHenTra")
    if reason == "due_before_received" and not (received and due):
        reason = "unknown_status"  # needs both dates
    if reason == "missing_key":
        del record["maHoSoMCDT"]
    elif reason == "bad_date":
        record["ngayTiepNhan" if received else "ngayNopHoSo"] = "31/02/2019 25:00:00"
    elif reason == "unknown_status":
        record["trangThaiXuLy"] = "42"
    elif reason == "unknown_certificate_type":
        record["loaiPhieu"] = "3"
    elif reason == "due_before_received":
        record["ngayHenTra"] = f"{received[:6]}{int(received[6:10]) - 1}{received[10:]}"
    else:
        record["hinhThucNop"] = "7"
    return reason


def _pick(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


class _Plan:
    """One request's whole timeline, before the clock hides its future."""

    __slots__ = ("procedure", "channel", "submitted", "due", "events", "form", "convicted")

    def __init__(self, procedure: Any, channel: int, submitted: int) -> None:
        self.procedure, self.channel, self.submitted = procedure, channel, submitted
        self.due: int | None = None
        self.events: list[Event] = []
        self.form = "1"
        self.convicted = False


def _plan(rng: random.Random, cal: Calendar, work: int) -> _Plan:
    """A request accepted (or refused) at working-time position ``work``, with its future."""
    at, r = cal.instant, rng.random
    citizen, agency = procedures_of("criminal_record")
    procedure = citizen if r() < 0.95 else agency
    if procedure is agency:  # agencies send their requests over the counter or by post
        channel = 1 if r() < 0.8 else 3
    else:
        share = r()
        channel = 1 if share < 0.55 else 2 if share < 0.95 else 3
    received = at(work)
    before = {1: (120, 1200), 2: (600, 2 * 86400), 3: (86400, 3 * 86400)}[channel]
    plan = _Plan(procedure, channel, received - rng.randint(*before))
    plan.form = "2" if (procedure is agency and r() < 0.7) or r() < 0.15 else "1"
    plan.convicted = r() < 0.04
    events = plan.events
    if channel == 2:
        events.append((plan.submitted, "1"))
    fate = r()
    if fate < 0.015:  # refused at intake: incomplete papers, wrong agency
        events.append((received, "3"))
        return plan
    due = work + procedure.duration * WORK_DAY
    plan.due = at(due)
    events.append((received, "2"))
    step = work + rng.randint(600, 3 * 3600)  # transferred to the LLTP database
    events.append((at(step), "4"))
    if fate < 0.025:  # withdrawn by the applicant (7) or stopped (8)
        events.append((at(step + rng.randint(600, 5 * WORK_DAY)), "7" if fate < 0.021 else "8"))
        return plan
    if fate < 0.04:  # supplement asked; one in five never comes back
        asked = step + rng.randint(1, 3) * WORK_DAY
        events.append((at(asked), "5"))
        if fate < 0.028:
            return plan
        step = asked + rng.randint(1, 4) * WORK_DAY
        events.append((at(step), "4"))
    late = r() < 0.08
    day = due // WORK_DAY + (rng.randint(1, 5) if late else -rng.randint(0, 4))
    issued = max(step + 1800, day * WORK_DAY + rng.randrange(WORK_DAY))
    events.append((at(issued), "9"))
    if r() < 0.9:  # most certificates are collected or posted within days
        events.append((at(issued + rng.randint(1800, 5 * WORK_DAY)), "10"))
    return plan


def _online_unaccepted(rng: random.Random, instant: int) -> _Plan:
    """An online request nobody has accepted yet (status 1) as of the clock."""
    citizen, _ = procedures_of("criminal_record")
    plan = _Plan(citizen, 2, instant)
    plan.events.append((instant, "1"))
    return plan


def _stamp(cal: Calendar, instant: int) -> str:
    """``dd/MM/yyyy HH:mm:ss``, the contract's instant format."""
    s = cal.fmt(instant)
    return f"{s[6:8]}/{s[4:6]}/{s[:4]} {s[8:10]}:{s[10:12]}:{s[12:14]}"


_Row = tuple[dict[str, Any], DossierTruth, int]  # wire record, truth, last-change instant


def _present(
    rng: random.Random, cal: Calendar, plan: _Plan, number: str, serial: int, as_of: int
) -> _Row:
    """The wire record and truth of ``plan`` as of the clock."""
    seen = [e for e in plan.events if e[0] <= as_of]
    firsts: dict[str, int] = {}
    for instant, status in seen:
        firsts.setdefault(status, instant)
    status = seen[-1][1]
    received = firsts.get("2")
    ended = firsts.get("9", firsts.get("10", firsts.get("7", firsts.get("8"))))
    issued_year = cal.local(plan.submitted).year
    person = requester(rng, issued_year)

    def stamp(instant: int | None) -> str | None:
        return None if instant is None else _stamp(cal, instant)

    result = None
    if "9" in firsts:
        result = certificate(
            rng,
            number=f"{serial:06d}/{issued_year % 100:02d}/STP-LLTP",
            issued=_stamp(cal, firsts["9"]),
            form=plan.form,
            serial=serial,
            convicted=plan.convicted,
        )
    record: dict[str, Any] = {
        "maHoSoMCDT": number,
        "maHoSoLLTP": f"LLTP-H22-{issued_year}-{serial:06d}",
        "maTTHC": plan.procedure.code,
        "hinhThucNop": str(plan.channel),
        "loaiPhieu": plan.form,
        "maMucDich": "CQ" if plan.procedure.fee == 0 else _pick(rng, PURPOSES),
        "soLuongCap": str(1 + (rng.random() < 0.2)),
        **person.fields,
        "ngayNopHoSo": stamp(plan.submitted),
        "ngayTiepNhan": stamp(received),
        "ngayHenTra": stamp(plan.due) if received is not None else None,
        "ngayTraKetQua": stamp(firsts.get("10")),
        "trangThaiXuLy": status,
        "ketQua": result,
        "ngayCapNhat": stamp(seen[-1][0]),
    }
    truth = DossierTruth(
        number,
        JUSTICE,
        plan.procedure.code,
        plan.channel,
        cal.local(received),
        cal.local(plan.due) if received is not None else None,
        cal.local(ended),
        int(status),
        cal.local(seen[-1][0]),
    )
    return record, truth, seen[-1][0]


def build_dataset(scenario: str = "small", seed: int = 2019) -> Dataset:
    """The named scenario's data set; the same scenario and seed give identical records."""
    try:
        h1 = SCENARIOS[scenario]
    except KeyError:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}") from None
    rng = random.Random(f"criminal_record:{scenario}:{seed}")  # noqa: S311 - test data
    cal = Calendar(date(2020, 1, 1))
    as_of = int((CLOCK - cal.origin).total_seconds())
    q4, start, mid, end = (
        round(h1 * CARRY_SHARE),
        cal.work_at(Q4_START),
        cal.work_at(H1_START),
        cal.work_at(H1_END),
    )
    plans = [
        _plan(rng, cal, rng.randrange(low, high))
        for count, low, high in ((q4, start, mid), (h1, mid, end))
        for _ in range(count)
    ]
    # A few online requests still waiting for the counter to accept them on the clock's day.
    plans += [
        _online_unaccepted(rng, as_of - rng.randint(600, 3 * 86400))
        for _ in range(max(1, h1 // 400))
    ]
    plans.sort(key=lambda p: p.submitted)
    rows: list[_Row] = []
    seq, last_day = 0, ""
    for serial, plan in enumerate(plans, 1):
        day = cal.day_str[plan.submitted // 86400][2:]
        seq = seq + 1 if day == last_day else FIRST_SEQUENCE
        last_day = day
        rows.append(_present(rng, cal, plan, f"{JUSTICE}-{day}-{seq:04d}", serial, as_of))
    rows.sort(key=lambda row: (row[2], row[0]["maHoSoMCDT"]))
    return Dataset(
        scenario=scenario,
        seed=seed,
        as_of=CLOCK,
        dossiers=[row[0] for row in rows],
        truth=[row[1] for row in rows],
    )
