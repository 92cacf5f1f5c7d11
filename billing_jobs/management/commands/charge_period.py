import re

from django.core.management.base import BaseCommand, CommandError

from billing_jobs.reports import print_job, print_msp_totals
from billing_jobs.selectors import owing_totals_by_msp
from billing_jobs.services import charge_period
from msp_portal import context, dates
from msp_portal.errors import DomainError


class Command(BaseCommand):
    help = (
        "Charge the consumption of one period (YYYY-MM) to every account that owed it and has not "
        "been charged: the explicit catch-up of a gap older than the daily run reaches "
        "(verify_ledger lists such gaps). Safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="The period YYYY-MM (its 25th must have come).")
        parser.add_argument("--dry-run", action="store_true", help="Print the per-MSP totals; change nothing.")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Charge the chunks in this many processes (PostgreSQL; default 1).",
        )

    def handle(self, *args, **options):
        period = options["period"]
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1.")
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
            raise CommandError(f"Not a period (YYYY-MM): {period!r}")
        if dates.charge_date(period) > dates.today():
            raise CommandError(f"The 25th of {period} has not come yet.")
        if options["dry_run"]:
            self.stdout.write(f"Dry run: charge of {period} (nothing is changed)")
            print_msp_totals(self.stdout, period, owing_totals_by_msp(period))
            return
        try:
            with context.acting(channel="command"):
                job = charge_period(period, workers=options["workers"], triggered_by="command")
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        print_job(self.stdout, job)
        if job.status == "failed":
            raise CommandError("The charge finished with errors.")
