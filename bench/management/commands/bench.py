"""Measure the portal against DESIGN.md §12, each figure beside its baseline in the same run.

Run after `bench_seed` (`make bench` does both). Figures:
1. the customer list's server time (p50/p95 of warm requests through the whole Django stack,
   in process) per scenario, beside the raw SQL time of the same page's queries (EXPLAIN
   ANALYZE: planning + execution) and beside the Django admin's changelist on the same data
   and order; each captured plan is checked for sequential scans of the customer and points
   tables and for a full COUNT(*);
   the page and its raw SQL timed in alternation, each figure with its runs' spread;
1b. every daily page beside the list (bench.pages: dashboards, queues, customer detail, pools
   and their history filters, job runs, audit log per role and filter, staff list), the same
   way, with the audit trail among the tables that must not be scanned;
1c. with --compare-database, the list and page scenarios again on a second bench database (e.g.
   100,000 accounts): growth, each p95 here at most 1.5x its figure there;
2. SQL queries per list page at two page sizes;
3. the CSV export of the operator's whole list beside `psql \\copy` of the same SELECT, and its
   peak memory growth at two sizes;
4. the Excel export of 100,000 rows beside xlsxwriter's constant_memory mode on the same rows,
   and its peak memory growth at 100,000 and 1,000,000 rows;
5. the monthly consumption of all accounts (the product path, inline, in its chunks) beside one
   hand-written set-based statement doing the same work on an identical copy of the data, the
   end states compared; then the whole daily run of that 25th again and of the 26th (due
   cancellations, planning, suspension), which must post nothing.
Exports run in child processes so that each peak memory figure is that export's alone. Each
phase records the load average and CPU steal before and after it; its figures are marked when
the load exceeded the cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from accounts.models import Organization, User
from bench.admin_baseline import CustomerAccountBaselineAdmin
from bench.baselines import xlsxwriter_constant_memory
from bench.management.commands.bench_seed import (
    BENCH_MSP_ADMIN,
    BENCH_MSP_PREFIX,
    BENCH_OPERATOR,
    BENCH_SUPERUSER,
    _maintenance_dsn,
)
from bench.pages import PAGE_BAR_MS, alternated, bench_users, page_scenarios
from customers.models import CustomerAccount
from msp_portal import dates

LIST_URL = "/customers/"
CSV_URL = "/exports/customers.csv"
# Rows each Excel child writes, untimed, before its measured export.
WARM_UP_ROWS = 2_000
ADMIN_URL = "/bench-admin/customers/customeraccount/"
# Tables a list query must never scan sequentially at this size.
LARGE_TABLES = frozenset(
    {
        "accounts_customeraccount",
        "accounts_customerstatuschange",
        "accounts_contractchange",
        "points_ledgeraccount",
        "points_transfer",
    }
)
SEARCH_KANJI = "鈴木電機"
SEARCH_KANA = "スズキデンキ"


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    baseline: str
    baseline_value: float | None
    ratio: float | None
    bar: str
    holds: bool | None
    detail: dict = field(default_factory=dict)


@dataclass
class Scenario:
    key: str
    label: str
    who: str  # "msp" | "operator"
    params: dict
    admin_params: dict


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


def _spread(values: list[float]) -> dict:
    """The median of a figure's runs and their range (min–max), as bench.json and the table
    show them beside every timed figure."""
    if not values:
        return {"median": None, "min": None, "max": None, "runs": 0}
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "runs": len(values),
    }


def load_sample() -> dict:
    """The 1-minute load average and the CPU counters of /proc/stat (user … steal), Linux."""
    sample = {"at": time.time(), "load1": None, "busy": 0, "total": 0, "steal": 0}
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/loadavg") as loadavg:
            sample["load1"] = float(loadavg.read().split()[0])
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal (guest time is inside user already).
        sample["total"] = sum(fields[:8])
        sample["busy"] = sample["total"] - fields[3] - fields[4]
        sample["steal"] = fields[7]
    return sample


def load_between(before: dict, after: dict, cores: int) -> dict:
    """What the machine did during a phase: the load average before and after, the CPU busy
    and steal shares of the phase, and whether the load exceeded the cores (its figures are
    then marked: taken on a busy machine)."""
    ticks = max(1, after["total"] - before["total"])
    loads = [load for load in (before["load1"], after["load1"]) if load is not None]
    return {
        "load_before": before["load1"],
        "load_after": after["load1"],
        "cpu_busy_pct": round(100 * (after["busy"] - before["busy"]) / ticks, 1),
        "cpu_steal_pct": round(100 * (after["steal"] - before["steal"]) / ticks, 1),
        "cores": cores,
        "over_cores": bool(loads) and max(loads) > cores,
    }


def _ratio(value, baseline) -> float | None:
    if value is None or not baseline:
        return None
    return round(value / baseline, 2)


def _status_mb(name: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024
    raise CommandError(f"{name} is not in /proc/self/status (Linux only)")


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS, so that
    # the peak read afterwards is the export's alone, not start-up's.
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def _reads_unbounded(plan: dict, table: str) -> bool:
    """Whether the plan reads `table` with no Limit between it and the plan's top."""
    if plan["Node Type"] == "Limit":
        return False
    if plan.get("Relation Name") == table:
        return True
    return any(_reads_unbounded(child, table) for child in plan.get("Plans", ()))


def is_full_count(plan: dict) -> bool:
    """A COUNT over every matching customer account: an Aggregate that reads the customer table
    with no Limit below it. The list's bounded count (`SELECT count(*) FROM (… LIMIT 10001)`,
    customers.listing.bounded_count) has its Limit under the Aggregate and reads at most that
    many rows; a LIMIT above the Aggregate bounds nothing and still counts every row."""
    return any(
        node["Node Type"] == "Aggregate" and _reads_unbounded(node, "accounts_customeraccount")
        for node in _plan_nodes(plan)
    )


