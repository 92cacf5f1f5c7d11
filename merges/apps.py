from django.apps import AppConfig


class MergesConfig(AppConfig):
    name = "merges"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from audit.presenters import register_field
        from customers import hooks
        from customers.dashboard import MSP, OPERATOR, DashboardPanel, register_dashboard_panel
        from customers.views import DetailSection, register_detail_section
        from msp_portal.permissions import Cap

        from .services import check_no_pending_request, requests_expire
        from .views import customer_section_context, requests_panel, suggestions_panel

        # The keys of the requests' and merges' audit events, named in the reader's language.
        for key, label in (
            ("absorbed_code", _("Absorbed account")),
            ("survivor_code", _("Surviving account")),
            ("customer_code", _("Customer account")),
            ("from_msp", _("From MSP")),
            ("to_msp", _("To MSP")),
            ("points_moved", _("Points moved")),
            ("charged_before_merge", _("Charged before the merge")),
            ("crossed_msps", _("Across MSPs")),
            ("survivor_points", _("Points of the surviving account")),
            ("dropped", _("Dropped")),
            ("service_users_moved", _("Users moved")),
            ("admins_kept", _("Administrators kept")),
            ("admins_became_users", _("Administrators who became users")),
            ("support_account_cleared", _("Support assignment cleared")),
            ("direct", _("Transferred directly")),
            ("query", _("Search")),
            ("found", _("Found")),
            ("request", _("Request")),
        ):
            register_field(key, label=label)
        # An account named in a pending request is not cancelled (nor given a date) meanwhile.
        hooks.cancellation_checks.add(check_no_pending_request)
        # The daily run expires the requests left pending past their time.
        hooks.daily_run_steps.add(requests_expire)
        # The customer detail page: suggestions, requests, the survivor of a merged account.
        register_detail_section(
            DetailSection(
                "merges", "merges/partials/customer_section.html", Cap.CUSTOMERS_VIEW, customer_section_context
            ),
            before="audit",
        )
        # The dashboard (the seed: suggestions in the home page's right-hand column).
        register_dashboard_panel(
            DashboardPanel(
                "merge_requests",
                "merges/dashboard/requests.html",
                frozenset({MSP, OPERATOR}),
                requests_panel,
                Cap.CUSTOMERS_MERGE,
            )
        )
        register_dashboard_panel(
            DashboardPanel(
                "merge_suggestions",
                "merges/dashboard/suggestions.html",
                frozenset({MSP}),
                suggestions_panel,
                Cap.CUSTOMERS_MERGE,
            )
        )
