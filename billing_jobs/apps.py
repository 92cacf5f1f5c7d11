from django.apps import AppConfig


class BillingJobsConfig(AppConfig):
    name = "billing_jobs"

    def ready(self):
        # verify_ledger also reports eligible accounts missing a charge (DESIGN.md §7).
        from customers.dashboard import OPERATOR, DashboardPanel, register_dashboard_panel
        from msp_portal.permissions import Cap
        from points.selectors import LEDGER_CHECKS

        from .dashboard import last_runs_panel
        from .selectors import check_missing_charges

        if check_missing_charges not in LEDGER_CHECKS:
            LEDGER_CHECKS.append(check_missing_charges)
        # The operator's dashboard: the latest runs.
        register_dashboard_panel(
            DashboardPanel(
                "last_runs",
                "billing_jobs/dashboard/last_runs.html",
                frozenset({OPERATOR}),
                last_runs_panel,
                Cap.JOBS_VIEW,
            )
        )
        # /metrics: how long ago the last daily run succeeded (alert when over a day).
        from msp_portal.observability import register_gauge

        from .selectors import seconds_since_last_successful_daily_run

        register_gauge(
            "portal_billing_seconds_since_last_successful_daily_run",
            "Seconds since the last daily billing run that succeeded finished (absent before the first).",
            seconds_since_last_successful_daily_run,
        )
