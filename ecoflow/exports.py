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

    def sheet_named(self, name: str):
        self.sheet, self.row = self.book.add_worksheet(name), 0

    def append(self, values=()):
        for column, value in enumerate(values):
            if isinstance(value, str):
                fmt = self.as_text if reads_as_formula(value) else None
                self.sheet.write_string(self.row, column, value, fmt)
            else:
                self.sheet.write(self.row, column, value)
        self.row += 1

    def close(self) -> BytesIO:
        self.book.close()
        self.out.seek(0)
        return self.out
