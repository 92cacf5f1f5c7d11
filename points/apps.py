from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "points"

    def ready(self):
        from accounts.services import on_organization_created

        from .ledger import open_pool

        # Every MSP organization gets its pool in the transaction that creates it.
        on_organization_created(open_pool)
