"""Official-form xlsx reports: Vietnamese headers, merged group cells, the column-number row,
agency rows and a total row, the period and the reporting unit in the title."""

from __future__ import annotations

from pathlib import Path

from lienthong.excel.forms import Form, reporting_unit
from lienthong.excel.official import phu_luc_01_form, phu_luc_02_form, phu_luc_03_form
from lienthong.excel.quality import (
    on_the_spot_form,
    overdue_form,
    satisfaction_form,
    scorecard_form,
)
from lienthong.excel.workbook import save
from warehouse.reports.on_the_spot import Report as OnTheSpot
from warehouse.reports.overdue import Report as Overdue
from warehouse.reports.periods import Period
from warehouse.reports.phu_luc_01 import Report as PhuLuc01
from warehouse.reports.phu_luc_02 import Report as PhuLuc02
from warehouse.reports.phu_luc_03 import Report as PhuLuc03
from warehouse.reports.satisfaction import Satisfaction
from warehouse.reports.scorecard import Scorecard

__all__ = [
    "Form",
    "on_the_spot_xlsx",
    "overdue_xlsx",
    "phu_luc_01_xlsx",
    "phu_luc_02_xlsx",
    "phu_luc_03_xlsx",
    "reporting_unit",
    "satisfaction_xlsx",
    "save",
    "scorecard_xlsx",
]


def phu_luc_01_xlsx(report: PhuLuc01, path: Path, period: Period | None = None) -> Path:
    return save([phu_luc_01_form(report, period)], path)


def phu_luc_02_xlsx(report: PhuLuc02, path: Path, period: Period | None = None) -> Path:
    return save([phu_luc_02_form(report, period)], path)


def phu_luc_03_xlsx(report: PhuLuc03, path: Path, period: Period | None = None) -> Path:
    return save([phu_luc_03_form(report, period)], path)


def satisfaction_xlsx(s: Satisfaction, path: Path, period: Period | None = None) -> Path:
    return save([satisfaction_form(s, period)], path)


def on_the_spot_xlsx(report: OnTheSpot, path: Path, period: Period | None = None) -> Path:
    return save([on_the_spot_form(report, period)], path)


def overdue_xlsx(report: Overdue, path: Path, period: Period | None = None) -> Path:
    return save([overdue_form(report, period)], path)


def scorecard_xlsx(card: Scorecard, path: Path, period: Period | None = None) -> Path:
    return save([scorecard_form(card, period)], path)
