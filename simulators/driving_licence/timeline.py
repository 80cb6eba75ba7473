"""Whole timelines of GPLX dossiers in working time: intake, fee, processing, printing, hand-over,
and the ones refused, withdrawn, cancelled, late or still open (before any clock hides them)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from simulators.driving_licence import people
from simulators.ministry_catalogue import MinistryProcedure, procedures_of
from simulators.one_stop.scenario import WORK_DAY, Calendar

Q4_START, H1_START, H1_END = date(2018, 10, 1), date(2019, 1, 1), date(2019, 7, 1)
_PROCEDURE_WEIGHTS = {"1.002804": 70, "1.002835": 18, "1.001777": 12}
_CHANNELS = ((1, 72), (2, 22), (3, 6))  # direct, online, postal
Event = tuple[int, str]  # (local seconds since the calendar's epoch, MaTrangThai reached)


@dataclass(frozen=True)
class Spec:
    """A scenario's volumes."""

    h1: int  # dossiers accepted in H1 2019
    q4: int  # accepted in Q4 2018 (some still open in 2019)


class Plan:
    """One dossier's whole timeline, before the clock hides its future."""

    __slots__ = ("proc", "channel", "submitted", "due", "events", "by_post", "paid_online")

    def __init__(self, proc: MinistryProcedure, channel: int, submitted: int) -> None:
        self.proc, self.channel, self.submitted = proc, channel, submitted
        self.due: int | None = None
        self.events: list[Event] = []
        self.by_post = self.paid_online = False


def _ready_at(rng: random.Random, start: int, due: int) -> int:
    """When the licence is printed relative to the due *date*: before, on, or after it."""
    day, share = due // WORK_DAY, rng.random()
    if share < 0.7 and day * WORK_DAY - 1 > start + 600:
        return rng.randint(start + 600, day * WORK_DAY - 1)
    low = max(start + 600, day * WORK_DAY)
    if share < 0.93 and low < (day + 1) * WORK_DAY:
        return rng.randint(low, (day + 1) * WORK_DAY - 1)
    late = day + rng.randint(1, 6)
    return rng.randint(late * WORK_DAY, (late + 1) * WORK_DAY - 1)


def _accepted(
    rng: random.Random, cal: Calendar, proc: MinistryProcedure, channel: int, work: int
) -> Plan:
    """A dossier accepted at working-time position ``work``, with the rest of its life."""
    at, r = cal.instant, rng.random
    received = at(work)
    lead = {1: (120, 900), 2: (600, 2 * 86400), 3: (60, 1800)}[channel]
    plan = Plan(proc, channel, received - rng.randint(*lead))
    due = work + proc.duration * WORK_DAY
    plan.due = at(due)
    plan.by_post = r() < {1: 0.05, 2: 0.15, 3: 0.8}[channel]
    plan.paid_online = channel == 2 and r() < 0.4
    events = plan.events
    if channel == 2:
        events.append((plan.submitted, "0"))
    events.append((received, "1"))
    step = work + rng.randint(300, 3600)
    if channel == 2 and not plan.paid_online:  # an online application waits for the fee
        events.append((at(step), "4"))
        step += rng.randint(WORK_DAY // 4, 2 * WORK_DAY)
    events.append((at(step), "2"))
    end = _ready_at(rng, step, due)
    if r() < 0.03 and end - step > 1200:  # documents missing: processing waits for them
        asked = rng.randint(step + 300, end - 300)
        events.append((at(asked), "3"))
        if r() < 0.15:
            return plan  # the applicant never came back
        pause = rng.randint(1, 8) * WORK_DAY
        step, end = asked + pause, end + pause
        events.append((at(step), "2"))
    fate = r()
    if fate < 0.025:  # withdrawn (8) or cancelled (9) before the end
        events.append(
            (at(rng.randint(step + 60, max(step + 61, end))), "8" if fate < 0.015 else "9")
        )
        return plan
    if r() < 0.03:  # handed over at the counter the moment it was printed
        events.append((at(end), "6"))
        return plan
    events.append((at(end), "5"))
    if r() >= 0.02:  # a few licences are never collected
        wait = (
            rng.randint(WORK_DAY, 3 * WORK_DAY) if plan.by_post else rng.randint(600, 8 * WORK_DAY)
        )
        events.append((at(end + wait), "6"))
    return plan


def _refused(rng: random.Random, cal: Calendar, proc: MinistryProcedure, work: int) -> Plan:
    """Refused at intake at ``work`` (status 7), after an online application or at the counter."""
    online = rng.random() < 0.5
    refused = cal.instant(work)
    plan = Plan(
        proc,
        2 if online else 1,
        refused - (rng.randint(600, 2 * 86400) if online else rng.randint(120, 900)),
    )
    if online:
        plan.events.append((plan.submitted, "0"))
    plan.events.append((refused, "7"))
    return plan


def _waiting(proc: MinistryProcedure, submitted: int) -> Plan:
    """An online application nobody has accepted yet (status 0)."""
    plan = Plan(proc, 2, submitted)
    plan.events.append((submitted, "0"))
    return plan


def plans(rng: random.Random, cal: Calendar, spec: Spec, as_of: int) -> list[Plan]:
    """A scenario's timelines: accepted in Q4 2018 and H1 2019, refused at intake, and online
    applications still waiting for intake at the clock (``as_of``)."""
    procs = procedures_of("driving_licence")
    weights = [_PROCEDURE_WEIGHTS.get(p.code, 10) for p in procs]
    start, mid, end = (cal.work_at(d) for d in (Q4_START, H1_START, H1_END))
    result: list[Plan] = []
    for count, low, high in ((spec.q4, start, mid), (spec.h1, mid, end)):
        for proc in rng.choices(procs, weights=weights, k=count):
            channel = people.pick(rng, _CHANNELS)
            result.append(_accepted(rng, cal, proc, channel, rng.randrange(low, high)))
    total = spec.q4 + spec.h1
    for _ in range(max(1, round(0.015 * total))):
        result.append(_refused(rng, cal, rng.choices(procs, weights)[0], rng.randrange(start, end)))
    for _ in range(max(1, round(0.003 * spec.h1))):
        submitted = rng.randrange(as_of - 3 * 86400, as_of)
        result.append(_waiting(rng.choices(procs, weights)[0], submitted))
    return result
