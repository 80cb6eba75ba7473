"""Phụ lục 02: online public services (dịch vụ công trực tuyến) — procedures offered online,
online dossiers by level, their results, and online payment.

Columns (the column numbers of the form):
- (3) = (4) + (5): procedures in the catalogue offered online, partly (4) or fully (5);
- (6): dossiers received in the period, every channel (the base of the online share);
- (7) = (8) + (9): of which submitted online (channel 2), by the level of their procedure;
- (10) = (7) / (6), percent;
- (11): online dossiers resolved in the period (Phụ lục 01's col 7 over online dossiers),
  (12) of which before or on the due date;
- (13): dossiers received in the period with a fee, (14) of which paid online, (15) = (14)/(13).

Online levels (docs/domain.md): since Decree 42/2022 (15/8/2022) "một phần" / "toàn trình"; before,
"mức độ 3" / "mức độ 4" (3 ≈ một phần, 4 ≈ toàn trình, approximate). The catalogue holds each
procedure's current level (level_2/level_3/level_4/partial/full): a report names the columns
after the levels in force on its last day. An online dossier of a procedure the catalogue does not
list as fully online is counted as partly online — it was submitted online, so it is at least that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, and_, func, literal, select

from mappings.codes import UnknownCode, name_of
from warehouse import schema
from warehouse.reports import grouping
from warehouse.reports.base import Counting, Rules, count_if, counting, share

FULL_LEVELS = ("full", "level_4")
PARTIAL_LEVELS = ("partial", "level_3")
COUNTS = (
    "procedures_partial",
    "procedures_full",
    "received",
    "online_partial",
    "online_full",
    "online_resolved",
    "online_resolved_on_time",
    "fee_bearing",
    "paid_online",
)
COLUMNS = (
    "procedures_online",
    "procedures_partial",
    "procedures_full",
    "received",
    "online_total",
    "online_partial",
    "online_full",
    "online_share",
    "online_resolved",
    "online_resolved_on_time",
    "fee_bearing",
    "paid_online",
    "paid_online_share",
)


@dataclass
class Row:
    code: str
    name: str
    procedures_partial: int = 0  # col 4
    procedures_full: int = 0  # col 5
    received: int = 0  # col 6
    online_partial: int = 0  # col 8
    online_full: int = 0  # col 9
    online_resolved: int = 0  # col 11
    online_resolved_on_time: int = 0  # col 12
    fee_bearing: int = 0  # col 13
    paid_online: int = 0  # col 14

    @property
    def procedures_online(self) -> int:  # col 3
        return self.procedures_partial + self.procedures_full

    @property
    def online_total(self) -> int:  # col 7
        return self.online_partial + self.online_full

    @property
    def online_share(self) -> Decimal:  # col 10
        return share(self.online_total, self.received)

    @property
    def paid_online_share(self) -> Decimal:  # col 15
        return share(self.paid_online, self.fee_bearing)

    def values(self) -> list[int | Decimal]:
        return [getattr(self, c) for c in COLUMNS]


@dataclass
class PhuLuc02Report:
    start: date
    end: date
    by: str
    rows: list[Row]
    total: Row
    level_labels: tuple[str, str]  # (partly online, fully online) as named on the last day
    notes: list[str] = field(default_factory=list)


def level_labels(on: date) -> tuple[str, str]:
    """Names of the partly / fully online levels in force on a date (national code list)."""
    try:
        return name_of("online_level", "partial", on), name_of("online_level", "full", on)
    except UnknownCode:  # before Decree 42/2022: levels 3 and 4
        return name_of("online_level", "level_3", on), name_of("online_level", "level_4", on)


def phu_luc_02(engine: Engine, start: date, end: date, by: str = "agency") -> PhuLuc02Report:
    grouping.check(by)
    with counting(engine, start, end) as report:
        return phu_luc_02_in(report, by)


def phu_luc_02_in(report: Counting, by: str = "agency") -> PhuLuc02Report:
    grouping.check(by)
    rows: dict[str, Row] = {}

    def row(code: str | None, name: str | None) -> Row:
        code, name = grouping.label(code, name)
        return rows.setdefault(code, Row(code, name))

    for code, name, partial, full in _catalogue_counts(report, by):
        if partial or full:
            target = row(code, name)
            target.procedures_partial, target.procedures_full = partial, full
    unlisted = 0
    for r in _dossier_counts(report, by):
        target = row(r["code"], r["name"])
        for n in COUNTS[2:]:
            setattr(target, n, int(r[n]))
        unlisted += int(r["unlisted_online"])

    ordered = [rows[k] for k in sorted(rows)]
    total = Row("TOTAL", "Tổng cộng")
    for n in COUNTS:
        setattr(total, n, sum(getattr(r, n) for r in ordered))
    result = PhuLuc02Report(report.start, report.end, by, ordered, total, level_labels(report.end))
    if unlisted:
        result.notes.append(
            f"{unlisted} online dossiers name a procedure the catalogue does not list at an online "
            "level: counted as partly online"
        )
    result.notes += _level_era_notes(report, result.level_labels)
    return result


def _catalogue_counts(report: Counting, by: str) -> list[tuple[str | None, str | None, int, int]]:
    """(key, name, procedures partly online, procedures fully online) from the catalogue."""
    catalogue = grouping.of_procedures(by)
    level = schema.procedures.c.online_level
    query = (
        select(
            catalogue.key,
            catalogue.name,
            count_if(level.in_(PARTIAL_LEVELS)),
            count_if(level.in_(FULL_LEVELS)),
        )
        .select_from(catalogue.from_)
        .group_by(catalogue.key)
    )
    return [(k, n, int(a), int(b)) for k, n, a, b in report.conn.execute(query).all()]


def _dossier_counts(report: Counting, by: str) -> list:
    """Columns (6), (8), (9), (11)–(14) by key, and the online dossiers of unlisted levels."""
    c, p = report.rules.c, schema.procedures
    leveled = (
        select(*c.c, p.c.online_level)
        .select_from(c.outerjoin(p, p.c.code == c.c.procedure_code))
        .cte("leveled")
    )
    rules = Rules(leveled, report.start, report.end)
    online = leveled.c.channel == 2
    dossier_level = func.coalesce(leveled.c.online_level, "")  # NULL would escape NOT IN
    full = dossier_level.in_(FULL_LEVELS)
    new = rules.received_in_period
    with_fee = and_(new, leveled.c.fee_amount > 0)
    measures = {
        "received": count_if(new),
        "online_partial": count_if(and_(new, online, ~full)),
        "online_full": count_if(and_(new, online, full)),
        "online_resolved": count_if(and_(rules.resolved, online)),
        "online_resolved_on_time": count_if(
            and_(online, rules.resolved_early | rules.resolved_on_time)
        ),
        "fee_bearing": count_if(with_fee),
        "paid_online": count_if(and_(with_fee, leveled.c.paid_online == 1)),
        # Online dossiers whose procedure is listed below level 3 or not at all: counted as
        # partly online, and said so.
        "unlisted_online": count_if(
            and_(new, online, dossier_level.not_in(FULL_LEVELS + PARTIAL_LEVELS))
        ),
    }
    group = grouping.of_dossiers(by, leveled)
    query = (
        select(
            func.coalesce(group.key, literal("")).label("code"),
            group.name.label("name"),
            *(m.label(n) for n, m in measures.items()),
        )
        .select_from(group.from_)
        .group_by(group.key)
    )
    return report.conn.execute(query).mappings().all()


def _level_era_notes(report: Counting, labels: tuple[str, str]) -> list[str]:
    """Say when the catalogue's levels belong to the other naming era than the period's."""
    p = schema.procedures
    levels = set(report.conn.execute(select(p.c.online_level).distinct()).scalars().all()) - {None}
    old_period = labels[1] == name_of("online_level", "level_4", report.end)
    other = {"partial", "full"} if old_period else {"level_3", "level_4"}
    if levels & other:
        return [
            "online levels are the catalogue's current ones; levels 3 and 4 are shown as "
            "một phần and toàn trình (and back) approximately"
        ]
    return []
