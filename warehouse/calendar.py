"""Working-day calendar and due dates: Vietnam's holidays plus yearly overrides, working hours.

The calendar is data, not rules (docs/domain.md, "Due dates and working days"): the `holidays`
package's Vietnam calendar, plus `data/holiday_overrides.toml` for what the Prime Minister decides
each year (Tết days, swapped days, Saturdays worked). Working hours are those of public one-stop
software: 07:00–11:30 and 13:30–17:00, eight hours a day; a receipt outside them counts from the
next working moment, so one received after 17:00 counts from the next working morning.

Used at report time: the warehouse keeps the source's due date as the source gave it, and a report
computes one only for a dossier whose sources gave none (warehouse/reports/due_dates.py).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import holidays

from connectors.base import LOCAL_TZ  # the one local zone, where every layer can import it

OVERRIDES_FILE = Path(__file__).parent / "data" / "holiday_overrides.toml"
# (start, end) of each working period of a day, in seconds after midnight.
WORK_PERIODS = ((7 * 3600, 11 * 3600 + 1800), (13 * 3600 + 1800, 17 * 3600))
WORK_DAY_SECONDS = sum(end - start for start, end in WORK_PERIODS)  # 8 hours
DURATION_UNITS = {"day": WORK_DAY_SECONDS, "hour": 3600}


@dataclass(frozen=True)
class Overrides:
    """The yearly decisions the holidays package does not (reliably) know."""

    days_off: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()  # wins over weekends and holidays


def load_overrides(path: Path = OVERRIDES_FILE) -> Overrides:
    with path.open("rb") as fh:
        doc = tomllib.load(fh)
    off: set[date] = set()
    worked: set[date] = set()
    for year, entry in doc.items():
        for key, target in (("days_off", off), ("working_days", worked)):
            for day in entry.get(key, []):
                if not isinstance(day, date) or isinstance(day, datetime):
                    raise ValueError(f"{path.name} [{year}] {key}: not a date: {day!r}")
                if str(day.year) != year:
                    raise ValueError(f"{path.name} [{year}] {key}: {day} is filed under {year}")
                target.add(day)
        unknown = set(entry) - {"days_off", "working_days"}
        if unknown:
            raise ValueError(f"{path.name} [{year}]: unknown keys {sorted(unknown)}")
    if clash := off & worked:
        raise ValueError(f"{path.name}: both a day off and a working day: {sorted(clash)}")
    return Overrides(frozenset(off), frozenset(worked))


class WorkingCalendar:
    """Which days are working days, and working-time arithmetic over local date-times."""

    def __init__(self, overrides: Overrides = Overrides()) -> None:
        self.overrides = overrides
        self._loaded: set[int] = set()
        self._holidays: set[date] = set()
        self._weekend_workdays: set[date] = set()

    def _load(self, year: int) -> None:
        if year in self._loaded:
            return
        # A swap may cross a year end (31/12/2018 for Saturday 05/01/2019): load the neighbours.
        years = [y for y in (year - 1, year, year + 1) if y not in self._loaded]
        country = holidays.Vietnam(years=years)
        self._holidays.update(country.keys())
        self._weekend_workdays.update(country.weekend_workdays)
        self._loaded.update(years)

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides.working_days:
            return True
        if day in self.overrides.days_off:
            return False
        self._load(day.year)
        if day in self._weekend_workdays:
            return True
        return day.weekday() < 5 and day not in self._holidays

    def working_days(self, start: date, end: date) -> Iterable[date]:
        """Working days from start to end, both included."""
        day = start
        while day <= end:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (n ≥ 0; n = 0 gives `day` or the next working day)."""
        if n < 0:
            raise ValueError("n must not be negative")
        if n == 0:
            return day if self.is_working_day(day) else self.next_working_day(day)
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def work_start(self, instant: datetime) -> datetime:
        """The first working moment at or after `instant` (local time, aware)."""
        local = _local(instant)
        day, second = local.date(), _seconds(local)
        if self.is_working_day(day):
            for start, end in WORK_PERIODS:
                if second < end:
                    return _at(day, max(second, start))
        return _at(self.next_working_day(day), WORK_PERIODS[0][0])

    def add_working_seconds(self, instant: datetime, seconds: float) -> datetime:
        """`instant` moved forward by `seconds` of working time.

        Time that runs out exactly at the end of a working period ends there (17:00), not at the
        next period's start: "within one working day" of 07:00 Monday is 17:00 Monday.
        """
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        current = self.work_start(instant)
        day, second = current.date(), float(_seconds(current))
        left = float(seconds)
        while True:
            for start, end in WORK_PERIODS:
                if second >= end:
                    continue
                second = max(second, start)
                if left <= end - second:
                    return _at(day, second + left)
                left -= end - second
                second = end
            day, second = self.next_working_day(day), 0.0

    def due_at(self, received_at: datetime, duration: float, unit: str | None) -> datetime:
        """The due time of a dossier received at `received_at` with a legal duration.

        Durations are in working days (eight working hours each) or working hours; a missing unit
        means days, the unit of almost every procedure in the national procedure database.
        """
        per_unit = DURATION_UNITS.get(unit or "day")
        if per_unit is None:
            raise ValueError(f"unknown duration unit {unit!r}")
        if duration < 0:
            raise ValueError("a legal duration cannot be negative")
        return self.add_working_seconds(received_at, duration * per_unit)


@cache
def working_calendar() -> WorkingCalendar:
    """The calendar with the project's override file (loaded once per process)."""
    return WorkingCalendar(load_overrides())


def _local(instant: datetime) -> datetime:
    if instant.tzinfo is None:  # a naive time is local time, as everywhere in the project
        return instant.replace(tzinfo=LOCAL_TZ)
    return instant.astimezone(LOCAL_TZ)


def _seconds(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _at(day: date, second: float) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ) + timedelta(seconds=second)
