"""Excel (.xlsx) written with openpyxl's write-only mode: each row goes to a temporary sheet
file as it is appended (constant memory with lxml installed, which requirements.txt pins),
and the workbook is zipped together at the end.

Numbers are written as numbers, dates and times as Excel dates (Asia/Tokyo wall-clock time,
Excel has no time zones), text as inline strings. Text that a spreadsheet would read as a
formula is stored as a string cell with Excel's "quote prefix" flag: it shows exactly as
written and stays text when the cell is edited. A sheet holds at most Excel's 1,048,576 rows;
a longer export continues on a new sheet with the header repeated.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from msp_portal.dates import TOKYO
from msp_portal.spreadsheets import looks_like_formula

from .columns import ColumnType, ResolvedColumn

# Excel's limit is 1,048,576 rows per sheet, the header included.
EXCEL_MAX_ROWS = 1_048_576
SHEET_TITLE_MAX = 31
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill(fill_type="solid", start_color="FFE9ECEF", end_color="FFE9ECEF")
HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)

ProgressCallback = Callable[[int], None]

# The sheet XML is deflated at zlib's fastest level. At openpyxl's default (6) compressing took
# a tenth of a 100,000-row export: 1.29x xlsxwriter's time against 1.17x at level 1, for a file
# of 5.1 MB instead of 6.8 MB (DESIGN.md §12, `manage.py bench_export --rows 100000`).
ZIP_COMPRESSLEVEL = 1


def data_rows_per_sheet() -> int:
    """Data rows on one sheet (the header takes one row): the setting, capped at Excel's limit."""
    configured = getattr(settings, "PORTAL_EXPORT_XLSX_SHEET_ROWS", EXCEL_MAX_ROWS - 1)
    return max(1, min(int(configured), EXCEL_MAX_ROWS - 1))


def sheet_title(base: str, number: int) -> str:
    """A valid, unique sheet title: Excel forbids []:*?/\\ and more than 31 characters."""
    clean = _SHEET_TITLE_FORBIDDEN.sub(" ", base).strip() or "Sheet"
    suffix = "" if number == 1 else f" ({number})"
    return clean[: SHEET_TITLE_MAX - len(suffix)] + suffix


class _SheetWriter:
    """Appends rows to the current sheet of a write-only workbook and opens the next sheet
    when this one is full."""

    def __init__(self, workbook: Workbook, columns: Sequence[ResolvedColumn], title: str, rows_per_sheet: int):
        self.workbook = workbook
        self.columns = columns
        self.title = title
        self.rows_per_sheet = rows_per_sheet
        self.sheet_number = 0
        self.sheet = None
        self.rows_on_sheet = 0
        self.convert = _row_converter(columns)

    def open_sheet(self) -> None:
        self._finish_sheet()
        self.sheet_number += 1
        sheet = self.workbook.create_sheet(title=sheet_title(self.title, self.sheet_number))
        for index, column in enumerate(self.columns, 1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.freeze_panes = "A2"
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(sheet, value=column.header)
            cell.data_type = "s"
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = HEADER_ALIGNMENT
            header.append(cell)
        sheet.append(header)
        self.sheet = sheet
        self.rows_on_sheet = 0

    def append(self, row: tuple) -> None:
        if self.sheet is None or self.rows_on_sheet == self.rows_per_sheet:
            self.open_sheet()
        self.sheet.append(self.convert(row, self.sheet))
        self.rows_on_sheet += 1

    def _finish_sheet(self) -> None:
        # Filter buttons on the header, over exactly the rows written (known only at the end).
        if self.sheet is not None:
            last = get_column_letter(len(self.columns))
            self.sheet.auto_filter.ref = f"A1:{last}{self.rows_on_sheet + 1}"

    def close(self) -> None:
        if self.sheet is None:
            self.open_sheet()
        self._finish_sheet()


def _text_cell(value, sheet):
    if value is None or value == "":
        return None
    if ILLEGAL_CHARACTERS_RE.search(value):
        # Control characters are not allowed in the XML of a sheet.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if looks_like_formula(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        cell.quotePrefix = True
        return cell
    return value


def _datetime_cell(value: dt.datetime | None, sheet):
    # openpyxl gives date and datetime values its date formats ("yyyy-mm-dd",
    # "yyyy-mm-dd h:mm:ss"); only the time zone needs converting.
    if value is None:
        return None
    return value.astimezone(TOKYO).replace(tzinfo=None)


def _cell_function(column: ResolvedColumn):
    if column.labels is not None:
        labels = column.labels
        return lambda value, sheet: _text_cell(labels.get(value, value), sheet)
    return {
        ColumnType.TEXT: _text_cell,
        ColumnType.DATETIME: _datetime_cell,
    }.get(column.type)


def _row_converter(columns: Sequence[ResolvedColumn]):
    steps = [(index, fn) for index, column in enumerate(columns) if (fn := _cell_function(column)) is not None]

    def convert(row: tuple, sheet) -> list:
        cells = list(row)
        for index, fn in steps:
            cells[index] = fn(cells[index], sheet)
        return cells

    return convert


def write_xlsx(
    rows: Iterable[tuple],
    columns: Sequence[ResolvedColumn],
    target: str | IO[bytes],
    *,
    title: str,
    progress: ProgressCallback | None = None,
    progress_every: int = 5000,
) -> int:
    """Write `rows` (tuples in column order) as a workbook to `target` (a path or a binary
    file) and return how many data rows were written. `progress(rows_done)` is called every
    `progress_every` rows."""
    workbook = Workbook(write_only=True)
    writer = _SheetWriter(workbook, columns, title, data_rows_per_sheet())
    written = 0
    for row in rows:
        writer.append(row)
        written += 1
        if progress is not None and written % progress_every == 0:
            progress(written)
    writer.close()
    _save(workbook, target)
    return written


def _save(workbook: Workbook, target: str | IO[bytes]) -> None:
    """`Workbook.save` (openpyxl's `save_workbook`) with the archive's deflate level chosen here."""
    archive = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=ZIP_COMPRESSLEVEL)
    workbook.properties.modified = dt.datetime.now(tz=dt.UTC).replace(tzinfo=None)
    ExcelWriter(workbook, archive).save()
