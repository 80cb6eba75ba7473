"""Decision 766/QĐ-TTg scorecard: the indicators computable from the warehouse, by agency.

Weights, thresholds and their validity dates are data (data/scorecard_766.toml); a period is scored
under the version in force on its last day (docs/domain.md, "Rules that change over time").
Measures, over the counted dossiers of the period (base.py):
- on_time: (resolved before or on the due date + pending within it) / dossiers handled (col 3);
- online_submission: received online / received in the period (cols 4 / 4 + 5);
- online_payment: paid online / received in the period with a fee;
- satisfaction: (handled − ratings "không hài lòng" given in the period − late and overdue) /
  handled, where late and overdue = Phụ lục 01 cols 10 + 13.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, and_, func, literal, select

from warehouse.reports import grouping
from warehouse.reports.base import Counting, count_if, counting, share
from warehouse.reports.phu_luc_01 import Row as P01Row
from warehouse.reports.phu_luc_01 import phu_luc_01_in
from warehouse.reports.satisfaction import UNSATISFIED, satisfaction_in

DATA_FILE = Path(__file__).parents[1] / "data" / "scorecard_766.toml"
MEASURES = ("on_time", "online_submission", "online_payment", "satisfaction")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    weight: Decimal


@dataclass(frozen=True)
class Indicator:
    key: str
    group: str
    name: str
    weight: Decimal
    full_at: Decimal  # a fraction: full marks at or above it, proportional below
    measure: str | None  # None: not computable from the warehouse


@dataclass(frozen=True)
class Version:
    valid_from: date
    basis: str
    groups: tuple[Group, ...]
    indicators: tuple[Indicator, ...]


def load_versions(path: Path = DATA_FILE) -> list[Version]:
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    versions = []
    for v in doc["version"]:
        groups = tuple(Group(g["key"], g["name"], Decimal(str(g["weight"]))) for g in v["group"])
        indicators = tuple(
            Indicator(
                i["key"],
                i["group"],
                i["name"],
                Decimal(str(i["weight"])),
                Decimal(str(i["full_at"])),
                i.get("measure"),
            )
            for i in v["indicator"]
        )
        _check(path.name, v["valid_from"], groups, indicators)
        versions.append(Version(v["valid_from"], v["basis"], groups, indicators))
    return sorted(versions, key=lambda v: v.valid_from)


def _check(name: str, since: date, groups: tuple[Group, ...], indicators: tuple[Indicator, ...]):
    where = f"{name} version {since}"
    if sum(g.weight for g in groups) != 100:
        raise ValueError(f"{where}: group weights do not add up to 100")
    weights = {g.key: g.weight for g in groups}
    for i in indicators:
        if i.group not in weights:
            raise ValueError(f"{where}: indicator {i.key} names an unknown group {i.group!r}")
        if i.measure is not None and i.measure not in MEASURES:
            raise ValueError(f"{where}: indicator {i.key}: unknown measure {i.measure!r}")
        if not 0 < i.full_at <= 1:
            raise ValueError(f"{where}: indicator {i.key}: full_at must be in (0, 1]")
    for key, weight in weights.items():
        if sum(i.weight for i in indicators if i.group == key) > weight:
            raise ValueError(f"{where}: indicators of group {key} weigh more than the group")


@cache
def versions() -> tuple[Version, ...]:
    return tuple(load_versions())


def version_for(on: date, available: tuple[Version, ...] | None = None) -> tuple[Version, bool]:
    """The version in force on a date, and whether any was: before the first, the first applies
    (so that an old period can still be compared) and the report says so."""
    available = available or versions()
    in_force = [v for v in available if v.valid_from <= on]
    return (in_force[-1], True) if in_force else (available[0], False)


@dataclass(frozen=True)
class Score:
    numerator: int
    denominator: int
    points: Decimal | None  # None when the denominator is zero: not applicable

    @property
    def percent(self) -> Decimal | None:
        return share(self.numerator, self.denominator) if self.denominator else None


@dataclass
class ScoreRow:
    code: str
    name: str
    scores: dict[str, Score]  # by indicator key

    @property
    def points(self) -> Decimal:
        return sum((s.points for s in self.scores.values() if s.points is not None), Decimal(0))


@dataclass
class Scorecard:
    start: date
    end: date
    version: Version
    rows: list[ScoreRow]
    total: ScoreRow
    notes: list[str] = field(default_factory=list)

    @property
    def scored(self) -> list[Indicator]:
        return [i for i in self.version.indicators if i.measure is not None]

    def max_points(self, row: ScoreRow) -> Decimal:
        """The points a row could reach on the indicators that apply to it."""
        applicable = [i for i in self.scored if row.scores[i.key].points is not None]
        return sum((i.weight for i in applicable), Decimal(0))


def score(indicator: Indicator, numerator: int, denominator: int) -> Score:
    if not denominator:
        return Score(numerator, denominator, None)
    ratio = Decimal(numerator) / Decimal(denominator)
    points = indicator.weight * min(Decimal(1), ratio / indicator.full_at)
    return Score(numerator, denominator, points.quantize(_CENT, ROUND_HALF_UP))


def scorecard(engine: Engine, start: date, end: date) -> Scorecard:
    with counting(engine, start, end) as report:
        return scorecard_in(report)


def scorecard_in(report: Counting) -> Scorecard:
    version, in_force = version_for(report.end)
    p01 = phu_luc_01_in(report, "agency")
    payments = _payments(report)
    unsatisfied = {r.code: r.counts.get(UNSATISFIED, 0) for r in satisfaction_in(report).rows}
    rows = [
        _row(version, r, payments.get(r.code, (0, 0)), unsatisfied.get(r.code, 0)) for r in p01.rows
    ]
    fee_total = tuple(sum(p[i] for p in payments.values()) for i in (0, 1))
    total = _row(version, p01.total, fee_total, sum(unsatisfied.values()))
    card = Scorecard(report.start, report.end, version, rows, total)
    if not in_force:
        card.notes.append(
            f"{version.basis} was not yet in force on {report.end:%d/%m/%Y}: "
            "the period is scored under its rules for comparison only"
        )
    unscored = [i.name for i in version.indicators if i.measure is None]
    if unscored:
        card.notes.append("not computable from the warehouse: " + "; ".join(unscored))
    return card


def _row(version: Version, p01: P01Row, fees: tuple[int, int], unsatisfied: int) -> ScoreRow:
    handled = p01.received_total
    received = p01.received_online + p01.received_direct + p01.received_postal
    satisfied = max(0, handled - unsatisfied - p01.late_total)
    fractions = {
        "on_time": (p01.on_time_total, handled),
        "online_submission": (p01.received_online, received),
        "online_payment": (fees[1], fees[0]),
        "satisfaction": (satisfied, handled),
    }
    scores = {
        i.key: score(i, *fractions[i.measure]) if i.measure else Score(0, 0, None)
        for i in version.indicators
    }
    return ScoreRow(p01.code, p01.name, scores)


def _payments(report: Counting) -> dict[str, tuple[int, int]]:
    """(fee-bearing, paid online) dossiers received in the period, by agency."""
    rules = report.rules
    c = rules.c.c
    fee = and_(rules.received_in_period, c.fee_amount > 0)
    query = (
        select(
            func.coalesce(c.agency_code, literal("")),
            count_if(fee),
            count_if(and_(fee, c.paid_online == 1)),
        )
        .select_from(rules.c)
        .group_by(c.agency_code)
    )
    return {
        grouping.label(code, None)[0]: (int(n), int(paid))
        for code, n, paid in report.conn.execute(query).all()
    }
