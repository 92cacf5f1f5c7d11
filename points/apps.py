from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"

    def ready(self):
        from accounts.services import on_organization_created
        from customers import hooks

        from .estimates import refresh_estimates
        from .ledger import lock_for_lifecycle, open_pool, open_wallets
        from .services import points_return_from_application
        from .settlement import settle_for_cancellation, settlement_preview

        # Every MSP organization gets its pool in the transaction that creates it.
        on_organization_created(open_pool)
        # The ledger's part of the customer accounts' lifecycle writes (customers.hooks).
        hooks.lock_with_ledger.provide(lock_for_lifecycle)
        hooks.accounts_changed.provide(refresh_estimates)
        hooks.wallets_open.provide(open_wallets)
        hooks.application_ended.provide(points_return_from_application)
        hooks.cancellation_settle.provide(settle_for_cancellation)
        hooks.cancellation_preview.provide(settlement_preview)
