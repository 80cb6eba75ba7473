"""Rendering of report rows as a terminal table or as CSV rows, the header first (the xlsx
form is in lienthong.excel, the HTML page in lienthong.html_report)."""

from __future__ import annotations

import csv
import io
import unicodedata
from decimal import Decimal

from warehouse.reports import fees, overdue, scorecard
from warehouse.reports.phu_luc_01 import COLUMNS, PhuLuc01Report
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


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def text_table(header: list[str], rows: list[list[object]], right_from: int = 1) -> str:
    cells = [[_cell(c) for c in header]] + [[_cell(c) for c in r] for r in rows]
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


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[_cell(c) for c in r] for r in rows])
    return buf.getvalue()


def _shorten(s: str, width: int = 40) -> str:
    return s if len(s) <= width else s[: width - 1] + "…"


def _notes(notes: list[str]) -> str:
    return "".join(f"\nnote: {n}" for n in notes)


def _span(report) -> str:
    return f"{report.start.isoformat()} .. {report.end.isoformat()}"


def phu_luc_01_table(report: PhuLuc01Report, name_width: int = 40) -> str:
    header = [report.by, "name", *(_SHORT[c] for c in COLUMNS)]
    rows = [
        [r.code, _shorten(r.name, name_width), *r.values()] for r in [*report.rows, report.total]
    ]
    title = f"Phụ lục 01 — {_span(report)} (by {report.by})"
    return f"{title}\n{text_table(header, rows, right_from=2)}{_notes(report.notes)}"


def phu_luc_01_rows(report: PhuLuc01Report) -> tuple[list[str], list[list[object]]]:
    """The CSV header, whatever the grouping (a contract), and the rows."""
    return PHU_LUC_01_CSV_HEADER, [
        [r.code, r.name, *r.values()] for r in [*report.rows, report.total]
    ]


def phu_luc_01_csv(report: PhuLuc01Report) -> str:
    return csv_text(*phu_luc_01_rows(report))


# -- reports with rows, a total row and COLUMNS (Phụ lục 02 and 03, "4 tại chỗ") ------------------


def by_rows(report, columns: tuple[str, ...]) -> tuple[list[str], list[list[object]]]:
    header = [f"{report.by}_code", f"{report.by}_name", *columns]
    return header, [[r.code, r.name, *r.values()] for r in [*report.rows, report.total]]


def by_table(title: str, report, columns: tuple[str, ...]) -> str:
    header, rows = by_rows(report, columns)
    rows = [[r[0], _shorten(r[1]), *r[2:]] for r in rows]
    head = f"{title} — {_span(report)} (by {report.by})"
    return f"{head}\n{text_table(header, rows, right_from=2)}{_notes(report.notes)}"


# -- satisfaction --------------------------------------------------------------------------------


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
    lines = [f"Satisfaction — {_span(s)}: {t.total:,} ratings"]
    for level, label in LEVELS.items():
        lines.append(f"  {label:<15} {t.counts.get(level, 0):>8,}  {shares[level]:>6.2f}%")
    header, rows = satisfaction_rows(s)
    return "\n".join(lines) + "\n\n" + text_table(header, rows, right_from=2)


# -- overdue hot spots ---------------------------------------------------------------------------

_OVERDUE_HEADER = ["list", "code", "name", "agency", *overdue.HOT_COLUMNS, *overdue.QUIET_COLUMNS]


def overdue_rows(report: overdue.OverdueReport) -> tuple[list[str], list[list[object]]]:
    blank_hot = [""] * len(overdue.HOT_COLUMNS)
    rows: list[list[object]] = []
    for kind, spots in (("procedure", report.procedures), ("agency", report.agencies)):
        rows += [
            [kind, s.code, s.name, s.agency, *s.values(), *[""] * len(overdue.QUIET_COLUMNS)]
            for s in spots
        ]
    rows += [
        ["few_dossiers", q.code, q.name, q.name, *blank_hot, *q.values()] for q in report.quiet
    ]
    return _OVERDUE_HEADER, rows


