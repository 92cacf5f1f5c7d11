"""Smoke test of the benchmark harness (not of its timings): a small bench_seed, then
`bench --quick --no-fail`, and every figure of DESIGN.md §12 is measured and reported."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing_jobs.services import update_suspensions
from customers.models import CustomerAccount
from customers.search import customer_search_text
from msp_portal import dates
from points.estimates import refresh_estimates

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FIGURE_KEYS = {"name", "value", "unit", "baseline", "baseline_value", "ratio", "bar", "holds", "detail"}


def test_bench_seed_stores_what_the_services_would_store():
    call_command("bench_seed", accounts=600, msps=8, history=2, stdout=io.StringIO())

    assert CustomerAccount.objects.count() == 600
    # The stored estimate is the one points.estimates computes, and the search text the one
    # customers.search folds: recomputing either changes nothing.
    before = dict(CustomerAccount.objects.with_points().values_list("pk", "estimated_balance"))
    refresh_estimates()
    assert dict(CustomerAccount.objects.with_points().values_list("pk", "estimated_balance")) == before
    for customer in CustomerAccount.objects.all()[:200]:
        assert customer.search_text == customer_search_text(customer)
    # The suspension flags are those the daily runs would have set: the step changes nothing.
    assert CustomerAccount.objects.filter(suspended_at__isnull=False).exists()
    assert update_suspensions(dates.today()) == {"suspended": 0, "unsuspended": 0}
    # Balances, sequences and sums are consistent; only the months before the generated
    # history are reported, as uncharged gaps.
    out = io.StringIO()
    with contextlib.suppress(CommandError, SystemExit):
        call_command("verify_ledger", stdout=out, stderr=out)
    sections = re.findall(r"^\[(\w+)\]", out.getvalue(), flags=re.MULTILINE)
    assert set(sections) <= {"missing_charge"}, out.getvalue()


def test_bench_seed_refuses_a_database_that_already_holds_benchmark_data():
    call_command("bench_seed", accounts=200, msps=4, history=0, stdout=io.StringIO())

    with pytest.raises(CommandError, match="already holds benchmark data"):
        call_command("bench_seed", accounts=200, msps=4, stdout=io.StringIO())
    assert CustomerAccount.objects.count() == 200


def test_bench_measures_every_figure_beside_its_baseline(tmp_path):
    call_command("bench_seed", accounts=2000, msps=20, history=2, stdout=io.StringIO())
    report_path = tmp_path / "bench.json"
    out = io.StringIO()

    call_command("bench", out=str(report_path), quick=True, no_fail=True, stdout=out)

    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["accounts"] == 2000
    assert {"cpus", "postgresql", "python"} <= set(report["machine"])
    figures = {figure["name"]: figure for figure in report["figures"]}
    for figure in figures.values():
        assert set(figure) == FIGURE_KEYS
        assert figure["value"] is not None, figure["name"]
        assert figure["baseline_value"] is not None, figure["name"]
        assert figure["holds"] in (True, False, None)
    scenarios = {name.split(".p95")[0] for name in figures if name.endswith(".p95") and name.startswith("list.")}
    assert {"list.default.msp", "list.default.operator", "list.search.kanji.operator", "list.search.kana.msp"} <= (
        scenarios
    )
    assert {s for s in scenarios if s.startswith("list.sort.estimate")} == {
        "list.sort.estimate.asc.operator",
        "list.sort.estimate.desc.operator",
        "list.sort.estimate.asc.msp",
        "list.sort.estimate.desc.msp",
    }
    assert any(s.startswith("list.shortage") for s in scenarios)
    assert any(s.startswith("list.deep.") for s in scenarios)
    for scenario in scenarios:
        assert f"{scenario}.vs_admin" in figures
        assert f"{scenario}.plans" in figures
        assert figures[f"{scenario}.p95"]["detail"]["plans"], scenario
        # The list's count (「N件」) is one bounded query, which the plan check accepts.
        plans = figures[f"{scenario}.p95"]["detail"]["plans"]
        assert len([plan for plan in plans if "COUNT(" in plan["sql"].upper()]) == 1, scenario
        assert figures[f"{scenario}.plans"]["detail"]["full_counts"] == [], scenario
    # Every daily page beside the list, each with its raw SQL and its plans checked.
    pages = {name.removeprefix("page.").removesuffix(".p95") for name in figures if name.startswith("page.")}
    pages = {name for name in pages if not name.endswith(".plans")}
    assert {
        "dashboard.msp",
        "dashboard.operator",
        "pending.operator",
        "detail.typical.msp",
        "detail.busy.msp",
        "detail.busy.history.page2",
        "detail.busy.history.last",
        "pool.large.msp",
        "pool.small.msp",
        "pool.new.msp",
        "pool.overview.operator",
        "pool.history.kind.purchase",
        "pool.history.dates",
        "pool.history.customer",
        "jobs.operator",
        "audit.operator",
        "audit.large.msp",
        "audit.small.msp",
        "audit.new.msp",
        "staff.msp",
        "staff.operator",
    } <= pages
    for who in ("operator", "msp", "small"):
        for name in ("action", "actor", "customer", "object", "dates"):
            assert f"audit.{who}.{name}" in pages
    for page in pages:
        figure = figures[f"page.{page}.p95"]
        assert figure["detail"]["plans"], page
        assert figure["detail"]["spread_ms"]["runs"] >= 1, page
        assert f"page.{page}.plans" in figures
    # The busy account's history is long (bench_seed: a top-up a day for five years).
    assert "last" in figures["page.detail.busy.history.last.p95"]["detail"]["label"]
    # Honest numbers: each phase's load before and after, each timed figure's spread.
    assert {phase["phase"] for phase in report["phases"]} >= {"list", "pages", "csv", "excel", "billing"}
    for phase in report["phases"]:
        assert {"load_before", "load_after", "cpu_steal_pct", "over_cores"} <= set(phase)
    spread = figures["list.default.msp.p95"]["detail"]["spread_ms"]
    assert spread["min"] <= spread["median"] <= spread["max"]
    assert figures["list.queries_per_page.operator"]["holds"] is True
    assert figures["list.queries_per_page.msp"]["holds"] is True
    assert figures["csv.all_rows.seconds"]["detail"]["rows"] > 0
    assert "csv.peak_memory_growth" in figures
    assert [name for name in figures if name.startswith("excel.")] == [
        "excel.2000_rows.seconds",
        "excel.2000_rows.peak_memory_growth",
        "excel.all_rows.peak_memory_growth",
    ]
    billing = figures["billing.monthly_consumption.seconds"]
    # The product path and the one-statement baseline did the same work on identical copies.
    assert billing["detail"]["product_state"] == billing["detail"]["baseline_state"]
    assert billing["detail"]["product_state"]["charged"] > 0
    # The day's whole run again, and the next day's: suspension included, nothing posted.
    runs = figures["billing.second_run.seconds"]["detail"]
    assert (runs["second_status"], runs["second_charged"]) == ("succeeded", 0)
    assert (runs["no_charge_day_status"], runs["no_charge_day_charged"]) == ("succeeded", 0)
    assert {"cancelled", "suspended", "unsuspended"} <= set(runs["second_steps"])
    assert {"cancelled", "suspended", "unsuspended"} <= set(runs["no_charge_day_steps"])
    assert "billing.no_charge_day.seconds" in figures
    assert "figure" in out.getvalue()
    # The API's figures (bench/api_bench.py).
    assert {"api.customers.first.msp.server_p95", "api.customers.deep.operator.server_p95"} <= set(figures)
    assert figures["api.customers.iterate.rows_per_s"]["detail"]["rows"] > 0
