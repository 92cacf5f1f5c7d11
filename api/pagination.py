"""Keyset ("cursor") pagination: the next page starts after the last row's sort key, so a page
a thousand pages deep costs what the first one does (no OFFSET) and rows inserted while a
client pages neither repeat nor shift others out (DESIGN.md §13).

The ordering is one column and the primary key as the tie-breaker, both in the column's
direction. A column that may be NULL sorts its NULLs last in both directions, and the cursor
condition follows. The cursor is signed (a client cannot forge one that reads outside what the
query allows, and a damaged one is a 400, never a 500) and names the sort it belongs to.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import F, Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

CURSOR_SALT = "api.cursor"


@dataclass(frozen=True)
class Ordering:
    field: str  # a model field or an annotation
    descending: bool
    nullable: bool = False

    @property
    def key(self) -> str:
        return ("-" if self.descending else "") + self.field


def page_size_of(request) -> int:
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return settings.PORTAL_API_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= settings.PORTAL_API_MAX_PAGE_SIZE:
        raise ValidationError(
            {"page_size": [_("Enter a page size from 1 to %(max)s.") % {"max": settings.PORTAL_API_MAX_PAGE_SIZE}]}
        )
    return size


def _encode(value):
    if isinstance(value, dt.datetime):
        return {"t": "dt", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"t": "d", "v": value.isoformat()}
    return {"t": "v", "v": value}


def _decode(raw):
    kind, value = raw.get("t"), raw.get("v")
    if kind == "dt":
        return parse_datetime(value)
    if kind == "d":
        return parse_date(value)
    return value


def _after(ordering: Ordering, value, pk) -> Q:
    """The rows after (value, pk) in the ordering's direction, NULLs last."""
    name = ordering.field
    further = "lt" if ordering.descending else "gt"
    if value is None:
        return Q(**{f"{name}__isnull": True, f"pk__{further}": pk})
    condition = Q(**{f"{name}__{further}": value}) | Q(**{name: value, f"pk__{further}": pk})
    # The redundant bound lets the planner start an index range scan at the cursor.
    bound = Q(**{f"{name}__{further}e": value})
    if ordering.nullable:
        return condition | Q(**{f"{name}__isnull": True})
    return bound & condition


def order(queryset: QuerySet, ordering: Ordering) -> QuerySet:
    column = F(ordering.field)
    # NULLS LAST only where there are NULLs: DESC NULLS LAST would not walk a plain index backwards.
    nulls = {"nulls_last": True} if ordering.nullable else {}
    column = column.desc(**nulls) if ordering.descending else column.asc(**nulls)
    return queryset.order_by(column, "-pk" if ordering.descending else "pk")


def paginate(request, queryset: QuerySet, ordering: Ordering) -> tuple[list, str | None]:
    """One page of `queryset` in `ordering` after the request's `cursor`, and the next cursor
    (None on the last page). Reads one row more than the page to know whether there is one."""
    size = page_size_of(request)
    queryset = order(queryset, ordering)
    raw = request.query_params.get("cursor")
    if raw:
        try:
            state = signing.loads(raw, salt=CURSOR_SALT)
            if state["s"] != ordering.key:
                raise ValueError("another sort")
            value, pk = _decode(state["k"]), int(state["id"])
        except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
            raise ValidationError(
                {"cursor": [_("This cursor is invalid or belongs to another sort order. Start from the first page.")]}
            ) from None
        queryset = queryset.filter(_after(ordering, value, pk))
    rows = list(queryset[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, cursor_after(rows[-1], ordering)


def cursor_after(row, ordering: Ordering) -> str:
    """The cursor of the page that starts after `row` (a model instance or a `values()` dict)."""
    pk = row["id"] if isinstance(row, dict) else row.pk
    state = {"s": ordering.key, "k": _encode(_value_of(row, ordering.field)), "id": pk}
    return signing.dumps(state, salt=CURSOR_SALT, compress=True)


def _value_of(row, field: str):
    if isinstance(row, dict):
        return row[field]
    value = row
    for part in field.split("__"):
        value = getattr(value, part, None)
    return value


def next_url(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = request.query_params.copy()
    params["cursor"] = cursor
    return request.build_absolute_uri(request.path) + "?" + params.urlencode()
