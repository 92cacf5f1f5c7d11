"""CSV written as a stream: a chunk of rows at a time from the database cursor to the socket.

UTF-8 with a byte order mark by default, so Japanese Excel opens the file with the right
encoding; Shift_JIS (Microsoft's cp932) on request for older tools. cp932 cannot represent
every character (emoji, some CJK extensions): those are written as "?" and counted, and the
count goes into the audit event. Only the UTF-8 format keeps every character.

Text cells that a spreadsheet would read as a formula get a leading apostrophe, the
spreadsheet convention for "this is text"; numbers (including negative ones) stay numbers.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.db import connections, models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from msp_portal.dates import TOKYO
from msp_portal.spreadsheets import neutralise_formula

from .columns import ColumnType, ResolvedColumn, iter_rows

# Rows per encoded chunk sent to the client: large enough that the per-chunk overhead
# vanishes, small enough that a chunk is a few hundred kilobytes.
ROWS_PER_CHUNK = 1000


class CsvEncoding(models.TextChoices):
    UTF8 = "utf-8", _("UTF-8 (with BOM)")
    CP932 = "cp932", _("Shift_JIS (cp932)")

    @classmethod
    def from_param(cls, raw: str | None) -> CsvEncoding:
        """The encoding a request asked for; anything unknown means the default."""
        normalized = (raw or "").strip().lower().replace("_", "-")
        if normalized in ("cp932", "shift-jis", "sjis", "windows-31j"):
            return cls.CP932
        return cls.UTF8


@dataclass
class ExportTally:
    """What an export wrote, for the audit event: rows, and characters the encoding could
    not represent (always 0 for UTF-8)."""

    rows: int = 0
    replaced_characters: int = 0
    completed: bool = False


def _datetime_text(value: dt.datetime | None):
    if value is None:
        return None
    return value.astimezone(TOKYO).replace(tzinfo=None).isoformat(" ", "seconds")


def _cell_function(column: ResolvedColumn) -> Callable | None:
    if column.labels is not None:
        labels = column.labels
        return lambda value: neutralise_formula(labels.get(value, value))
    if column.type == ColumnType.TEXT:
        return neutralise_formula
    if column.type == ColumnType.DATETIME:
        return _datetime_text
    # Integers and dates: the csv module writes int and date.isoformat() as they are.
    return None


def _row_converter(columns: Sequence[ResolvedColumn]) -> Callable[[tuple], Sequence]:
    steps = [(index, fn) for index, column in enumerate(columns) if (fn := _cell_function(column)) is not None]

    def convert(row: tuple) -> list:
        cells = list(row)
        for index, fn in steps:
            cells[index] = fn(cells[index])
        return cells

    return convert


@lru_cache(maxsize=4096)
def _encodable(character: str, encoding: str) -> bool:
    try:
        character.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def encode_text(text: str, encoding: str, tally: ExportTally) -> bytes:
    """`text` in `encoding`; characters it lacks become "?" and are counted in `tally`."""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        # The rare chunk with a character the encoding lacks: count them, then replace.
        tally.replaced_characters += sum(1 for ch in text if ord(ch) > 0x7F and not _encodable(ch, encoding))
        return text.encode(encoding, errors="replace")


def csv_header(columns: Sequence[ResolvedColumn], encoding: CsvEncoding, tally: ExportTally) -> bytes:
    """The file's first bytes: the byte order mark (UTF-8 only) and the header row."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralise_formula(column.header) for column in columns])
    codec = "utf-8" if encoding == CsvEncoding.UTF8 else "cp932"
    head = encode_text(buffer.getvalue(), codec, tally)
    return (codecs.BOM_UTF8 + head) if encoding == CsvEncoding.UTF8 else head


def csv_chunks(
    rows: Iterable[tuple],
    columns: Sequence[ResolvedColumn],
    *,
    encoding: CsvEncoding = CsvEncoding.UTF8,
    tally: ExportTally | None = None,
) -> Iterator[bytes]:
    """The encoded CSV, header first, in chunks of ROWS_PER_CHUNK rows. Holds one chunk in
    memory at a time; `tally` counts what was written as it goes."""
    tally = tally if tally is not None else ExportTally()
    codec = "utf-8" if encoding == CsvEncoding.UTF8 else "cp932"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    convert = _row_converter(columns)

    yield csv_header(columns, encoding, tally)

    batch: list = []
    for row in rows:
        batch.append(convert(row))
        if len(batch) == ROWS_PER_CHUNK:
            yield _flush(writer, buffer, batch, codec, tally)
            batch = []
    if batch:
        yield _flush(writer, buffer, batch, codec, tally)
    tally.completed = True


def _flush(writer, buffer: io.StringIO, batch: list, codec: str, tally: ExportTally) -> bytes:
    buffer.seek(0)
    buffer.truncate()
    writer.writerows(batch)
    tally.rows += len(batch)
    return encode_text(buffer.getvalue(), codec, tally)


def queryset_csv_chunks(
    queryset: QuerySet,
    columns: Sequence[ResolvedColumn],
    *,
    encoding: CsvEncoding = CsvEncoding.UTF8,
    tally: ExportTally | None = None,
) -> Iterator[bytes]:
    """The CSV of `queryset` (scoped, filtered and ordered) with `columns`: written by the
    server with COPY on PostgreSQL (pg_csv.py), by `csv_chunks` elsewhere; the same bytes."""
    if connections[queryset.db].vendor == "postgresql":
        from .pg_csv import copy_csv_chunks  # here, not at the top: pg_csv builds on this module

        return copy_csv_chunks(queryset, columns, encoding=encoding, tally=tally)
    return csv_chunks(iter_rows(queryset, columns), columns, encoding=encoding, tally=tally)
