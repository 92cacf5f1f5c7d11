"""The bench's plan check tells the list's bounded count from a full COUNT(*), on the plans
PostgreSQL gives for each (EXPLAIN FORMAT JSON, trimmed to the fields the check reads)."""

from __future__ import annotations

from bench.management.commands.bench import is_full_count


def _scan(table="accounts_customeraccount", kind="Index Only Scan"):
    return {"Node Type": kind, "Relation Name": table}


def _aggregate(*children):
    return {"Node Type": "Aggregate", "Plans": list(children)}


def _limit(*children):
    return {"Node Type": "Limit", "Plans": list(children)}


def test_a_count_over_every_row_is_a_full_count():
    assert is_full_count(_aggregate(_scan(kind="Seq Scan")))
    # A LIMIT above the aggregate bounds the one result row, not the rows counted.
    assert is_full_count(
        _limit(_aggregate({"Node Type": "Hash Join", "Plans": [_scan(), _scan("points_ledgeraccount")]}))
    )


def test_the_lists_bounded_count_is_not():
    # SELECT count(*) FROM (SELECT id FROM accounts_customeraccount … ORDER BY … LIMIT 10001) subquery
    assert not is_full_count(_aggregate({"Node Type": "Subquery Scan", "Plans": [_limit(_scan(kind="Index Scan"))]}))


def test_a_count_of_another_table_or_a_page_without_a_count_is_not():
    assert not is_full_count(_aggregate(_scan("points_transfer")))
    assert not is_full_count(_limit(_scan()))
