from django.apps import AppConfig


class CustomerPortalConfig(AppConfig):
    name = "customer_portal"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from customers import hooks
        from customers.bulk_actions import BulkAction, register_bulk_action
        from msp_portal.navigation import LANDING_PAGES
        from msp_portal.permissions import Cap

        from .access import customer_admin_landing_page
        from .merging import merge_people, merge_people_preview
        from .selectors import active_admins_by_customer, check_contract_covers_active_users

        LANDING_PAGES.append(customer_admin_landing_page)
        # The administrators the delivery notice (customers.services) names.
        hooks.active_admins.provide(active_admins_by_customer)
        # The contracted users may not drop below the customer's active service users.
        hooks.contract_checks.add(check_contract_covers_active_users)
        # A merge's people: the absorbed account's users and admins move to the survivor.
        hooks.merge_people_preview.provide(merge_people_preview)
        hooks.merge_people.provide(merge_people)
        # 納品通知: e-mail the account and admin information to the customer's and reseller's contacts.
        register_bulk_action(
            BulkAction(
                "delivery_notice",
                _("Delivery notification"),
                "customer_portal:delivery_notice",
                Cap.CUSTOMERS_DELIVERY_NOTICE,
                popup=True,
            )
        )
