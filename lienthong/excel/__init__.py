"""Official-form reports: each report's form as layout-neutral data (forms.py, official.py,
quality.py, fees.py), written as xlsx sheets (workbook.py) or HTML (lienthong/html_report.py)."""

from __future__ import annotations

from lienthong.excel.forms import Form, reporting_unit
from lienthong.excel.workbook import save

__all__ = ["Form", "reporting_unit", "save"]
