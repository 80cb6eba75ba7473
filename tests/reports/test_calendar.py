"""The working-day calendar: Tết 2019, 2025, 2026, swapped Saturdays, working hours, due dates."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.reports.factories import at
from warehouse.calendar import (
    OVERRIDES_FILE,
    Overrides,
    WorkingCalendar,
    load_overrides,
    working_calendar,
)

CAL = working_calendar()


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


@pytest.mark.parametrize(
    ("last_before", "first_off", "last_off", "first_after"),
    [
        # Tết Kỷ Hợi: Sat 02/02 – Sun 10/02/2019 (Thông báo 3238/TB-LĐTBXH).
        (date(2019, 2, 1), date(2019, 2, 2), date(2019, 2, 10), date(2019, 2, 11)),
        # Tết Ất Tỵ: Sat 25/01 – Sun 02/02/2025 (Công văn 8726/VPCP-KGVX).
        (date(2025, 1, 24), date(2025, 1, 25), date(2025, 2, 2), date(2025, 2, 3)),
        # Tết Bính Ngọ: Sat 14/02 – Sun 22/02/2026 (Công văn 9859/VPCP-KGVX).
        (date(2026, 2, 13), date(2026, 2, 14), date(2026, 2, 22), date(2026, 2, 23)),
    ],
)
def test_tet_breaks(last_before, first_off, last_off, first_after):
    assert CAL.is_working_day(last_before)
    assert not any(CAL.is_working_day(d) for d in days(first_off, last_off))
    assert CAL.is_working_day(first_after)


@pytest.mark.parametrize(
    ("day_off", "saturday_worked"),
    [
        (date(2018, 12, 31), date(2019, 1, 5)),  # across a year end
        (date(2019, 4, 29), date(2019, 5, 4)),
        (date(2025, 5, 2), date(2025, 4, 26)),
        (date(2026, 1, 2), date(2026, 1, 10)),  # only in the override file
        (date(2026, 8, 31), date(2026, 8, 22)),
    ],
)
def test_swapped_days(day_off, saturday_worked):
    assert day_off.weekday() < 5 and saturday_worked.weekday() == 5
    assert not CAL.is_working_day(day_off)
    assert CAL.is_working_day(saturday_worked)
    # The other Saturdays of that month stay off.
    others = [
        d
        for d in days(saturday_worked.replace(day=1), saturday_worked.replace(day=28))
        if d.weekday() == 5 and d != saturday_worked
    ]
    assert others and not any(CAL.is_working_day(d) for d in others)


def test_compensatory_days_and_fixed_holidays():
    assert not CAL.is_working_day(date(2019, 4, 15))  # Hùng Kings' day on Sunday 14/04/2019
    assert not CAL.is_working_day(date(2026, 4, 27))  # … on Sunday 26/04/2026
    assert not CAL.is_working_day(date(2019, 9, 2))
    assert CAL.is_working_day(date(2019, 9, 3))


def test_due_dates_skip_tet():
    # Received on the Friday before Tết 2019 with one working day: due the Monday after it.
    assert CAL.due_at(at("2019-02-01T15:00"), 1, "day") == at("2019-02-11T15:00")
    # 2025: two working days from Friday 24/01 08:00 — 7 hours that day, 8 on 03/02, 1 on 04/02.
    assert CAL.due_at(at("2025-01-24T08:00"), 2, "day") == at("2025-02-04T08:00")
    # 2026: five working days from Thursday 12/02 09:00 end on Thursday 26/02 09:00.
    assert CAL.due_at(at("2026-02-12T09:00"), 5, "day") == at("2026-02-26T09:00")


def test_due_dates_count_a_swapped_saturday():
    # Friday 04/01/2019 + 1 day: the next working day is Saturday 05/01/2019.
    assert CAL.due_at(at("2019-01-04T09:00"), 1, "day") == at("2019-01-05T09:00")
    # 8 working hours from Thursday 31/12/2025 16:00: 1 hour that day, then 01–04/01 are off
    # (01/01 holiday, 02/01 swapped, weekend), 7 hours on Monday 05/01.
    assert CAL.due_at(at("2025-12-31T16:00"), 8, "hour") == at("2026-01-05T16:00")
    # 4 hours from Friday 09/01/2026 16:00 end on Saturday 10/01 (worked) at 10:00.
    assert CAL.due_at(at("2026-01-09T16:00"), 4, "hour") == at("2026-01-10T10:00")


@pytest.mark.parametrize(
    ("received", "hours", "due"),
    [
        ("2019-03-04T17:30", 4, "2019-03-05T11:00"),  # after 17:00: from the next morning
        ("2019-03-04T17:00", 1, "2019-03-05T08:00"),  # at 17:00 nothing is left that day
        ("2019-03-04T06:15", 1, "2019-03-04T08:00"),  # before 07:00: from 07:00
        ("2019-03-04T12:00", 1, "2019-03-04T14:30"),  # at lunch: from 13:30
        ("2019-03-04T11:00", 1, "2019-03-04T14:00"),  # across the lunch break
        ("2019-03-08T16:30", 2, "2019-03-11T08:30"),  # Friday evening to Monday
        ("2019-03-09T10:00", 1, "2019-03-11T08:00"),  # received on a Saturday
    ],
)
def test_working_hours(received, hours, due):
    assert CAL.due_at(at(received), hours, "hour") == at(due)


def test_time_that_runs_out_at_17_ends_that_day():
    assert CAL.due_at(at("2019-03-04T07:00"), 1, "day") == at("2019-03-04T17:00")
    assert CAL.due_at(at("2019-03-04T07:00"), 0.5, "day") == at("2019-03-04T11:00")
    assert CAL.due_at(at("2019-03-04T07:00"), 4.5, "hour") == at("2019-03-04T11:30")
    assert CAL.due_at(at("2019-03-04T07:00"), 3, None) == at("2019-03-06T17:00")  # unit: days


def test_bad_durations_are_errors():
    with pytest.raises(ValueError, match="unit"):
        CAL.due_at(at("2019-03-04T07:00"), 1, "week")
    with pytest.raises(ValueError, match="negative"):
        CAL.due_at(at("2019-03-04T07:00"), -1, "day")


def test_working_day_helpers():
    assert CAL.add_working_days(date(2019, 2, 1), 1) == date(2019, 2, 11)
    assert CAL.add_working_days(date(2019, 2, 2), 0) == date(2019, 2, 11)
    assert CAL.next_working_day(date(2019, 1, 4)) == date(2019, 1, 5)
    assert len(list(CAL.working_days(date(2019, 2, 1), date(2019, 2, 28)))) == 15


def test_an_override_wins_over_the_package():
    cal = WorkingCalendar(Overrides(frozenset({date(2019, 3, 6)}), frozenset({date(2019, 2, 5)})))
    assert not cal.is_working_day(date(2019, 3, 6))  # a Wednesday made a day off
    assert cal.is_working_day(date(2019, 2, 5))  # mùng 1 Tết made a working day
    assert WorkingCalendar().is_working_day(date(2026, 1, 2))  # the package alone lacks 02/01


def test_every_override_line_names_its_legal_basis():
    lines = [
        line
        for line in OVERRIDES_FILE.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*\d{4}-\d{2}-\d{2},", line)
    ]
    assert len(lines) >= 30
    for line in lines:
        comment = line.partition("#")[2]
        assert re.search(r"Labour Code|VPCP|LĐTBXH|same (notice|document)", comment), line
    overrides = load_overrides()
    assert date(2026, 1, 10) in overrides.working_days
    assert date(2019, 2, 4) in overrides.days_off


def test_a_date_filed_under_the_wrong_year_is_refused(tmp_path):
    bad = tmp_path / "overrides.toml"
    bad.write_text("[2019]\ndays_off = [2020-01-01]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="filed under 2019"):
        load_overrides(bad)
    bad.write_text("[2019]\ndays_off = [2019-01-07]\nworking_days = [2019-01-07]\n")
    with pytest.raises(ValueError, match="both"):
        load_overrides(bad)
