from django.apps import AppConfig


class BillingJobsConfig(AppConfig):
    name = "billing_jobs"

    def ready(self):
        # verify_ledger also reports eligible accounts missing a charge (DESIGN.md §7).
        from points.selectors import LEDGER_CHECKS

        from .selectors import check_missing_charges

        if check_missing_charges not in LEDGER_CHECKS:
            LEDGER_CHECKS.append(check_missing_charges)
