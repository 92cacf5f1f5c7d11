"""The bench's plan check tells the list's bounded count from a full COUNT(*), on the plans
PostgreSQL gives for each (EXPLAIN FORMAT JSON, trimmed to the fields the check reads)."""

from __future__ import annotations

from bench.management.commands.bench import is_full_count, load_between


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


def _sample(load1, busy, total, steal):
    return {"at": 0.0, "load1": load1, "busy": busy, "total": total, "steal": steal}


def test_a_phase_is_marked_when_the_load_exceeded_the_cores():
    quiet = load_between(_sample(0.5, 100, 1000, 0), _sample(1.5, 600, 2000, 10), cores=2)
    assert quiet["over_cores"] is False
    assert (quiet["cpu_busy_pct"], quiet["cpu_steal_pct"]) == (50.0, 1.0)
    busy = load_between(_sample(1.0, 0, 1000, 0), _sample(7.2, 900, 2000, 0), cores=2)
    assert busy["over_cores"] is True
