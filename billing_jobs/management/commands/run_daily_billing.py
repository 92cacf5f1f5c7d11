import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from billing_jobs.reports import dry_run_report, print_job, print_report
from billing_jobs.services import run_billing
from msp_portal import context, dates


class Command(BaseCommand):
    help = (
        "Run the daily billing of a business date (Asia/Tokyo): due cancellations, the 25th's "
        "consumption (catching up the latest due period), suspension flags, reminder days. "
        "Safe to repeat: a second run posts nothing. --dry-run prints what would happen and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Run date YYYY-MM-DD (default: today in Asia/Tokyo).")
        parser.add_argument("--dry-run", action="store_true", help="Print what would happen; change nothing.")
        parser.add_argument(
            "--async", dest="fan_out", action="store_true", help="Fan the charge out to Celery workers and return."
        )

    def handle(self, *args, **options):
        run_date = parse_date(options["date"]) if options["date"] else dates.today()
        if run_date > dates.today():
            raise CommandError(f"{run_date} is in the future; the run of a date happens on or after it.")
        if options["dry_run"]:
            print_report(self.stdout, dry_run_report(run_date))
            return
        with context.acting(channel="command"):
            job = run_billing(run_date, inline=not options["fan_out"], triggered_by="command")
        print_job(self.stdout, job)
        if job.status == "failed":
            raise CommandError("The run finished with errors (see above and the job page).")


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None