def overdue_table(report: overdue.OverdueReport) -> str:
    parts = [f"Overdue hot spots — {_span(report)}"]
    for title, spots in (
        (f"procedures with the most late + overdue dossiers (top {report.top})", report.procedures),
        (f"agencies with the most late + overdue dossiers (top {report.top})", report.agencies),
    ):
        rows = [[s.code, _shorten(s.name), _shorten(s.agency, 24), *s.values()] for s in spots]
        header = ["code", "name", "agency", *overdue.HOT_COLUMNS]
        parts.append(f"\n{title}\n{text_table(header, rows, right_from=3)}")
    rows = [[q.code, _shorten(q.name), *q.values()] for q in report.quiet]
    header = ["code", "name", *overdue.QUIET_COLUMNS]
    parts.append(
        f"\nagencies that received at most {report.few} dossiers\n"
        f"{text_table(header, rows, right_from=2)}"
    )
    return "\n".join(parts) + _notes(report.notes)


# -- Decision 766 scorecard ----------------------------------------------------------------------


def scorecard_rows(card: scorecard.Scorecard) -> tuple[list[str], list[list[object]]]:
    header = ["agency_code", "agency_name"]
    for i in card.scored:
        header += [f"{i.key}_numerator", f"{i.key}_denominator", f"{i.key}_pct", f"{i.key}_points"]
    header += ["points", "max_points"]
    rows = []
    for r in [*card.rows, card.total]:
        row: list[object] = [r.code, r.name]
        for i in card.scored:
            s = r.scores[i.key]
            row += [s.numerator, s.denominator, s.percent, s.points]
        rows.append([*row, r.points, card.max_points(r)])
    return header, rows


def scorecard_table(card: scorecard.Scorecard) -> str:
    header = ["agency", "name", *(f"{i.key} %/pts" for i in card.scored), "points", "max"]
    rows = []
    for r in [*card.rows, card.total]:
        cells = [f"{_cell(s.percent) or '—'}/{_cell(s.points) or '—'}" for s in _scored(card, r)]
        rows.append([r.code, _shorten(r.name, 32), *cells, r.points, card.max_points(r)])
    v = card.version
    title = f"Decision 766 scorecard — {_span(card)} ({v.basis}, from {v.valid_from})"
    return f"{title}\n{text_table(header, rows, right_from=2)}{_notes(card.notes)}"


def _scored(card: scorecard.Scorecard, row: scorecard.ScoreRow) -> list[scorecard.Score]:
    return [row.scores[i.key] for i in card.scored]


# -- fees ----------------------------------------------------------------------------------------


def _money(value: int) -> str:
    return f"{value:,}"


def _fee_rows(rows: list[fees.FeeRow]) -> list[list[object]]:
    return [[r.code, r.name[:40], *(_money(v) for v in r.values())] for r in rows]


def fees_table(report: fees.FeesReport) -> str:
    title = f"Fees — {_span(report)} (by {report.by})"
    header = [report.by, "name", *fees.COLUMNS]
    parts = [title, text_table(header, _fee_rows([*report.rows, report.total]), 2)]
    if report.by != "fee-type":
        parts += [
            "",
            "By fee type",
            text_table(["fee-type", "name", *fees.COLUMNS], _fee_rows(report.by_fee_type), 2),
        ]
    parts += [
        "",
        f"Online payment: {report.paid_online:,} of {report.fee_bearing:,} fee-bearing dossiers "
        f"received in the period ({report.online_ratio:.2f}%)",
    ]
    return "\n".join(parts)


def fees_rows(report: fees.FeesReport) -> tuple[list[str], list[list[object]]]:
    header = ["code", "name", *fees.COLUMNS]
    return header, [[r.code, r.name, *r.values()] for r in [*report.rows, report.total]]