class Command(BaseCommand):
    help = "Benchmark the portal at scale against DESIGN.md §12 (PostgreSQL, after bench_seed)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="bench.json", help="JSON report (default bench.json)")
        parser.add_argument("--requests", type=int, default=30, help="timed requests per list scenario")
        parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
        parser.add_argument("--excel-rows", type=int, default=100_000, help="rows of the timed Excel export")
        parser.add_argument(
            "--export-repeat",
            type=int,
            default=5,
            help="timed runs of each export and of its baseline, alternated; the fastest of each counts",
        )
        parser.add_argument(
            "--quick", action="store_true", help="a smoke run: few requests, small exports (CI: harness only)"
        )
        parser.add_argument(
            "--charge-workers",
            type=int,
            default=os.cpu_count() or 1,
            help="processes charging the monthly run's chunks, as that many Celery workers would (default: cores)",
        )
        parser.add_argument("--no-fail", action="store_true", help="exit 0 even when a bar does not hold")
        parser.add_argument("--skip", default="", help="comma-separated sections to skip: list,pages,csv,excel,billing")
        parser.add_argument(
            "--compare-database",
            default="",
            help="a second bench_seed database (e.g. 100,000 accounts): the list and page scenarios again"
            " there, each p95 here at most 1.5x its figure there",
        )
        parser.add_argument("--child", help=argparse.SUPPRESS)

    # --- entry -----------------------------------------------------------------------------

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench needs PostgreSQL with bench_seed data: set DATABASE_URL to that database.")
        if options["child"]:
            job = json.loads(options["child"])
            self._use_database(job["database"])
            return self._child(job)
        self.options = options
        self.charge_workers = max(1, options["charge_workers"])
        if options["quick"]:
            options["requests"] = min(options["requests"], 3)
            options["warmup"] = min(options["warmup"], 1)
        try:
            self.msp_admin = User.objects.get(email=BENCH_MSP_ADMIN)
            self.operator = User.objects.get(email=BENCH_OPERATOR)
            self.superuser = User.objects.get(email=BENCH_SUPERUSER)
        except User.DoesNotExist:
            raise CommandError("No benchmark data here: run `manage.py bench_seed --accounts N` first.") from None
        self.accounts = CustomerAccount.objects.count()
        started = time.perf_counter()
        skip = {name.strip() for name in options["skip"].split(",") if name.strip()}
        figures: list[Figure] = []
        self.phases: list[dict] = []
        self.stdout.write(f"Benchmark over {self.accounts:,} customer accounts ({connection.settings_dict['NAME']})")
        if "list" not in skip:
            figures += self._phase("list", self._list_figures)
            figures += self._queries_per_page()
        if "pages" not in skip:
            figures += self._phase("pages", self._page_figures)
        if options["compare_database"] and not skip >= {"list", "pages"}:
            figures += self._phase("growth", lambda: self._growth_figures(figures, options["compare_database"], skip))
        if "csv" not in skip:
            figures += self._phase("csv", self._csv_figures)
        if "excel" not in skip:
            figures += self._phase("excel", self._excel_figures)
        if "billing" not in skip:
            figures += self._phase("billing", self._billing_figures)
        if "api" not in skip:  # bench/api_bench.py
            from bench.api_bench import api_figures

            figures += self._phase("api", lambda: api_figures(self))
        report = {
            "accounts": self.accounts,
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - started, 1),
            "machine": self._machine(),
            "phases": self.phases,
            "quick": options["quick"],
            "figures": [asdict(figure) for figure in figures],
            "all_hold": all(figure.holds is not False for figure in figures),
        }
        with open(options["out"], "w", encoding="utf-8") as out:
            json.dump(report, out, ensure_ascii=False, indent=2)
        self._print_table(figures)
        failed = [figure.name for figure in figures if figure.holds is False]
        self.stdout.write(f"\nReport written to {options['out']} ({report['seconds']:.0f}s).")
        if failed:
            self.stdout.write(self.style.ERROR(f"{len(failed)} bar(s) do not hold: {', '.join(failed)}"))
            if not options["no_fail"]:
                sys.exit(1)
        else:
            self.stdout.write(self.style.SUCCESS("Every bar holds."))

    def _machine(self) -> dict:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            server = cursor.fetchone()[0]
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            size = cursor.fetchone()[0]
        cpu = ""
        try:
            with open("/proc/cpuinfo") as info:
                cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
        except OSError:
            pass
        memory = ""
        with contextlib.suppress(ValueError, OSError):
            memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
        return {
            "cpus": os.cpu_count(),
            "cpu": cpu,
            "memory": memory,
            "python": platform.python_version(),
            "postgresql": server,
            "database_size": size,
        }

    def _print_table(self, figures: list[Figure]) -> None:
        self.stdout.write("")
        header = (
            f"{'figure':<44} {'value':>10} {'baseline':>10} {'ratio':>6}  {'holds':<5} {'spread (min-max)':<17}"
            " bar / baseline"
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for figure in figures:
            value = "-" if figure.value is None else f"{figure.value:,.1f}"
            base = "-" if figure.baseline_value is None else f"{figure.baseline_value:,.1f}"
            ratio = "-" if figure.ratio is None else f"{figure.ratio:.2f}"
            holds = {True: "yes", False: "NO", None: "info"}[figure.holds]
            spread = figure.detail.get("spread_ms") or {}
            spread = f"{spread['min']:,.1f}-{spread['max']:,.1f}" if spread.get("min") is not None else ""
            busy = "*" if figure.detail.get("load", {}).get("over_cores") else ""
            line = (
                f"{figure.name + busy:<44} {value:>10} {base:>10} {ratio:>6}  {holds:<5} {spread:<17} "
                f"{figure.bar} [{figure.unit}; baseline: {figure.baseline}]"
            )
            self.stdout.write(self.style.ERROR(line) if figure.holds is False else line)
        if any(figure.detail.get("load", {}).get("over_cores") for figure in figures):
            self.stdout.write("* measured while the load average exceeded the cores (a busy machine)")

    # --- 1. the list -----------------------------------------------------------------------

    def _client(self, user) -> Client:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from accounts.selectors import user_has_two_factor_device, user_requires_two_factor
        from accounts.views import HAS_DEVICE_SESSION_KEY

        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        session = client.session
        # Operator staff sign in with a second factor: mark the session verified, as the
        # token page does after a correct code.
        if user_requires_two_factor(user) or user_has_two_factor_device(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
                user=user, name="bench", confirmed=True
            )
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session[HAS_DEVICE_SESSION_KEY] = True
        else:
            session[HAS_DEVICE_SESSION_KEY] = False
        session.save()
        return client

    def _scenarios(self) -> list[Scenario]:
        msp = self.msp_admin.organization
        msp_count = CustomerAccount.objects.filter(organization=msp).count()
        from customers.listing import MAX_PAGED_ROWS

        deep = 2000 if not self.options["quick"] else 20
        # The admin answers a page past its last with a redirect: at fewer accounts (100,000 over
        # 50 MSPs) the MSP's deepest page is its last one.
        deep_msp = max(1, min(deep, -(-msp_count // 25)))
        reach = f"(paging reaches {MAX_PAGED_ROWS // 25:,})"

        def order(name: str) -> str:
            return str(CustomerAccountBaselineAdmin.ORDER_COLUMNS[name])

        scenarios = [
            Scenario(
                "default.msp",
                f"default view, MSP of {msp_count:,} accounts",
                "msp",
                {},
                {"organization__id__exact": msp.pk},
            ),
            Scenario("default.operator", "default view, operator over all", "operator", {}, {}),
            Scenario(
                "search.kanji.operator",
                f"search {SEARCH_KANJI!r}, operator",
                "operator",
                {"q": SEARCH_KANJI},
                {"q": _folded(SEARCH_KANJI)},
            ),
            Scenario(
                "search.kana.msp",
                f"search {SEARCH_KANA!r}, MSP",
                "msp",
                {"q": SEARCH_KANA},
                {"q": _folded(SEARCH_KANA), "organization__id__exact": msp.pk},
            ),
            Scenario(
                "sort.estimate.asc.operator",
                "sort by estimate ascending, operator",
                "operator",
                {"sort": "estimated_balance"},
                {"o": order("estimated_balance")},
            ),
            Scenario(
                "sort.estimate.desc.operator",
                "sort by estimate descending, operator",
                "operator",
                {"sort": "-estimated_balance"},
                {"o": "-" + order("estimated_balance")},
            ),
            Scenario(
                "sort.estimate.asc.msp",
                "sort by estimate ascending, MSP",
                "msp",
                {"sort": "estimated_balance"},
                {"o": order("estimated_balance"), "organization__id__exact": msp.pk},
            ),
            Scenario(
                "sort.estimate.desc.msp",
                "sort by estimate descending, MSP",
                "msp",
                {"sort": "-estimated_balance"},
                {"o": "-" + order("estimated_balance"), "organization__id__exact": msp.pk},
            ),
            Scenario(
                "shortage.operator", "shortage filter, operator", "operator", {"shortage": "yes"}, {"shortage": "yes"}
            ),
            Scenario(
                "shortage.msp",
                "shortage filter, MSP",
                "msp",
                {"shortage": "yes"},
                {"shortage": "yes", "organization__id__exact": msp.pk},
            ),
            Scenario(
                f"deep.page{deep}.operator",
                f"page {deep:,} at 25 rows {reach}, operator",
                "operator",
                {"page": deep},
                {"p": deep},
            ),
            Scenario(
                f"deep.page{deep_msp}.msp",
                f"page {deep_msp:,} at 25 rows {reach}, MSP",
                "msp",
                {"page": deep_msp},
                {"p": deep_msp, "organization__id__exact": msp.pk},
            ),
        ]
        return scenarios

    def _time_requests(self, client: Client, url: str) -> tuple[list[float], object]:
        for _ in range(self.options["warmup"]):
            response = client.get(url, secure=True)
        timings = []
        for _ in range(self.options["requests"]):
            started = time.perf_counter()
            response = client.get(url, secure=True)
            timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise CommandError(f"GET {url} answered {response.status_code}")
        return timings, response

    def _explain(self, queries: list[dict], tables=LARGE_TABLES) -> tuple[float, list[dict]]:
        """Planning + execution time of each SELECT (EXPLAIN ANALYZE), and what its plan uses."""
        total = 0.0
        checked = []
        with connection.cursor() as cursor:
            for query in queries:
                sql = query["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                document = cursor.fetchone()[0]
                document = json.loads(document) if isinstance(document, str) else document
                plan = document[0]
                total += plan.get("Planning Time", 0.0) + plan.get("Execution Time", 0.0)
                nodes = list(_plan_nodes(plan["Plan"]))
                seq_scans = sorted(
                    {
                        node.get("Relation Name")
                        for node in nodes
                        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in tables
                    }
                )
                full_count = "COUNT(" in sql.upper() and is_full_count(plan["Plan"])
                checked.append(
                    {
                        "sql": sql[:300],
                        "ms": round(plan.get("Planning Time", 0.0) + plan.get("Execution Time", 0.0), 2),
                        "seq_scans": seq_scans,
                        "full_count": full_count,
                        "indexes": sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
                    }
                )
        return total, checked

    def _list_figures(self) -> list[Figure]:
        self.stdout.write("List pages…")
        figures = []
        clients = {"msp": self._client(self.msp_admin), "operator": self._client(self.operator)}
        admin_client = self._client(self.superuser)
        with override_settings(ROOT_URLCONF="bench.urls"):
            for scenario in self._scenarios():
                client = clients[scenario.who]
                url = f"{LIST_URL}?{urlencode(scenario.params)}" if scenario.params else LIST_URL
                timings, raw_times, checked, query_count = alternated(
                    self,
                    client,
                    url,
                    runs=self.options["requests"],
                    warmup=self.options["warmup"],
                    tables=LARGE_TABLES,
                )
                admin_url = f"{ADMIN_URL}?{urlencode(scenario.admin_params)}" if scenario.admin_params else ADMIN_URL
                admin_timings, _ = self._time_requests(admin_client, admin_url)
                p50, p95 = _percentile(timings, 50), _percentile(timings, 95)
                raw_p95 = _percentile(raw_times, 95)
                admin_p95 = _percentile(admin_timings, 95)
                seq = sorted({table for query in checked for table in query["seq_scans"]})
                counts = [query["sql"] for query in checked if query["full_count"]]
                detail = {
                    "label": scenario.label,
                    "url": url,
                    "p50_ms": round(p50, 1),
                    "raw_sql_p50_ms": round(_percentile(raw_times, 50), 1),
                    "spread_ms": _spread(timings),
                    "raw_sql_spread_ms": _spread(raw_times),
                    "queries": query_count,
                    "plans": checked,
                }
                holds = p95 < 100 and p95 <= raw_p95 + 50
                figures.append(
                    Figure(
                        f"list.{scenario.key}.p95",
                        round(p95, 1),
                        "ms",
                        "raw SQL of the same page's queries (EXPLAIN ANALYZE)",
                        round(raw_p95, 1),
                        _ratio(p95, raw_p95),
                        "< 100 ms and <= raw SQL + 50 ms",
                        holds,
                        detail,
                    )
                )
                figures.append(
                    Figure(
                        f"list.{scenario.key}.vs_admin",
                        round(p95, 1),
                        "ms",
                        "Django admin changelist, same data and order (p95)",
                        round(admin_p95, 1),
                        _ratio(p95, admin_p95),
                        "comparison",
                        None,
                        {"admin_url": admin_url, "admin_p50_ms": round(_percentile(admin_timings, 50), 1)},
                    )
                )
                figures.append(
                    Figure(
                        f"list.{scenario.key}.plans",
                        len(seq) + len(counts),
                        "unindexed scans + full counts",
                        "none",
                        0,
                        None,
                        "every query index-served, no full COUNT(*)",
                        not seq and not counts,
                        {"seq_scans": seq, "full_counts": counts},
                    )
                )
                self.stdout.write(
                    f"  {scenario.label:<44} p50 {p50:6.1f} p95 {p95:6.1f} ms · raw SQL {raw_p95:6.1f} ms"
                    f" · admin {admin_p95:7.1f} ms · {query_count} queries{' · SEQ SCAN ' + ','.join(seq) if seq else ''}"
                )
        return figures

    def _queries_per_page(self) -> list[Figure]:
        figures = []
        for who, user in (("operator", self.operator), ("msp", self.msp_admin)):
            client = self._client(user)
            counts = {}
            for size in (settings.PORTAL_PAGE_SIZES[0], settings.PORTAL_PAGE_SIZES[-1]):
                url = f"{LIST_URL}?per_page={size}"
                client.get(url, secure=True)
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(url, secure=True)
                if response.status_code != 200:
                    raise CommandError(f"GET {url} answered {response.status_code}")
                counts[size] = len(captured.captured_queries)
            small, large = counts.values()
            sizes = list(counts)
            figures.append(
                Figure(
                    f"list.queries_per_page.{who}",
                    large,
                    f"queries at {sizes[1]} rows",
                    f"queries at {sizes[0]} rows",
                    small,
                    _ratio(large, small),
                    "the same number whatever the page size",
                    large == small,
                )
            )
        return figures

    # --- honest numbers: the machine's load around each phase -------------------------------

    def _phase(self, name: str, measure) -> list[Figure]:
        """Run one phase between two samples of the load and CPU counters; every figure of the
        phase carries them, and is marked when the load exceeded the cores (a busy machine)."""
        before = load_sample()
        figures = measure()
        load = {"phase": name, **load_between(before, load_sample(), os.cpu_count() or 1)}
        self.phases.append(load)
        for figure in figures:
            figure.detail["load"] = load
        mark = " (load above the cores: figures marked)" if load["over_cores"] else ""
        self.stdout.write(
            f"  [{name}] load {load['load_before']} → {load['load_after']}, CPU busy {load['cpu_busy_pct']}%,"
            f" steal {load['cpu_steal_pct']}%{mark}"
        )
        return figures

    # --- 1b. the daily pages ---------------------------------------------------------------

    def _page_figures(self) -> list[Figure]:
        self.stdout.write("Daily pages…")
        users = bench_users()
        clients = {key: self._client(user) for key, user in users.items()}
        figures = []
        for scenario in page_scenarios(users):
            timings, raw_times, checked, query_count = alternated(
                self, clients[scenario.who], scenario.url, runs=self.options["requests"], warmup=self.options["warmup"]
            )
            p50, p95 = _percentile(timings, 50), _percentile(timings, 95)
            raw_p95 = _percentile(raw_times, 95)
            seq = sorted({table for query in checked for table in query["seq_scans"]})
            counts = [query["sql"] for query in checked if query["full_count"]]
            figures.append(
                Figure(
                    f"page.{scenario.key}.p95",
                    round(p95, 1),
                    "ms",
                    "raw SQL of the same page's queries (EXPLAIN ANALYZE)",
                    round(raw_p95, 1),
                    _ratio(p95, raw_p95),
                    f"< {PAGE_BAR_MS} ms",
                    p95 < PAGE_BAR_MS,
                    {
                        "label": scenario.label,
                        "url": scenario.url,
                        "p50_ms": round(p50, 1),
                        "spread_ms": _spread(timings),
                        "raw_sql_spread_ms": _spread(raw_times),
                        "queries": query_count,
                        "plans": checked,
                    },
                )
            )
            figures.append(
                Figure(
                    f"page.{scenario.key}.plans",
                    len(seq) + len(counts),
                    "unindexed scans + full counts",
                    "none",
                    0,
                    None,
                    "every query index-served, no full COUNT(*)",
                    not seq and not counts,
                    {"seq_scans": seq, "full_counts": counts},
                )
            )
            self.stdout.write(
                f"  {scenario.label:<52} p50 {p50:6.1f} p95 {p95:6.1f} ms · raw SQL {raw_p95:6.1f} ms"
                f" · {query_count} queries{' · SEQ SCAN ' + ','.join(seq) if seq else ''}"
            )
        return figures

    # --- 1c. growth: the same scenarios on a second, smaller database ----------------------

    def _growth_figures(self, figures: list[Figure], other: str, skip: set[str]) -> list[Figure]:
        """Each list and page scenario's p95 here beside its p95 on `other` (e.g. 100,000
        accounts), measured now in the same run: an index range grows with log n, so at ten
        times the accounts a page may cost at most 1.5 times as much."""
        here = connection.settings_dict["NAME"]
        mine = {f.name: f for f in figures if f.name.endswith(".p95") and f.name.startswith(("list.", "page."))}
        self.stdout.write(f"Growth: the same scenarios on {other}…")
        self._use_database(other)
        users = (self.msp_admin, self.operator, self.superuser)
        try:
            # The same benchmark users, as that database stores them (their ids differ).
            self.msp_admin, self.operator, self.superuser = (User.objects.get(email=user.email) for user in users)
            accounts = CustomerAccount.objects.count()
            theirs = []
            if "list" not in skip:
                theirs += self._list_figures()
            if "pages" not in skip:
                theirs += self._page_figures()
        finally:
            self._use_database(here)
            self.msp_admin, self.operator, self.superuser = users
        result = []
        for figure in theirs:
            own = mine.get(figure.name)
            if own is None or figure.value is None:
                continue
            ratio = _ratio(own.value, figure.value)
            result.append(
                Figure(
                    f"growth.{figure.name.removesuffix('.p95')}",
                    own.value,
                    "ms (p95)",
                    f"the same scenario at {accounts:,} accounts ({other})",
                    figure.value,
                    ratio,
                    "<= 1.5x",
                    ratio is not None and ratio <= 1.5,
                    {"accounts_here": self.accounts, "accounts_there": accounts, "there": figure.detail},
                )
            )
        return result

    # --- 3. and 4. exports -----------------------------------------------------------------

    def _spawn(self, job: dict) -> dict:
        # The child uses this process's database (under pytest, the test database).
        job = {**job, "database": connection.settings_dict["NAME"]}
        command = [sys.executable, "manage.py", "bench", "--child", json.dumps(job)]
        completed = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            command, cwd=settings.BASE_DIR, capture_output=True, text=True, check=False, env=os.environ.copy()
        )
        if completed.returncode != 0:
            raise CommandError(f"{job['variant']} failed:\n{completed.stderr[-3000:]}")
        return json.loads(completed.stdout.strip().splitlines()[-1])

    def _export_repeat(self) -> int:
        return 1 if self.options["quick"] else max(1, self.options["export_repeat"])

    def _fastest(self, runs: list[dict]) -> dict:
        """The fastest of repeated runs of one export, with the highest peak memory seen in any
        of them: one run on a shared 2-core machine can lose a second to a neighbour."""
        best = min(runs, key=lambda run: run["seconds"])
        return {**best, "peak_mb": max(run["peak_mb"] for run in runs), "runs": [round(r["seconds"], 2) for r in runs]}

    def _export_subset(self) -> dict:
        """An operator filter selecting roughly a tenth of the accounts (the MSP that holds 10 %)."""
        second = Organization.objects.filter(name__startswith=BENCH_MSP_PREFIX).order_by("pk")[1]
        return {"organization": str(second.pk)}

    def _csv_figures(self) -> list[Figure]:
        self.stdout.write("CSV export…")
        subset = self._export_subset()
        full_runs, copy_runs = [], []
        for _ in range(self._export_repeat()):
            full_runs.append(self._spawn({"variant": "csv", "params": {}}))
            copy_runs.append(self._psql_copy({}))
        full, copy_seconds = self._fastest(full_runs), min(copy_runs)
        small = self._spawn({"variant": "csv", "params": subset})
        self.stdout.write(
            f"  csv all {full['rows']:,} rows {full['seconds']:.1f}s (peak +{full['peak_mb']:.0f} MB)"
            f" · psql \\copy {copy_seconds:.1f}s · csv {small['rows']:,} rows peak +{small['peak_mb']:.0f} MB"
        )
        growth = full["peak_mb"] - small["peak_mb"]
        return [
            Figure(
                "csv.all_rows.seconds",
                round(full["seconds"], 2),
                "s",
                "psql \\copy (same SELECT) TO file, CSV",
                round(copy_seconds, 2),
                _ratio(full["seconds"], copy_seconds),
                "<= 2x psql \\copy",
                full["seconds"] <= 2 * copy_seconds,
                {
                    "rows": full["rows"],
                    "bytes": full["bytes"],
                    "runs": full["runs"],
                    "baseline_runs": [round(r, 2) for r in copy_runs],
                },
            ),
            Figure(
                "csv.peak_memory_growth",
                round(full["peak_mb"], 1),
                f"MB at {full['rows']:,} rows",
                f"MB at {small['rows']:,} rows",
                round(small["peak_mb"], 1),
                _ratio(full["peak_mb"], small["peak_mb"]),
                "flat: at most 25 MB more for all rows",
                growth <= 25,
            ),
        ]

    def _excel_figures(self) -> list[Figure]:
        self.stdout.write("Excel export…")
        rows = self.options["excel_rows"] if not self.options["quick"] else min(self.options["excel_rows"], 2000)
        large_rows = self.accounts if not self.options["quick"] else min(self.accounts, 10_000)
        product_runs, baseline_runs = [], []
        for _ in range(self._export_repeat()):
            product_runs.append(self._spawn({"variant": "xlsx", "params": {}, "rows": rows}))
            baseline_runs.append(self._spawn({"variant": "xlsxwriter", "params": {}, "rows": rows}))
        product, baseline = self._fastest(product_runs), self._fastest(baseline_runs)
        large = self._spawn({"variant": "xlsx", "params": {}, "rows": large_rows})
        self.stdout.write(
            f"  xlsx {product['rows']:,} rows {product['seconds']:.1f}s (+{product['peak_mb']:.0f} MB)"
            f" · xlsxwriter {baseline['seconds']:.1f}s (+{baseline['peak_mb']:.0f} MB)"
            f" · xlsx {large['rows']:,} rows {large['seconds']:.1f}s (+{large['peak_mb']:.0f} MB)"
        )
        return [
            Figure(
                f"excel.{rows}_rows.seconds",
                round(product["seconds"], 2),
                "s",
                "xlsxwriter constant_memory, same rows",
                round(baseline["seconds"], 2),
                _ratio(product["seconds"], baseline["seconds"]),
                "<= 1.3x xlsxwriter",
                product["seconds"] <= 1.3 * baseline["seconds"],
                {
                    "rows": product["rows"],
                    "bytes": product["bytes"],
                    "baseline_bytes": baseline["bytes"],
                    "runs": product["runs"],
                    "baseline_runs": baseline["runs"],
                },
            ),
            Figure(
                f"excel.{rows}_rows.peak_memory_growth",
                round(product["peak_mb"], 1),
                "MB",
                "xlsxwriter constant_memory, same rows",
                round(baseline["peak_mb"], 1),
                _ratio(product["peak_mb"], baseline["peak_mb"]),
                "< 100 MB",
                product["peak_mb"] < 100,
            ),
            Figure(
                "excel.all_rows.peak_memory_growth",
                round(large["peak_mb"], 1),
                f"MB at {large['rows']:,} rows",
                f"the same export at {product['rows']:,} rows",
                round(product["peak_mb"], 1),
                _ratio(large["peak_mb"], product["peak_mb"]),
                "< 100 MB and the same (within 25 MB) as the smaller export",
                large["peak_mb"] < 100 and large["peak_mb"] - product["peak_mb"] <= 25,
                {"rows": large["rows"], "seconds": round(large["seconds"], 2), "bytes": large["bytes"]},
            ),
        ]

    def _psql_copy(self, params: dict) -> float:
        from exports.columns import resolve_columns
        from exports.datasets import get_dataset

        psql = shutil.which("psql")
        if psql is None:
            raise CommandError("psql is not installed (the CSV baseline is psql \\copy).")
        queryset, columns = get_dataset("customers").build(self.operator, _query_dict(params))
        fields = [column.field for column in resolve_columns(columns)]
        sql, sql_params = queryset.values_list(*fields).query.sql_with_params()
        with connection.cursor() as cursor:
            statement = cursor.mogrify(sql, sql_params)
        statement = statement.decode() if isinstance(statement, bytes) else statement
        db = connection.settings_dict
        env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
        with tempfile.TemporaryDirectory() as directory:
            target = os.path.join(directory, "copy.csv")
            command = [
                psql,
                "-X",
                "-q",
                "-h",
                db.get("HOST") or "localhost",
                "-p",
                str(db.get("PORT") or 5432),
                "-U",
                db.get("USER") or "postgres",
                "-d",
                db["NAME"],
                "-c",
                f"\\copy ({statement}) TO '{target}' WITH (FORMAT csv, HEADER)",
            ]
            started = time.perf_counter()
            subprocess.run(command, env=env, capture_output=True, check=True)  # noqa: S603
            return time.perf_counter() - started

    def _child(self, job: dict) -> None:
        """One export in this (child) process: time and peak memory growth, as JSON."""
        from exports.columns import iter_rows, resolve_columns
        from exports.datasets import get_dataset

        operator = User.objects.get(email=BENCH_OPERATOR)
        variant = job["variant"]
        params = _query_dict(job.get("params", {}))
        if variant == "csv":
            client = self._client(operator)
            url = f"{CSV_URL}?{params.urlencode()}" if params else CSV_URL
            client.get(f"{LIST_URL}?per_page=25", secure=True)  # warm the imports, templates and connection
            _reset_peak_rss()
            before = _status_mb("VmRSS")
            started = time.perf_counter()
            response = client.get(url, secure=True)
            if response.status_code != 200:
                raise CommandError(f"GET {url} answered {response.status_code}")
            written = lines = 0
            for chunk in response.streaming_content:
                written += len(chunk)
                lines += chunk.count(b"\n")
            seconds = time.perf_counter() - started
            result = {"rows": lines - 1, "bytes": written}
        else:
            dataset = get_dataset("customers")
            queryset, columns = dataset.build(operator, params)
            queryset = queryset[: job["rows"]]
            resolved = resolve_columns(columns)
            from exports.services import export_xlsx_direct

            def write(rows_queryset) -> tuple[int, int]:
                with tempfile.TemporaryFile(suffix=".xlsx") as target:
                    if variant == "xlsx":
                        rows = export_xlsx_direct(
                            user=operator,
                            dataset=dataset,
                            params=params,
                            queryset=rows_queryset,
                            columns=columns,
                            target=target,
                        )
                    elif variant == "xlsxwriter":
                        rows = xlsxwriter_constant_memory(iter_rows(rows_queryset, resolved), resolved, target)
                    else:
                        raise CommandError(f"unknown variant {variant}")
                    target.seek(0, os.SEEK_END)
                    return rows, target.tell()

            # Warm up with the same writer on a few rows: imports, the connection and first-call
            # costs are not the steady state either export is measured in.
            write(queryset[:WARM_UP_ROWS])
            _reset_peak_rss()
            before = _status_mb("VmRSS")
            started = time.perf_counter()
            rows, written = write(queryset)
            seconds = time.perf_counter() - started
            result = {"rows": rows, "bytes": written}
        peak = _status_mb("VmHWM") - before
        self.stdout.write(json.dumps({**result, "seconds": seconds, "peak_mb": peak}))

    # --- 5. the monthly consumption --------------------------------------------------------

    def _billing_figures(self) -> list[Figure]:
        from billing_jobs.selectors import latest_due_period

        self.stdout.write("Monthly consumption…")
        period = latest_due_period(dates.today())
        name = connection.settings_dict["NAME"]
        run_db, base_db = f"{name}_run", f"{name}_base"
        started = time.perf_counter()
        self._copy_database(name, [run_db, base_db])
        self.stdout.write(f"  copied the database twice in {time.perf_counter() - started:.0f}s")
        try:
            self._settle(run_db)
            baseline_seconds = self._baseline_charge(base_db, period)
            # The baseline's 850,000 new rows would otherwise be vacuumed and flushed during the
            # product's run, on the same two cores: clean up after it first, untimed.
            self._settle(base_db)
            product_seconds, day_seconds, job_counts = self._product_charge(run_db, period)
            product_state, baseline_state = self._state(run_db, period), self._state(base_db, period)
        finally:
            self._drop_databases([run_db, base_db])
        same = product_state == baseline_state
        second_seconds, no_charge_seconds = day_seconds
        self.stdout.write(
            f"  product {product_seconds:.1f}s · one statement {baseline_seconds:.1f}s · second run"
            f" {second_seconds:.2f}s · day without a charge {no_charge_seconds:.2f}s"
            f" · {product_state['charged']:,} charged · same end state: {same}"
        )
        return [
            Figure(
                "billing.monthly_consumption.seconds",
                round(product_seconds, 2),
                "s",
                "one set-based INSERT … SELECT + balance updates, identical copy",
                round(baseline_seconds, 2),
                _ratio(product_seconds, baseline_seconds),
                "<= 2x the statement and < 60 s, same end state",
                product_seconds <= 2 * baseline_seconds and product_seconds < 60 and same,
                {"period": period, "product_state": product_state, "baseline_state": baseline_state},
            ),
            Figure(
                "billing.second_run.seconds",
                round(second_seconds, 2),
                "s",
                "first run",
                round(product_seconds, 2),
                _ratio(second_seconds, product_seconds),
                "the day's whole run again (suspension included): < 5 s, posts nothing",
                second_seconds < 5 and job_counts["second_charged"] == 0 and job_counts["second_status"] == "succeeded",
                job_counts,
            ),
            Figure(
                "billing.no_charge_day.seconds",
                round(no_charge_seconds, 2),
                "s",
                "first run",
                round(product_seconds, 2),
                _ratio(no_charge_seconds, product_seconds),
                "the next day's whole run (suspension included): < 5 s, posts nothing",
                no_charge_seconds < 5
                and job_counts["no_charge_day_charged"] == 0
                and job_counts["no_charge_day_status"] == "succeeded",
                job_counts,
            ),
        ]

    def _settle(self, database: str) -> None:
        """VACUUM ANALYZE the tables a charge writes and write dirty buffers out (CHECKPOINT needs
        a superuser; without one it is skipped), so that a timed run does not pay for another
        database's cleanup."""
        import psycopg

        dsn = _maintenance_dsn(connection.settings_dict).rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) points_transfer, points_ledgeraccount")
            with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                conn.execute("CHECKPOINT")

    def _admin_connection(self):
        import psycopg

        return psycopg.connect(_maintenance_dsn(connection.settings_dict), autocommit=True)

    def _copy_database(self, source: str, targets: list[str]) -> None:
        connection.close()
        with self._admin_connection() as admin:
            # CREATE DATABASE … TEMPLATE needs the source to itself: end idle sessions left on
            # the benchmark database (e.g. by finished threads); an active one makes it fail.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid() AND state = 'idle'",
                [source],
            )
            for target in targets:
                admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY')

    def _drop_databases(self, names: list[str]) -> None:
        with self._admin_connection() as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _use_database(self, name: str) -> None:
        connection.close()
        connection.settings_dict["NAME"] = name

    def _product_charge(self, database: str, period: str) -> tuple[float, tuple[float, float], dict]:
        """The monthly consumption (what the baseline does), then the daily run of its 25th
        again and of the 26th, each whole: due cancellations, planning the consumption (nothing
        is left to charge), suspension and, on their days, reminders. The 26th is tomorrow when
        today is a 25th; the copy is dropped afterwards."""
        from billing_jobs.services import charge_period, run_billing

        charge_day = dates.charge_date(period)
        original = connection.settings_dict["NAME"]
        try:
            self._use_database(database)
            started = time.perf_counter()
            first = charge_period(period, inline=True, workers=self.charge_workers, triggered_by="bench")
            first_seconds = time.perf_counter() - started
            started = time.perf_counter()
            second = run_billing(charge_day, inline=True, workers=self.charge_workers, triggered_by="bench")
            second_seconds = time.perf_counter() - started
            started = time.perf_counter()
            next_day = run_billing(
                charge_day + dt.timedelta(days=1), inline=True, workers=self.charge_workers, triggered_by="bench"
            )
            next_day_seconds = time.perf_counter() - started
        finally:
            self._use_database(original)

        def charged(job) -> int:
            return sum(row["accounts"] for row in job.counts.get("charged", {}).values())

        def steps(job) -> dict:
            return {key: value for key, value in job.counts.items() if key != "charged"}

        counts = {
            "first_status": first.status,
            "first_charged": charged(first),
            "chunks": first.chunks_total,
            "workers": self.charge_workers,
            "second_status": second.status,
            "second_charged": charged(second),
            "second_steps": steps(second),
            "no_charge_day_status": next_day.status,
            "no_charge_day_charged": charged(next_day),
            "no_charge_day_steps": steps(next_day),
        }
        return first_seconds, (second_seconds, next_day_seconds), counts

    def _baseline_charge(self, database: str, period: str) -> float:
        import psycopg

        from points.models import ConsumptionRule
        from points.rules import consumption_sql, rule_at

        charge_day = dates.charge_date(period)
        rule = rule_at(charge_day)
        next_day = dates.label_charge_day(dates.today())
        next_rule: ConsumptionRule = rule_at(next_day)
        moment = dates.start_of_day(charge_day)
        params = {
            "period": period,
            "day": charge_day,
            "day_text": charge_day.isoformat(),
            "moment": moment,
            "now": dt.datetime.now(dt.UTC),
            "rule_id": rule.pk,
            "base": rule.base_points,
            "included": rule.included_users,
            "per_user": rule.points_per_extra_user,
            "next_day": next_day,
            "next_moment": dates.start_of_day(next_day),
        }
        dsn = _maintenance_dsn(connection.settings_dict).rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(dsn) as conn:
            started = time.perf_counter()
            conn.execute(
                BASELINE_CHARGE_SQL.format(
                    amount=consumption_sql(rule, "u.users"),
                    next_amount=consumption_sql(next_rule, "c.contracted_users"),
                ),
                params,
            )
            conn.commit()
            return time.perf_counter() - started

    def _state(self, database: str, period: str) -> dict:
        import psycopg

        dsn = _maintenance_dsn(connection.settings_dict).rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(dsn) as conn:
            charged, points = conn.execute(
                "SELECT count(*), COALESCE(sum(amount), 0) FROM points_transfer"
                " WHERE kind = 'consumption' AND period = %s",
                [period],
            ).fetchone()
            wallets, estimate, seqs = conn.execute(
                "SELECT sum(balance), sum(estimated_balance), sum(last_seq) FROM points_ledgeraccount"
                " WHERE kind = 'wallet'"
            ).fetchone()
            consumed = conn.execute("SELECT balance FROM points_ledgeraccount WHERE kind = 'consumed'").fetchone()[0]
        return {
            "charged": charged,
            "points": int(points),
            "estimates": int(estimate),
            "wallet_balances": int(wallets),
            "wallet_seqs": int(seqs),
            "consumed": int(consumed),
        }


def _folded(text: str) -> str:
    from customers.search import search_normalize

    return search_normalize(text)


def _query_dict(params: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query[key] = str(value)
    return query


# The baseline of the monthly run: the same eligibility (billing_jobs.selectors), contracted
# users in force at 00:00 of the 25th, rule and snapshot as the product's chunks, in ONE
# statement over all accounts: insert the transfers, move the wallets (balance and estimate)
# and the consumed account. Every account has its wallet.
BASELINE_CHARGE_SQL = """
WITH due AS (
    SELECT c.id AS customer_id, w.id AS wallet_id, w.balance AS wallet_balance, w.last_seq AS wallet_seq,
           u.users, {amount} AS amount
    FROM accounts_customeraccount c
    JOIN points_ledgeraccount w ON w.customer_id = c.id AND w.kind = 'wallet'
    CROSS JOIN LATERAL (
        SELECT COALESCE(
            (SELECT cc.new_users FROM accounts_contractchange cc
              WHERE cc.customer_id = c.id AND cc.effective_at <= %(moment)s
              ORDER BY cc.effective_at DESC, cc.id DESC LIMIT 1),
            (SELECT cc.old_users FROM accounts_contractchange cc
              WHERE cc.customer_id = c.id AND cc.effective_at > %(moment)s
              ORDER BY cc.effective_at, cc.id LIMIT 1),
            c.contracted_users) AS users
    ) u
    WHERE c.status = 'active'
      AND c.activated_at < %(moment)s
      AND (c.cancellation_date IS NULL OR c.cancellation_date > %(day)s)
      AND NOT EXISTS (
            SELECT 1 FROM points_transfer t
            WHERE t.kind = 'consumption' AND t.customer_id = c.id AND t.period = %(period)s)
),
inserted AS (
    INSERT INTO points_transfer (
        debit_account_id, credit_account_id, amount, kind, customer_id, period, memo, order_reference,
        created_at, idempotency_key, request_hash, debit_seq, debit_balance_after, snapshot)
    SELECT due.wallet_id, (SELECT id FROM points_ledgeraccount WHERE kind = 'consumed'), due.amount,
           'consumption', due.customer_id, %(period)s, '', '', %(now)s,
           'consume:' || due.customer_id || ':' || %(period)s, '', due.wallet_seq + 1,
           due.wallet_balance - due.amount,
           jsonb_build_object('period', %(period)s::text, 'charge_date', %(day_text)s::text,
               'contracted_users', due.users, 'rule_id', %(rule_id)s::bigint, 'base_points', %(base)s::bigint,
               'included_users', %(included)s::bigint, 'points_per_extra_user', %(per_user)s::bigint)
    FROM due WHERE due.amount > 0
    ON CONFLICT DO NOTHING
    RETURNING debit_account_id, customer_id, amount
),
wallets AS (
    UPDATE points_ledgeraccount w
    SET balance = w.balance - i.amount, last_seq = w.last_seq + 1,
        estimated_balance = w.balance - i.amount - CASE
            WHEN c.status = 'active' AND c.activated_at < %(next_moment)s
                 AND (c.cancellation_date IS NULL OR c.cancellation_date > %(next_day)s)
            THEN {next_amount}
            ELSE 0 END
    FROM inserted i JOIN accounts_customeraccount c ON c.id = i.customer_id
    WHERE w.id = i.debit_account_id
)
UPDATE points_ledgeraccount SET balance = balance + (SELECT COALESCE(sum(amount), 0) FROM inserted)
WHERE kind = 'consumed'
"""
