from django.core.management.base import BaseCommand, CommandError

from billing_jobs.selectors import missing_charges


class Command(BaseCommand):
    help = (
        "List the periods in which an eligible account has no consumption charge (the check "
        "verify_ledger runs). Exits with an error when there is any; charge a gap with charge_period."
    )

    def handle(self, *args, **options):
        gaps = missing_charges()
        for gap in gaps:
            self.stdout.write(
                f"{gap.period}: {gap.accounts} eligible account(s) not charged, e.g. customer ids "
                + ", ".join(str(pk) for pk in gap.sample_customer_ids)
            )
        if gaps:
            raise CommandError(
                "Eligible accounts are missing a charge: run `manage.py charge_period --period YYYY-MM`."
            )
        self.stdout.write("No eligible account is missing a charge.")
