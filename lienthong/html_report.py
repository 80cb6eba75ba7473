"""The HTML report: one self-contained file (inline CSS and inline SVG charts, nothing fetched
from the network) with the official forms as tables, the on-time rate by agency and the monthly
trend of received / resolved / late-or-overdue dossiers. Opens offline in any browser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from lienthong.excel.forms import Form, Table, reporting_unit
from warehouse.reports.base import share
from warehouse.reports.periods import Period
from warehouse.reports.phu_luc_01 import PhuLuc01Report
from warehouse.reports.trend import Month

_CSS = """
body { font-family: "Times New Roman", "Liberation Serif", serif; margin: 24px; color: #1a1a1a;
       background: #ffffff; }
h1 { font-size: 20px; text-align: center; margin: 4px 0; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 2px solid #1f4e79; color: #1f4e79; }
.meta, .heading p { text-align: center; margin: 2px 0; }
.heading .title { font-weight: bold; font-size: 16px; }
.coverage { font-weight: bold; color: #b00000; }
.code { text-align: right; font-style: italic; }
table.form { border-collapse: collapse; margin: 10px 0 4px; font-size: 13px; width: 100%; }
table.form th, table.form td { border: 1px solid #555; padding: 3px 5px; }
table.form th { background: #dde6f0; text-align: center; vertical-align: middle; }
table.form tr.numbers td { font-style: italic; text-align: center; background: #f3f6fa; }
table.form td.num { text-align: right; white-space: nowrap; }
table.form td.stt { text-align: center; }
table.form tr.total td { font-weight: bold; background: #f7f2e0; }
.caption, .summary { font-weight: bold; margin-top: 14px; }
.notes { font-style: italic; font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { background: #fbfcfe; border: 1px solid #c9d3df; }
svg.chart text { font-family: "Liberation Sans", Arial, sans-serif; font-size: 12px; }
@media print { h2 { page-break-before: always; } .charts { display: block; } }
"""
_SERIES_COLOURS = ("#1f77b4", "#2ca02c", "#d62728")


@dataclass
class Section:
    heading: str
    forms: list[Form] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)  # inline SVG markup


def page(title: str, period: Period, sections: Sequence[Section], coverage: str = "") -> str:
    """The page; `coverage` is the line saying where the synced data ends, when it ends early."""
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(period.title)}</p>',
        *([f'<p class="meta coverage">{escape(coverage)}</p>'] if coverage else []),
        f'<p class="meta">Đơn vị báo cáo: {escape(reporting_unit())}</p>',
    ]
    for section in sections:
        body.append(f"<h2>{escape(section.heading)}</h2>")
        if section.charts:
            body.append('<div class="charts">' + "".join(section.charts) + "</div>")
        body += [form_html(f) for f in section.forms]
    return (
        '<!DOCTYPE html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def form_html(form: Form) -> str:
    out = [f'<section class="form" data-form="{escape(form.sheet)}">']
    if form.code:
        out.append(f'<p class="code">{escape(form.code)}</p>')
    out.append('<div class="heading">')
    out.append(f'<p class="title">{escape(form.title)}</p>')
    if form.subtitle:
        out.append(f"<p>{escape(form.subtitle)}</p>")
    out.append("</div>")
    for table in form.tables:
        if table.caption:
            out.append(f'<p class="caption">{escape(table.caption)}</p>')
        out.append(table_html(table, form.sheet))
    out += [f'<p class="summary">{escape(line)}</p>' for line in form.summary]
    if form.notes:
        out.append('<ul class="notes">')
        out += [f"<li>Ghi chú: {escape(n)}</li>" for n in form.notes]
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def table_html(table: Table, name: str = "") -> str:
    out = [f'<table class="form" data-form="{escape(name)}">', "<thead>"]
    for r in range(table.depth):
        out.append("<tr>")
        for c in sorted((c for c in table.header if c.row == r), key=lambda c: c.col):
            span = ""
            if c.last_row > c.row:
                span += f' rowspan="{c.last_row - c.row + 1}"'
            if c.last_col > c.col:
                span += f' colspan="{c.last_col - c.col + 1}"'
            out.append(f"<th{span}>{escape(c.text)}</th>")
        out.append("</tr>")
    if table.numbers:
        out.append('<tr class="numbers">' + "".join(f"<td>{escape(n)}</td>" for n in table.numbers))
        out.append("</tr>")
    out += ["</thead>", "<tbody>"]
    out += [_row_html(table, values, "") for values in table.rows]
    if table.total:
        out.append(_row_html(table, table.total, "total"))
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _row_html(table: Table, values: list[object], css: str) -> str:
    cells = []
    for col, value in enumerate(values, start=1):
        kind = "stt" if col == 1 else "name" if col == 2 else "num"
        if value is None:
            text = ""
        elif col in table.percent_cols and not isinstance(value, str):
            text = f"{float(str(value)):.2f}"
        else:
            text = str(value)
        cells.append(f'<td class="{kind}">{escape(text)}</td>')
    return f'<tr class="{css}">' + "".join(cells) + "</tr>"


# -- charts (inline SVG) -------------------------------------------------------------------------


def on_time_chart(report: PhuLuc01Report, threshold: float = 80.0) -> str:
    """On-time rate by agency: (resolved before / on the due date + pending within it) / handled."""
    items = [
        (r.name, float(share(r.on_time_total, r.received_total)))
        for r in report.rows
        if r.received_total
    ]
    return bar_chart(
        "on-time-by-agency",
        "Tỷ lệ hồ sơ đúng hạn theo đơn vị (%)",
        items,
        threshold=threshold,
    )


def bar_chart(
    key: str, title: str, items: list[tuple[str, float]], threshold: float | None = None
) -> str:
    label_w, bar_w, row_h, top = 330, 480, 22, 40
    width, height = label_w + bar_w + 70, top + row_h * max(len(items), 1) + 30
    out = [_svg_open(key, title, width, height)]
    out.append(f'<text x="10" y="22" font-weight="bold">{escape(title)}</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        w = bar_w * max(0.0, min(value, 100.0)) / 100
        colour = "#2ca02c" if threshold is None or value >= threshold else "#d62728"
        short = label if len(label) <= 48 else label[:47] + "…"
        out += [
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(short)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{colour}"><title>{escape(label)}: {value:.2f}%</title></rect>',
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{value:.2f}</text>',
        ]
    if threshold is not None:
        x = label_w + bar_w * threshold / 100
        bottom = top + row_h * len(items)
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#555" '
            f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{top - 8}">{threshold:g}%</text>'
        )
    out.append("</svg>")
    return "".join(out)


def trend_chart(months: list[Month]) -> str:
    """Monthly received / resolved / late-or-overdue dossiers as lines."""
    series = [
        ("Tiếp nhận", [m.received for m in months]),
        ("Đã giải quyết", [m.resolved for m in months]),
        ("Trễ hạn, quá hạn", [m.late_or_overdue for m in months]),
    ]
    return line_chart(
        "monthly-trend",
        "Xu hướng theo tháng: tiếp nhận, đã giải quyết, trễ hạn",
        [m.label for m in months],
        series,
    )


def line_chart(key: str, title: str, labels: list[str], series: list[tuple[str, list[int]]]) -> str:
    width, height, left, right, top, bottom = 880, 340, 60, 20, 50, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _, values in series for v in values] + [1])
    step = _nice_step(peak)
    ceiling = step * -(-peak // step)
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return top + plot_h * (1 - v / ceiling)

    out = [_svg_open(key, title, width, height)]
    out.append(f'<text x="10" y="22" font-weight="bold">{escape(title)}</text>')
    for tick in range(0, ceiling + 1, step):
        out.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
            f'stroke="#dde3ea"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    for i, label in enumerate(labels):
        out.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for (name, values), colour in zip(series, _SERIES_COLOURS, strict=False):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}"/>'
        )
        out += [
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
            f"<title>{escape(name)} {escape(labels[i])}: {v}</title></circle>"
            for i, v in enumerate(values)
        ]
    for k, ((name, _), colour) in enumerate(zip(series, _SERIES_COLOURS, strict=False)):
        lx = left + k * 200
        out.append(
            f'<rect x="{lx}" y="{height - 18}" width="14" height="10" fill="{colour}"/>'
            f'<text x="{lx + 20}" y="{height - 9}">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _nice_step(peak: int) -> int:
    """A round tick step giving about five grid lines."""
    raw = max(peak / 5, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _svg_open(key: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(key)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">'
    )
