from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from accounts.services import on_organization_created
        from customers import hooks
        from customers.bulk_actions import BulkAction, register_bulk_action
        from customers.dashboard import MSP, OPERATOR, DashboardPanel, register_dashboard_panel
        from customers.views import DetailSection, register_detail_section
        from msp_portal.permissions import Cap, register_points_moved

        from .dashboard import pool_chart_panel, purchase_requests_panel, shortage_panel
        from .estimates import refresh_estimates
        from .ledger import lock_for_lifecycle, open_pool, open_wallets
        from .reauthentication import purchase_request_points, replenish_points
        from .selectors import charge_entries
        from .services import points_return_from_application
        from .settlement import settle_for_cancellation, settlement_preview
        from .views import customer_points_context

        # Large point moves ask again (SENSITIVE_VIEWS): what these two views move.
        register_points_moved("points:replenish", replenish_points)
        register_points_moved("points:purchase_request_record", purchase_request_points)
        # Every MSP organization gets its pool in the transaction that creates it.
        on_organization_created(open_pool)
        # The ledger's part of the customer accounts' lifecycle writes (customers.hooks).
        hooks.lock_with_ledger.provide(lock_for_lifecycle)
        hooks.accounts_changed.provide(refresh_estimates)
        hooks.wallets_open.provide(open_wallets)
        hooks.application_ended.provide(points_return_from_application)
        hooks.cancellation_settle.provide(settle_for_cancellation)
        hooks.cancellation_preview.provide(settlement_preview)
        # 必要ポイントの補充 → the ポイント数自動更新 popup (views.points_replenish).
        register_bulk_action(
            BulkAction("replenish", _("Replenish needed points"), "points:replenish", Cap.POINTS_REPLENISH, popup=True)
        )
        # The customer detail page: the points section before the audit trail, and the monthly
        # charges in that trail.
        register_detail_section(
            DetailSection(
                "points", "points/partials/customer_points.html", Cap.CUSTOMERS_VIEW, customer_points_context
            ),
            before="audit",
        )
        hooks.audit_trail_entries.add(charge_entries)
        # The dashboard: the next 25th's shortage first, the pool's history last.
        register_dashboard_panel(
            DashboardPanel(
                "shortage", "points/dashboard/shortage.html", frozenset({MSP}), shortage_panel, Cap.POINTS_VIEW
            ),
            before="applications",
        )
        register_dashboard_panel(
            DashboardPanel(
                "purchase_requests",
                "points/dashboard/purchase_requests.html",
                frozenset({MSP, OPERATOR}),
                purchase_requests_panel,
                Cap.POINTS_VIEW,
            ),
            before="applications",
        )
        register_dashboard_panel(
            DashboardPanel(
                "pool_chart", "points/dashboard/pool_chart.html", frozenset({MSP}), pool_chart_panel, Cap.POINTS_VIEW
            )
        )
