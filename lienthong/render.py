"""Rendering of report rows as a terminal table or CSV (the xlsx form is in lienthong.excel)."""

from __future__ import annotations

import csv
import io
import unicodedata

from warehouse.reports.phu_luc_01 import COLUMNS, Report
from warehouse.reports.satisfaction import LEVELS, Satisfaction

# The CSV header of Phụ lục 01 is a contract with the staff's spreadsheets: keep it exact.
PHU_LUC_01_CSV_HEADER = ["agency_code", "agency_name", *COLUMNS]
_SHORT = {
    "received_total": "recv",
    "received_online": "online",
    "received_direct": "direct",
    "received_postal": "postal",
    "carried_over": "carried",
    "resolved_total": "resolved",
    "resolved_early": "early",
    "resolved_on_time": "on_time",
    "resolved_late": "late",
    "pending_total": "pending",
    "pending_within_due": "in_due",
    "pending_overdue": "overdue",
}


def _width(text: str) -> int:
    # Vietnamese text in NFC is one column per character; combining marks take none.
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def text_table(header: list[str], rows: list[list[object]], right_from: int = 1) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(_width(r[i]) for r in cells) for i in range(len(header))]
    out = []
    for n, row in enumerate(cells):
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            parts.append(pad + cell if i >= right_from else cell + pad)
        out.append("  ".join(parts).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def phu_luc_01_table(report: Report, name_width: int = 40) -> str:
    def name(s: str) -> str:
        return s if len(s) <= name_width else s[: name_width - 1] + "…"

    header = [report.by, "name", *(_SHORT[c] for c in COLUMNS)]
    rows = [[r.code, name(r.name), *r.values()] for r in [*report.rows, report.total]]
    title = f"Phụ lục 01 — {report.start.isoformat()} .. {report.end.isoformat()} (by {report.by})"
    notes = "".join(f"\nnote: {n}" for n in report.notes)
    return f"{title}\n{text_table(header, rows, right_from=2)}{notes}"


def phu_luc_01_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(PHU_LUC_01_CSV_HEADER)
    for r in [*report.rows, report.total]:
        writer.writerow([r.code, r.name, *r.values()])
    return buf.getvalue()


def satisfaction_rows(s: Satisfaction) -> tuple[list[str], list[list[object]]]:
    header = ["agency_code", "agency_name", "ratings"]
    for level in LEVELS:
        header += [f"level_{level}", f"level_{level}_pct"]
    rows = []
    for r in [*s.rows, s.total]:
        shares = r.shares()
        row: list[object] = [r.code, r.name, r.total]
        for level in LEVELS:
            row += [r.counts.get(level, 0), f"{shares[level]:.2f}"]
        rows.append(row)
    return header, rows


def satisfaction_table(s: Satisfaction) -> str:
    t = s.total
    shares = t.shares()
    lines = [f"Satisfaction — {s.start.isoformat()} .. {s.end.isoformat()}: {t.total:,} ratings"]
    for level, label in LEVELS.items():
        lines.append(f"  {label:<15} {t.counts.get(level, 0):>8,}  {shares[level]:>6.2f}%")
    header, rows = satisfaction_rows(s)
    return "\n".join(lines) + "\n\n" + text_table(header, rows, right_from=2)


def satisfaction_csv(s: Satisfaction) -> str:
    header, rows = satisfaction_rows(s)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()
