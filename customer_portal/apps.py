from django.apps import AppConfig


class CustomerPortalConfig(AppConfig):
    name = "customer_portal"

    def ready(self):
        from msp_portal.navigation import LANDING_PAGES

        from .access import customer_admin_landing_page

        LANDING_PAGES.append(customer_admin_landing_page)
