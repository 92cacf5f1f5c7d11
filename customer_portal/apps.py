from django.apps import AppConfig


class CustomerPortalConfig(AppConfig):
    name = "customer_portal"

    def ready(self):
        from customers import hooks
        from msp_portal.navigation import LANDING_PAGES

        from .access import customer_admin_landing_page
        from .selectors import active_admins_by_customer

        LANDING_PAGES.append(customer_admin_landing_page)
        # The administrators the delivery notice (customers.services) names.
        hooks.active_admins.provide(active_admins_by_customer)
