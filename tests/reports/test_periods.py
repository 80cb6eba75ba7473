"""Reporting periods: named periods in the calendar and the cut-off conventions, from–to."""

from __future__ import annotations

from datetime import date

import pytest

from warehouse.reports.periods import Period, between, parse_period


@pytest.mark.parametrize(
    ("name", "start", "end", "label"),
    [
        ("2019", date(2019, 1, 1), date(2019, 12, 31), "năm 2019"),
        ("2019-H1", date(2019, 1, 1), date(2019, 6, 30), "6 tháng đầu năm 2019"),
        ("2019-H2", date(2019, 7, 1), date(2019, 12, 31), "6 tháng cuối năm 2019"),
        ("2019-9M", date(2019, 1, 1), date(2019, 9, 30), "9 tháng năm 2019"),
        ("2019-Q1", date(2019, 1, 1), date(2019, 3, 31), "quý I năm 2019"),
        ("2019-q4", date(2019, 10, 1), date(2019, 12, 31), "quý IV năm 2019"),
        ("2019-M02", date(2019, 2, 1), date(2019, 2, 28), "tháng 2 năm 2019"),
        ("2020-02", date(2020, 2, 1), date(2020, 2, 29), "tháng 2 năm 2020"),  # leap year
        ("2019-M12", date(2019, 12, 1), date(2019, 12, 31), "tháng 12 năm 2019"),
    ],
)
def test_calendar_periods(name, start, end, label):
    period = parse_period(name)
    assert (period.start, period.end, period.label, period.cutoff) == (start, end, label, False)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        # From the 15th of the month before the period to the 14th of its last month.
        ("2019", date(2018, 12, 15), date(2019, 12, 14)),
        ("2019-H1", date(2018, 12, 15), date(2019, 6, 14)),
        ("2019-H2", date(2019, 6, 15), date(2019, 12, 14)),
        ("2019-9M", date(2018, 12, 15), date(2019, 9, 14)),
        ("2019-Q2", date(2019, 3, 15), date(2019, 6, 14)),
        ("2019-M03", date(2019, 2, 15), date(2019, 3, 14)),
        ("2019-M01", date(2018, 12, 15), date(2019, 1, 14)),
    ],
)
def test_cutoff_periods(name, start, end):
    period = parse_period(name, cutoff=True)
    assert (period.start, period.end, period.cutoff) == (start, end, True)


def test_consecutive_cutoff_periods_neither_overlap_nor_leave_gaps():
    quarters = [parse_period(f"2019-Q{q}", cutoff=True) for q in range(1, 5)]
    for before, after in zip(quarters, quarters[1:], strict=False):
        assert (after.start - before.end).days == 1
    assert quarters[0].start == parse_period("2019", cutoff=True).start
    assert quarters[-1].end == parse_period("2019", cutoff=True).end


def test_titles_name_the_period_and_its_days():
    assert between(date(2019, 1, 1), date(2019, 6, 30)).title == (
        "Kỳ báo cáo: từ ngày 01/01/2019 đến ngày 30/06/2019"
    )
    assert parse_period("2019-H1").title == (
        "Kỳ báo cáo: 6 tháng đầu năm 2019 (từ ngày 01/01/2019 đến ngày 30/06/2019)"
    )
    assert "15/12/2018" in parse_period("2019-H1", cutoff=True).title


def test_months_of_a_period_are_clipped_to_it():
    months = Period(date(2018, 12, 15), date(2019, 3, 14)).months()
    assert [(m.start, m.end) for m in months] == [
        (date(2018, 12, 15), date(2018, 12, 31)),
        (date(2019, 1, 1), date(2019, 1, 31)),
        (date(2019, 2, 1), date(2019, 2, 28)),
        (date(2019, 3, 1), date(2019, 3, 14)),
    ]
    assert [m.label for m in months] == ["12/2018", "01/2019", "02/2019", "03/2019"]


@pytest.mark.parametrize("name", ["2019-H3", "2019-Q5", "2019-M13", "19-H1", "2019-10M", "H1"])
def test_bad_names_are_clear_errors(name):
    with pytest.raises(ValueError, match="not a"):
        parse_period(name)


def test_a_period_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="ends before it starts"):
        between(date(2019, 2, 1), date(2019, 1, 1))
