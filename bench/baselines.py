"""The baseline the Excel export is measured against (DESIGN.md §12): the same rows and cell
types written by xlsxwriter in constant_memory mode. Used by `manage.py bench` and
`manage.py bench_export`; xlsxwriter is a benchmark dependency, not the product's writer."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from typing import IO

from exports.columns import ColumnType, ResolvedColumn
from msp_portal.dates import TOKYO


def xlsxwriter_constant_memory(rows: Iterable[tuple], columns: Sequence[ResolvedColumn], target: IO[bytes]) -> int:
    """Write `rows` into `target` as xlsxwriter would, with the formats openpyxl gives dates and
    times; return the number of data rows."""
    import xlsxwriter

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as scratch:
        workbook = xlsxwriter.Workbook(scratch.name, {"constant_memory": True})
        sheet = workbook.add_worksheet("bench")
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
        datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})
        sheet.write_row(0, 0, [column.header for column in columns])
        kinds = [column.type for column in columns]
        labels = [column.labels for column in columns]
        written = 0
        for written, row in enumerate(rows, 1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if labels[col] is not None:
                    sheet.write_string(written, col, labels[col].get(value, str(value)))
                elif kinds[col] == ColumnType.INT:
                    sheet.write_number(written, col, value)
                elif kinds[col] == ColumnType.DATE:
                    sheet.write_datetime(written, col, value, date_format)
                elif kinds[col] == ColumnType.DATETIME:
                    sheet.write_datetime(written, col, value.astimezone(TOKYO).replace(tzinfo=None), datetime_format)
                else:
                    sheet.write_string(written, col, value)
        workbook.close()
        with open(scratch.name, "rb") as source:
            shutil.copyfileobj(source, target)
    return written
