"""What an export writes: a list of column specs over one queryset (DESIGN.md §8).

A dataset (the customer list, for one) gives the engine a queryset that is already scoped,
filtered and ordered, and the columns the user sees. The engine reads the rows as plain tuples
(`values_list(...).iterator()`, a server-side cursor on PostgreSQL), never model instances, so
a million rows cost the same memory as a thousand and no row triggers a query of its own. (The
CSV on PostgreSQL goes further: the server formats the rows itself, see pg_csv.py.)
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

# Rows fetched per round trip of the server-side cursor.
CHUNK_SIZE = 2000


class ColumnType(enum.StrEnum):
    TEXT = "text"
    INT = "int"
    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True)
class ExportColumn:
    """One column: a stable `key`, its `header` (a lazy translation, resolved in the language
    of the export), the `field` it reads (a `values_list` expression: a model field, a lookup
    across a foreign key such as "support_account__name", or an annotation of the queryset),
    its `type` (text, int, date, datetime), its Excel `width` in characters, and for coded
    values the `choices` whose labels are written instead of the codes."""

    key: str
    header: str
    field: str
    type: ColumnType = ColumnType.TEXT
    width: int = 16
    choices: Sequence[tuple[object, str]] | Mapping[object, str] | None = None


@dataclass(frozen=True)
class ResolvedColumn:
    """A column with its header and choice labels rendered in the export's language."""

    key: str
    header: str
    field: str
    type: ColumnType
    width: int
    labels: dict[object, str] | None


def resolve_columns(columns: Sequence[ExportColumn]) -> list[ResolvedColumn]:
    """Render headers and choice labels once, in the active language, before any row is read:
    a streamed response outlives the request's language activation, and a lazy label per row
    would cost a translation lookup per cell."""
    if not columns:
        raise ValueError("An export needs at least one column.")
    resolved = []
    for column in columns:
        labels = None
        if column.choices is not None:
            items = column.choices.items() if isinstance(column.choices, Mapping) else column.choices
            labels = {value: str(label) for value, label in items}
        resolved.append(
            ResolvedColumn(
                key=column.key,
                header=str(column.header),
                field=column.field,
                type=ColumnType(column.type),
                width=column.width,
                labels=labels,
            )
        )
    return resolved


def iter_rows(queryset: QuerySet, columns: Sequence[ResolvedColumn]) -> Iterator[tuple]:
    """The rows of `queryset` as tuples in column order, streamed in chunks."""
    return queryset.values_list(*(column.field for column in columns)).iterator(chunk_size=CHUNK_SIZE)


def bounded_count(queryset: QuerySet, limit: int) -> int:
    """How many rows the queryset has, counting at most `limit` + 1 of them: enough to decide
    between a direct download and a background job without counting a million rows."""
    return queryset.order_by()[: limit + 1].count()
