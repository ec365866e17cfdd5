"""Exports that cannot execute: a cell beginning with =, +, -, @, a tab or a carriage return is written
as text in every CSV and Excel export (the monthly report today)."""

import csv
import io
from datetime import timedelta
from io import BytesIO

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from ecoflow.exports import Workbook, csv_text
from ecoflow.officers.models import Unit

from .test_report import START, month_of_cases

HOSTILE = ['=HYPERLINK("http://evil.example/","点我")区某街1号', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
           "\t=1+1", "\r=1+1", "=1+1"]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE)
def test_a_workbook_cell_that_reads_as_a_formula_is_text_shown_as_typed(value):
    book = Workbook()
    book.sheet_named("表")
    book.append([value, "普通文字", 3, None])
    cell, plain, number = load_workbook(book.close())["表"]["A1":"C1"][0]
    # XlsxWriter stores a carriage return as the spec's escape, which Excel reads back and openpyxl does not.
    assert (cell.data_type, cell.value.replace("_x000D_", "\r")) == ("s", value)
    assert cell.quotePrefix  # Excel and WPS show it as text and never evaluate it
    assert (plain.value, plain.quotePrefix) == ("普通文字", False)
    assert (number.data_type, number.value) == ("n", 3)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_csv_cell_that_reads_as_a_formula_gets_an_apostrophe(value):
    [row] = list(csv.reader(io.StringIO(csv_text([[value, "普通文字", 3]]), newline="")))
    assert row == ["'" + value, "普通文字", "3"]


def test_the_monthly_report_writes_a_hostile_unit_name_as_text(api, db):
    month_of_cases(api)
    unit = db.session.scalar(select(Unit).where(Unit.code == "tongzhou"))
    unit.name = HOSTILE[0]
    db.session.commit()
    with time_machine.travel(START + timedelta(days=10), tick=False):
        response = api.get("/api/v1/assessment/report.xlsx", "bj-leader", query_string={"month": "2026-11"})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data))["按承办单位"]
    [cell] = [row[1] for row in sheet.iter_rows(min_row=2) if row[1].value == HOSTILE[0]]
    assert cell.data_type == "s" and cell.quotePrefix
    formulas = [c.coordinate for sheet in load_workbook(BytesIO(response.data)) for row in sheet.iter_rows()
                for c in row if c.data_type == "f"]  # fmt: skip
    assert formulas == []
