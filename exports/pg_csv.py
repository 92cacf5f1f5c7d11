"""The CSV export on PostgreSQL: the server writes the CSV (`COPY (the list's query) TO STDOUT`)
and Python only relays it, so a row costs what `psql \\copy` costs plus a few microseconds.

The SELECT is the list's own queryset (scope, filters, order) with every column turned into the
text the portable writer in csv.py produces: choice labels instead of codes, dates as ISO text,
times in Asia/Tokyo to the second, an apostrophe before text a spreadsheet would run as a
formula, and an empty string written like NULL (unquoted). COPY ends rows with "\\n"; the rows
are re-terminated with "\\r\\n" as csv.py writes them. The two writers produce the same bytes
(exports/tests/test_pg_csv.py compares them on a data set of awkward values).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db import connections, transaction
from django.db.models import Case, CharField, F, Func, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, NullIf
from django.db.models.lookups import Exact

from msp_portal.dates import TOKYO
from msp_portal.spreadsheets import neutralise_formula, neutralise_formula_sql

from .columns import ColumnType, ResolvedColumn
from .csv import CsvEncoding, ExportTally, csv_header, encode_text

# Bytes relayed to the client at a time: COPY sends one message per row, a chunk joins many.
CHUNK_BYTES = 256 * 1024


class _ToChar(Func):
    function = "to_char"
    output_field = CharField()


class _TokyoText(Func):
    """An aware timestamp as Asia/Tokyo wall-clock text to the second, as csv.py writes it
    (fractions of a second are truncated, as `isoformat(timespec="seconds")` does)."""

    template = f"to_char(%(expressions)s AT TIME ZONE '{TOKYO.key}', 'YYYY-MM-DD HH24:MI:SS')"
    output_field = CharField()


def _column_expression(column: ResolvedColumn):
    if column.labels is not None:
        raw = Cast(F(column.field), TextField())
        labelled = Case(
            *(
                When(Exact(raw, Value(str(code))), then=Value(neutralise_formula(label)))
                for code, label in column.labels.items()
            ),
            default=neutralise_formula_sql(raw),
            output_field=TextField(),
        )
        return NullIf(labelled, Value(""), output_field=TextField())
    if column.type == ColumnType.TEXT:
        return NullIf(neutralise_formula_sql(Cast(F(column.field), TextField())), Value(""), output_field=TextField())
    if column.type == ColumnType.DATE:
        return _ToChar(F(column.field), Value("YYYY-MM-DD"))
    if column.type == ColumnType.DATETIME:
        return _TokyoText(F(column.field))
    return F(column.field)


def copy_statement(queryset: QuerySet, columns: Sequence[ResolvedColumn]) -> tuple[str, tuple]:
    """The COPY statement and its parameters for `queryset` and `columns`."""
    rows = queryset.values_list(*(_column_expression(column) for column in columns))
    sql, params = rows.query.get_compiler(queryset.db).as_sql()
    return f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", tuple(params)


def copy_csv_chunks(
    queryset: QuerySet,
    columns: Sequence[ResolvedColumn],
    *,
    encoding: CsvEncoding = CsvEncoding.UTF8,
    tally: ExportTally | None = None,
) -> Iterator[bytes]:
    """The same bytes as `csv_chunks(iter_rows(queryset, columns), columns, ...)`, written by
    PostgreSQL. Holds one chunk of CHUNK_BYTES in memory at a time; `tally` counts rows (and
    characters cp932 lacks) as they are sent."""
    tally = tally if tally is not None else ExportTally()
    codec = "utf-8" if encoding == CsvEncoding.UTF8 else "cp932"
    yield csv_header(columns, encoding, tally)
    statement, params = copy_statement(queryset, columns)
    connection = connections[queryset.db]
    connection.ensure_connection()
    # A download abandoned while the server still runs the COPY cancels it, and the cancel
    # aborts the transaction it ran in: in an atomic block of its own (a savepoint inside a
    # caller's transaction, a test's say), only that block is rolled back.
    with (
        transaction.atomic(using=queryset.db),
        connection.cursor() as cursor,
        cursor.cursor.copy(statement, params) as copy,
    ):
        pending: list = []
        size = 0
        for block in copy:
            # One message per row, ending in "\n"; the join below ends rows with "\r\n".
            pending.append(block[:-1])
            size += len(block)
            if size >= CHUNK_BYTES:
                yield _relay(pending, codec, tally)
                pending = []
                size = 0
        if pending:
            yield _relay(pending, codec, tally)
    tally.completed = True


def _relay(rows: list, codec: str, tally: ExportTally) -> bytes:
    data = b"\r\n".join(rows) + b"\r\n"
    tally.rows += len(rows)
    if codec == "utf-8":
        return data
    return encode_text(data.decode("utf-8"), codec, tally)
