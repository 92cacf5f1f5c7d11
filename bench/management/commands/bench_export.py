"""Benchmark the exports against their baselines (DESIGN.md §12). Not a test: it prints figures.

For N customer accounts of a dedicated benchmark MSP (created on first use), each variant runs
in its own process so that its peak memory (ru_maxrss) is its own:
  csv        the CSV download's stream (UTF-8 with BOM; COPY on PostgreSQL), bytes discarded
  csv-cp932  the same in Shift_JIS
  csv-python the portable CSV writer (the one SQLite uses) on the same rows
  xlsx       this engine's openpyxl write-only workbook, to a temporary file
  xlsxwriter xlsxwriter in constant_memory mode on the same rows (baseline for xlsx)
  psql-copy  `psql \\copy (the same query) TO /dev/null CSV` (baseline for csv; PostgreSQL only)
Memory is the growth during the export (peak RSS during it minus RSS before it, Linux only);
"cpu s" is the process's own CPU time (for psql-copy: the psql client's; the server's share is
in every variant's wall time), steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.services import organization_create
from customers.models import CustomerAccount
from msp_portal.permissions import OrganizationKind, Role
from points import ledger
from points.models import LedgerAccount

BENCH_ORG = "Export benchmark MSP"
BENCH_USER = "bench-export@example.invalid"
# (variant, its baseline) pairs whose ratio is printed: DESIGN.md §12's bars.
RATIOS = (("csv", "psql-copy"), ("csv-python", "psql-copy"), ("xlsx", "xlsxwriter"))
# Rows each child exports, untimed, before its measured export.
WARM_UP_ROWS = 2_000
VARIANTS = ("psql-copy", "csv", "csv-cp932", "csv-python", "xlsx", "xlsxwriter")


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM = peak RSS)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise CommandError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> None:
    # Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS, so the
    # peak measured afterwards belongs to the export alone, not to start-up.
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _cpu_seconds(who=resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class Command(BaseCommand):
    help = "Measure rows/s and peak memory of the CSV and Excel exports beside psql \\copy and xlsxwriter."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=100_000)
        parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {VARIANTS}")
        parser.add_argument(
            "--repeat",
            type=int,
            default=1,
            help="runs per variant; the best wall and the best CPU time are shown (each its own minimum)",
        )
        parser.add_argument("--child", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["child"]:
            return self._child(options["child"], options["rows"])
        if not settings.DEBUG and "bench" not in connection.settings_dict["NAME"]:
            self.stderr.write("Note: this command adds benchmark customer accounts to the configured database.")
        user = self._ensure_rows(options["rows"])
        variants = [name.strip() for name in options["variants"].split(",") if name.strip()]
        unknown = set(variants) - set(VARIANTS)
        if unknown:
            raise CommandError(f"Unknown variants: {', '.join(sorted(unknown))}")
        self.stdout.write(
            f"{options['rows']:,} rows, {connection.vendor}, Python {sys.version.split()[0]}, user {user.email}"
        )
        self.stdout.write(f"{'variant':<12} {'seconds':>8} {'rows/s':>10} {'cpu s':>7} {'peak MB':>8} {'size MB':>8}")
        if connection.vendor != "postgresql" and "psql-copy" in variants:
            self.stdout.write(f"{'psql-copy':<12} (PostgreSQL only)")
            variants.remove("psql-copy")
        # Rounds over all variants rather than all runs of one variant after another: a slow
        # minute of a shared machine then slows every variant once instead of one variant.
        runs: dict[str, list[dict]] = {variant: [] for variant in variants}
        for _ in range(options["repeat"]):
            for variant in variants:
                runs[variant].append(self._spawn(variant, options["rows"]))
        results = {}
        for variant in variants:
            best = dict(runs[variant][0])
            for result in runs[variant][1:]:
                best["seconds"] = min(best["seconds"], result["seconds"])
                best["cpu"] = min(best["cpu"], result["cpu"])
                if result["peak_mb"] is not None:
                    best["peak_mb"] = max(best["peak_mb"], result["peak_mb"])
            results[variant] = best
            rate = best["rows"] / best["seconds"] if best["seconds"] else 0
            peak = f"{best['peak_mb']:8.1f}" if best.get("peak_mb") is not None else f"{'-':>8}"
            self.stdout.write(
                f"{variant:<12} {best['seconds']:8.2f} {rate:10,.0f} {best['cpu']:7.2f} {peak}"
                f" {best['bytes'] / 1024 / 1024:8.1f}"
            )
        for variant, baseline in RATIOS:
            if variant in results and baseline in results:
                self.stdout.write(self._ratio(variant, baseline, results))

    @staticmethod
    def _ratio(variant: str, baseline: str, results: dict) -> str:
        ours, theirs = results[variant], results[baseline]
        line = f"{variant} / {baseline} = {ours['seconds'] / theirs['seconds']:.2f} (wall)"
        if baseline != "psql-copy" and theirs["cpu"]:
            # Both in this process: CPU time is the fairer figure on a loaded machine.
            line += f", {ours['cpu'] / theirs['cpu']:.2f} (cpu)"
        return line

    # --- data ------------------------------------------------------------------------------

    def _ensure_rows(self, rows: int) -> User:
        organization = Organization.objects.filter(name=BENCH_ORG, kind=OrganizationKind.MSP).first()
        if organization is None:
            organization = organization_create(actor=None, name=BENCH_ORG, kind=OrganizationKind.MSP)
        support = Organization.objects.filter(name="ベンチマーク サポート", parent=organization).first()
        if support is None:
            support = organization_create(
                actor=None, name="ベンチマーク サポート", kind=OrganizationKind.SUPPORT, parent=organization
            )
        user = User.objects.filter(email=BENCH_USER).first()
        if user is None:
            user = User.objects.create_user(BENCH_USER, name="Export benchmark")
            Membership.objects.create(user=user, organization=organization, role=Role.ADMIN)
        existing = CustomerAccount.objects.filter(organization=organization).count()
        if existing < rows:
            self.stdout.write(f"Creating {rows - existing:,} benchmark customer accounts…")
            start = timezone.now() - dt.timedelta(days=3650)
            batch = []
            for index in range(existing, rows):
                batch.append(
                    CustomerAccount(
                        organization=organization,
                        account_code=f"bench-{index:07d}",
                        company_name=f"株式会社ベンチマーク商事{index}" if index % 97 else f"=HYPERLINK({index})",
                        company_name_kana=f"ベンチマークショウジ{index}",
                        email_domain=f"bench{index}.example.jp",
                        contracted_users=10 + index % 990,
                        status="active" if index % 10 else "cancelled",
                        cancellation_date=dt.date(2026, 1 + index % 12, 1 + index % 28) if index % 7 == 0 else None,
                        support_account=support if index % 2 else None,
                        reseller_name=f"販売店{index % 50}",
                        registered_at=start + dt.timedelta(minutes=index),
                    )
                )
                if len(batch) == 5000:
                    self._create(batch)
                    batch = []
            if batch:
                self._create(batch)
        return user

    @staticmethod
    @transaction.atomic
    def _create(batch: list[CustomerAccount]) -> None:
        """The accounts with their wallets (balance and estimate as the list shows them)."""
        CustomerAccount.objects.bulk_create(batch)
        wallets = []
        for customer in batch:
            index = int(customer.account_code.removeprefix("bench-"))
            balance = (index * 37) % 20_000 - 5_000
            wallets.append(ledger.new_wallet(customer, balance=balance, estimate=balance - (10 + index % 990)))
        LedgerAccount.objects.bulk_create(wallets)

    def _spawn(self, variant: str, rows: int) -> dict:
        command = [sys.executable, "manage.py", "bench_export", "--child", variant, "--rows", str(rows)]
        completed = subprocess.run(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=settings.BASE_DIR, capture_output=True, text=True, check=False, env=os.environ.copy()
        )
        if completed.returncode != 0:
            raise CommandError(f"{variant} failed:\n{completed.stderr}")
        return json.loads(completed.stdout.strip().splitlines()[-1])

    # --- one variant, in a child process ----------------------------------------------------

    def _child(self, variant: str, rows: int) -> None:
        from exports.columns import iter_rows, resolve_columns

        user = User.objects.get(email=BENCH_USER)
        queryset, columns = bench_dataset(user)
        resolved = resolve_columns(columns)
        queryset = queryset[:rows]
        # Warm the imports, the connection and the writer's first calls with a small export of
        # the same variant, so that what follows is the steady-state export alone.
        list(iter_rows(queryset[:10], resolved))
        if variant != "psql-copy":
            getattr(self, "_" + variant.replace("-", "_"))(queryset[:WARM_UP_ROWS], resolved)
        _reset_peak_rss()
        before = _status_mb("VmRSS")
        started = time.perf_counter()
        if variant == "psql-copy":
            cpu_before = _cpu_seconds(resource.RUSAGE_CHILDREN)
            written = self._psql_copy(queryset, resolved)
            cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
            peak = None
        else:
            cpu_before = _cpu_seconds()
            written = getattr(self, "_" + variant.replace("-", "_"))(queryset, resolved)
            cpu = _cpu_seconds() - cpu_before
            peak = _status_mb("VmHWM") - before
        seconds = time.perf_counter() - started
        result = {"seconds": seconds, "cpu": cpu, "rows": rows, "peak_mb": peak, "bytes": written}
        self.stdout.write(json.dumps(result))

    def _csv(self, queryset, columns, encoding=None) -> int:
        from exports.csv import CsvEncoding, queryset_csv_chunks

        chunks = queryset_csv_chunks(queryset, columns, encoding=encoding or CsvEncoding.UTF8)
        return sum(len(chunk) for chunk in chunks)

    def _csv_cp932(self, queryset, columns) -> int:
        from exports.csv import CsvEncoding

        return self._csv(queryset, columns, CsvEncoding.CP932)

    def _csv_python(self, queryset, columns) -> int:
        from exports.columns import iter_rows
        from exports.csv import csv_chunks

        return sum(len(chunk) for chunk in csv_chunks(iter_rows(queryset, columns), columns))

    def _xlsx(self, queryset, columns) -> int:
        from exports.columns import iter_rows
        from exports.xlsx import write_xlsx

        with tempfile.TemporaryFile() as target:
            write_xlsx(iter_rows(queryset, columns), columns, target, title="bench")
            return target.tell()

    def _xlsxwriter(self, queryset, columns) -> int:
        from bench.baselines import xlsxwriter_constant_memory
        from exports.columns import iter_rows

        with tempfile.TemporaryFile() as target:
            xlsxwriter_constant_memory(iter_rows(queryset, columns), columns, target)
            return target.tell()

    def _psql_copy(self, queryset, columns) -> int:
        psql = shutil.which("psql")
        if psql is None:
            raise CommandError("psql is not installed")
        sql, params = queryset.values_list(*(column.field for column in columns)).query.sql_with_params()
        with connection.cursor() as cursor:
            statement = cursor.mogrify(sql, params)
        statement = statement.decode() if isinstance(statement, bytes) else statement
        db = connection.settings_dict
        env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
        target = [
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
            f"\\copy ({statement}) TO STDOUT WITH (FORMAT csv, HEADER)",
        ]
        completed = subprocess.run(target, env=env, capture_output=True, check=True)  # noqa: S603
        return len(completed.stdout)


def bench_dataset(user):
    """The customer list's export for `user` when the list provides it, else a column set of
    the same shape (account, company, status, numbers, dates, a joined name)."""
    from exports.datasets import get_dataset

    try:
        return get_dataset("customers").build(user, QueryDict())
    except LookupError:
        pass
    from django.utils.translation import gettext_lazy as _

    from customers.models import CustomerStatus
    from customers.selectors import customers_visible_to
    from exports.columns import ColumnType, ExportColumn

    columns = [
        ExportColumn("account_code", _("account code"), "account_code"),
        ExportColumn("company_name", _("company name"), "company_name"),
        ExportColumn("status", _("status"), "status", choices=CustomerStatus.choices),
        ExportColumn("contracted_users", _("contracted users"), "contracted_users", ColumnType.INT),
        ExportColumn("points_balance", _("current points"), "points_balance", ColumnType.INT),
        ExportColumn(
            "estimated_balance", _("estimated points after the next 25th"), "estimated_balance", ColumnType.INT
        ),
        ExportColumn("cancellation_date", _("cancellation date"), "cancellation_date", ColumnType.DATE),
        ExportColumn("support_account", _("support account"), "support_account__name"),
        ExportColumn("reseller_name", _("reseller name"), "reseller_name"),
        ExportColumn("registered_at", _("registered at"), "registered_at", ColumnType.DATETIME),
    ]
    return customers_visible_to(user).order_by("-registered_at", "-pk"), columns
