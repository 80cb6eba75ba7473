"""Writing an official form into an xlsx worksheet: the form's number, the title block (report,
period, reporting unit), merged header groups, the column-number row, the rows, the total row,
notes and the signature line — a sheet a staff member can send as it is."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from lienthong.excel.forms import Form, Table, cell_value

_FONT = "Times New Roman"  # the font of Vietnamese administrative documents
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_BOLD = Font(bold=True, name=_FONT, size=11)
_PLAIN = Font(name=_FONT, size=11)
_ITALIC = Font(italic=True, name=_FONT, size=11)
_TITLE = Font(bold=True, name=_FONT, size=13)


def save(forms: list[Form], path: Path) -> Path:
    """One sheet per form."""
    wb = Workbook()
    wb.remove(wb.active)
    for form in forms:
        write_form(wb.create_sheet(form.sheet[:31]), form)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_form(ws: Worksheet, form: Form) -> None:
    last = form.width
    ws.cell(row=1, column=max(1, last - 2), value=form.code or None).font = _ITALIC
    row = 2
    for n, text in enumerate(form.heading):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        cell = ws.cell(row=row, column=1, value=text)
        cell.font, cell.alignment = (_TITLE if n == 0 else _PLAIN), _CENTER
        row += 1
    row += 1
    freeze = None
    for table in form.tables:
        if table.caption:
            ws.cell(row=row, column=1, value=table.caption).font = _BOLD
            row += 1
        body = _write_table(ws, table, row)
        freeze = freeze or ws.cell(row=body, column=3)
        row = body + len(table.rows) + (1 if table.total else 0) + 1
    for line in form.summary:
        ws.cell(row=row, column=1, value=line).font = _BOLD
        row += 1
    row += 1
    for note in form.notes:
        ws.cell(row=row, column=2, value=f"Ghi chú: {note}").font = _ITALIC
        row += 1
    ws.cell(row=row + 1, column=2, value="NGƯỜI LẬP BIỂU").font = _BOLD
    ws.cell(row=row + 1, column=max(3, last - 3), value="THỦ TRƯỞNG ĐƠN VỊ").font = _BOLD
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = form.name_width
    for col in range(3, last + 1):
        ws.column_dimensions[get_column_letter(col)].width = 12
    if len(form.tables) == 1 and freeze is not None:
        ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _write_table(ws: Worksheet, table: Table, top: int) -> int:
    """Header, column numbers, rows and total from row `top`; returns the first body row."""
    width = table.width
    for c in table.header:
        if (c.row, c.col) != (c.last_row, c.last_col):
            ws.merge_cells(
                start_row=top + c.row,
                start_column=c.col,
                end_row=top + c.last_row,
                end_column=c.last_col,
            )
        cell = ws.cell(row=top + c.row, column=c.col, value=c.text)
        cell.font, cell.alignment = _BOLD, _CENTER
    for r in range(top, top + table.depth):
        # Spreadsheets do not grow a row for wrapped text in merged cells: give the room.
        ws.row_dimensions[r].height = 32
        for col in range(1, width + 1):
            ws.cell(row=r, column=col).border = _BOX
    row = top + table.depth
    if table.numbers:
        for col, text in enumerate(table.numbers, start=1):
            cell = ws.cell(row=row, column=col, value=text)
            cell.font, cell.alignment, cell.border = _ITALIC, _CENTER, _BOX
        row += 1
    body = row
    for values in table.rows:
        _boxed_row(ws, table, row, values, _PLAIN)
        row += 1
    if table.total:
        _boxed_row(ws, table, row, table.total, _BOLD)
    return body


def _boxed_row(ws: Worksheet, table: Table, row: int, values: list[object], font: Font) -> None:
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row=row, column=col, value=cell_value(value))
        cell.border, cell.font = _BOX, font
        if col in table.percent_cols:
            cell.number_format = "0.00"
        if col == 2:
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        else:
            cell.alignment = Alignment(horizontal="center" if col == 1 else "right")
