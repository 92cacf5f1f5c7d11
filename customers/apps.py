from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customer accounts"

    def ready(self):
        from audit.presenters import register_field

        from .lifecycle import CustomerStatus
        from .menus import CUSTOMER_PORTAL_MENUS

        statuses = dict(CustomerStatus.choices)
        menus = dict(CUSTOMER_PORTAL_MENUS)
        # The audit trail reads a status by its label wherever an event records one (also on a
        # transfer's event), and the hidden menus by their names.
        register_field("status", format=lambda value: str(statuses.get(value, value)))
        register_field(
            "hidden_menus",
            format=lambda value: (
                ", ".join(str(menus.get(key, key)) for key in value) if isinstance(value, list) else str(value)
            ),
        )
        # /metrics: accounts whose provisioning failed, waiting for the operator to retry.
        from msp_portal.observability import register_gauge

        from .models import CustomerAccount

        register_gauge(
            "portal_customers_provisioning_failed",
            "Customer accounts whose provisioning failed and waits for the operator.",
            lambda: CustomerAccount.objects.filter(status=CustomerStatus.PROVISIONING_FAILED).count(),
        )
