"""Spreadsheet exports that cannot execute: every cell a person's text reaches is written as text.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel, WPS and
LibreOffice as a formula (=HYPERLINK("http://…","点我") in an address becomes a link; =cmd|… ran
programs through DDE). Every CSV and Excel export goes through this module: an .xlsx cell of text is
stored as a string with Excel's quote prefix (shown exactly as typed, never evaluated), a CSV cell
gets a leading apostrophe (OWASP's advice: CSV has no types)."""

from __future__ import annotations

import csv
import io
from io import BytesIO

import xlsxwriter

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def reads_as_formula(value) -> bool:
    """Whether a spreadsheet would take this value for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_cell(value):
    """The value as a CSV cell that cannot execute: '=HYPERLINK(…) for =HYPERLINK(…)."""
    return "'" + value if reads_as_formula(value) else value


def csv_text(rows) -> str:
    """Rows as CSV text, every cell through `csv_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


class Workbook:
    """An .xlsx workbook written sheet by sheet, row by row (XlsxWriter, in memory), in which no text
    is ever a formula or a link."""

    def __init__(self):
        self.out = BytesIO()
        options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        self.book = xlsxwriter.Workbook(self.out, options)
        self.as_text = self.book.add_format({"quote_prefix": True})
        self.sheet, self.row = None, 0

    # Number formats a cell may be given by name: a rate shown as 66.7%, a score or minutes as 66.7, a count.
    STYLES = {
        "percent": {"num_format": "0.0%"}, "decimal": {"num_format": "0.0"}, "count": {"num_format": "0"},
        "title": {"bold": True, "font_size": 14}, "header": {"bold": True, "bg_color": "#E3EFE8", "border": 1},
    }  # fmt: skip

    def _style(self, name: str | None):
        if name is None:
            return None
        if name not in self.styles:
            self.styles[name] = self.book.add_format(self.STYLES[name])
        return self.styles[name]

    def sheet_named(self, name: str, widths=()):
        """A new sheet; `widths` the width of its first columns, in characters."""
        self.sheet, self.row = self.book.add_worksheet(name), 0
        if not hasattr(self, "styles"):
            self.styles = {}
        for column, width in enumerate(widths):
            self.sheet.set_column(column, column, width)

    def freeze(self):
        """The rows written so far stay in view while the rest scrolls (a table's title and header)."""
        self.sheet.freeze_panes(self.row, 0)

    def append(self, values=(), styles=()):
        """One row; `styles` names each cell's style (STYLES), None for none, a single name for all."""
        styles = [styles] * len(values) if isinstance(styles, str) else list(styles)
        for column, value in enumerate(values):
            style = self._style(styles[column] if column < len(styles) else None)
            if isinstance(value, str):
                fmt = self.as_text if reads_as_formula(value) else style
                self.sheet.write_string(self.row, column, value, fmt)
            else:
                self.sheet.write(self.row, column, value, style)
        self.row += 1

    def close(self) -> BytesIO:
        self.book.close()
        self.out.seek(0)
        return self.out
