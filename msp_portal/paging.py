"""Newest-first pages over several index ranges, for LazyPaginator-paged tables whose rows no
single index holds in order (an MSP's audit trail over its organizations, an account's
statement over its debit and credit sides)."""

from __future__ import annotations

from django.db.models import QuerySet


def page_bound(request, per_page: int, prefix: str = "") -> int:
    """How many rows, from the top, the requested page of a LazyPaginator-paged table can reach
    (its rows and the look-ahead row that says whether a next page exists), with one page to
    spare. A missing or malformed page number is the first page, as the paginator reads it."""
    try:
        page = max(1, int(request.GET.get(f"{prefix}page", 1)))
    except (TypeError, ValueError):
        page = 1
    return (page + 1) * per_page + 1


def merged_first_ids(parts: list[QuerySet], ordering: tuple[str, ...], bound: int) -> list:
    """The primary keys of the first `bound` rows, in `ordering`, of the union of `parts`.

    As one query, such a page is a sort of every matching row: PostgreSQL cannot merge the
    ranges of an `IN` list or of an `OR` in index order. Each part alone is one ordered index
    range that stops after `bound` rows, and the first `bound` rows of the union are among the
    first `bound` of the parts. The caller reads its page from `filter(pk__in=…)` of these, in
    `ordering`."""
    ids: list = []
    for part in parts:
        ids.extend(part.order_by(*ordering).values_list("pk", flat=True)[:bound])
    return ids
