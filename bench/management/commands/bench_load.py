"""Load on the customer list (issue 19): simulated MSP admins browsing it against gunicorn with
production settings, beside the same load on the Django admin's changelist.

`make load` runs it on a bench_seed database: each of `--users` (20 and 50 by default) for
`--seconds` (60), first on the portal's list, then on the admin changelist, through locust
headless (bench/locustfile.py). Reported per run: requests/s, p50/p95/p99 and errors, with the
load average and CPU steal around it (bench.json's honest numbers); the bar at 20 users is
≥ 40 requests/s, p95 < 300 ms and no error."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.models import User
from bench.management.commands.bench import (
    ADMIN_URL,
    LIST_URL,
    SEARCH_KANA,
    SEARCH_KANJI,
    load_between,
    load_sample,
)
from bench.management.commands.bench import (
    Command as BenchCommand,
)
from bench.management.commands.bench_seed import BENCH_MSP_ADMIN, BENCH_SUPERUSER
from customers.models import CustomerAccount

BAR_USERS = 20
BAR_RPS = 40
BAR_P95_MS = 300


class Command(BaseCommand):
    help = "Load the customer list with simulated MSP admins (locust, headless) against gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--users", default="20,50", help="simulated users per run, comma-separated")
        parser.add_argument("--seconds", type=int, default=60)
        parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--targets", default="portal,admin")
        parser.add_argument("--out", default="load.json")
        parser.add_argument("--no-fail", action="store_true")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_load needs a bench_seed PostgreSQL database: set DATABASE_URL.")
        try:
            msp_admin = User.objects.get(email=BENCH_MSP_ADMIN)
            superuser = User.objects.get(email=BENCH_SUPERUSER)
        except User.DoesNotExist:
            raise CommandError("No benchmark data here: run `manage.py bench_seed --accounts N` first.") from None
        counts = [int(n) for n in options["users"].split(",") if n.strip()]
        targets = [t.strip() for t in options["targets"].split(",") if t.strip()]
        work = Path(tempfile.mkdtemp(prefix="bench-load-"))
        data = self._data(msp_admin, superuser, max(counts))
        (work / "data.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        connection.close()
        server = self._gunicorn(options)
        results = []
        try:
            self._warm_up(data, options)
            for target in targets:
                for users in counts:
                    results.append(self._run(work, target, users, options))
        finally:
            server.terminate()
            server.wait(timeout=30)
        report = {"workers": options["workers"], "seconds": options["seconds"], "cpus": os.cpu_count(), "runs": results}
        Path(options["out"]).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        self.stdout.write("")
        self.stdout.write(f"{'run':<22} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>7}  load  holds")
        failed = []
        for run in results:
            mark = "*" if run["load"]["over_cores"] else ""
            holds = {True: "yes", False: "NO", None: "info"}[run["holds"]]
            self.stdout.write(
                f"{run['name'] + mark:<22} {run['rps']:>7.1f} {run['p50_ms']:>6.0f} {run['p95_ms']:>6.0f}"
                f" {run['p99_ms']:>6.0f} {run['errors']:>7}  {run['load']['load_after']!s:>4}  {holds}"
            )
            if run["holds"] is False:
                failed.append(run["name"])
        self.stdout.write(f"\nReport written to {options['out']}; * the load exceeded the cores (a busy machine).")
        if failed and not options["no_fail"]:
            self.stdout.write(self.style.ERROR(f"Bar not held: {', '.join(failed)}"))
            sys.exit(1)

    def _data(self, msp_admin: User, superuser: User, users: int) -> dict:
        """One signed-in session per simulated user (second factor verified), and what they browse."""
        bench = BenchCommand()
        portal = [bench._client(msp_admin).cookies["sessionid"].value for _ in range(users)]
        admin = [bench._client(superuser).cookies["sessionid"].value for _ in range(users)]
        customers = list(
            CustomerAccount.objects.filter(organization=msp_admin.organization, status="active")
            .order_by("-registered_at")
            .values_list("pk", flat=True)[:200]
        )
        organization = msp_admin.organization.pk
        return {
            "portal": portal,
            "admin": admin,
            "customers": customers,
            "terms": [SEARCH_KANJI, SEARCH_KANA, "札幌", "電機", "bench-00012", "ヤマダ", "c12345"],
            "list_url": LIST_URL,
            "admin_url": ADMIN_URL,
            "popup_url": "/customers/{id}/contract/",
            "admin_change_url": ADMIN_URL + "{id}/change/",
            "portal_sorts": [
                "sort=estimated_balance",
                "sort=-estimated_balance",
                "sort=company_name_kana",
                "sort=-registered_at",
            ],
            "admin_sorts": ["o=-5", "o=5", "o=2"],
            "portal_filters": ["status=active", "shortage=yes", "status=pending_approval"],
            "admin_filters": ["shortage=yes", f"organization__id__exact={organization}"],
            "portal_page": "page",
            "admin_page": "p",
        }

    def _gunicorn(self, options) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.load_settings",
            "BEHIND_TLS_PROXY": "true",
            "DEBUG": "false",
        }
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "msp_portal.wsgi",
            "--workers",
            str(options["workers"]),
            "--bind",
            f"127.0.0.1:{options['port']}",
            "--log-level",
            "warning",
        ]
        server = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)  # noqa: S603 - our own interpreter
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", options["port"]), timeout=2):
                    return server
            except OSError:
                time.sleep(0.5)
        server.terminate()
        raise CommandError("gunicorn did not answer within 60 s")

    def _warm_up(self, data: dict, options) -> None:
        """Untimed requests first, enough for every worker to have loaded its code, templates
        and translations (a worker's first request is not what a user waits for all day)."""
        import http.client

        urls = [data["list_url"], f"{data['list_url']}?q={quote(data['terms'][0])}", data["admin_url"]]
        for index in range(options["workers"] * 4):
            for target, url in (("portal", urls[0]), ("portal", urls[1]), ("admin", urls[2])):
                conn = http.client.HTTPConnection("127.0.0.1", options["port"], timeout=60)
                cookie = data[target][index % len(data[target])]
                conn.request("GET", url, headers={"X-Forwarded-Proto": "https", "Cookie": f"sessionid={cookie}"})
                conn.getresponse().read()
                conn.close()

    def _run(self, work: Path, target: str, users: int, options) -> dict:
        name = f"{target}.{users}users"
        self.stdout.write(f"Load: {name}, {options['seconds']} s…")
        prefix = work / name
        env = {**os.environ, "LOAD_DATA": str(work / "data.json"), "LOAD_TARGET": target}
        command = [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(Path(settings.BASE_DIR) / "bench" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{options['seconds']}s",
            "--host",
            f"http://127.0.0.1:{options['port']}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        before = load_sample()
        subprocess.run(command, cwd=settings.BASE_DIR, env=env, check=False, capture_output=True)  # noqa: S603
        load = load_between(before, load_sample(), os.cpu_count() or 1)
        with open(f"{prefix}_stats.csv", encoding="utf-8") as stats:
            rows = {row["Name"]: row for row in csv.DictReader(stats)}
        total = rows["Aggregated"]
        run = {
            "name": name,
            "target": target,
            "users": users,
            "requests": int(total["Request Count"]),
            "errors": int(total["Failure Count"]),
            "rps": round(float(total["Requests/s"]), 1),
            "p50_ms": float(total["50%"]),
            "p95_ms": float(total["95%"]),
            "p99_ms": float(total["99%"]),
            "by_name": {
                key: {"p95_ms": float(row["95%"]), "requests": int(row["Request Count"])}
                for key, row in rows.items()
                if key != "Aggregated"
            },
            "load": load,
        }
        if target == "portal" and users == BAR_USERS:
            run["bar"] = f">= {BAR_RPS} req/s, p95 < {BAR_P95_MS} ms, 0 errors"
            run["holds"] = run["rps"] >= BAR_RPS and run["p95_ms"] < BAR_P95_MS and run["errors"] == 0
        else:
            run["holds"] = None
        self.stdout.write(
            f"  {run['rps']} req/s, p50 {run['p50_ms']:.0f} p95 {run['p95_ms']:.0f} p99 {run['p99_ms']:.0f} ms,"
            f" {run['errors']} errors"
        )
        return run
