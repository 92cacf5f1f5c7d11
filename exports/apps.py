from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"

    def ready(self):
        # Register the exportable lists (their datasets) once the models are loaded.
        from django.utils.translation import gettext_lazy as _

        from customers.bulk_actions import BulkAction, register_bulk_action
        from msp_portal.permissions import Cap

        from . import customers  # noqa: F401

        # 選択実行 → export the selected customers.
        for name, label, url_name in (
            ("export_selected_csv", _("Export selected (CSV)"), "exports:customers_selected_csv"),
            ("export_selected_xlsx", _("Export selected (Excel)"), "exports:customers_selected_xlsx"),
        ):
            register_bulk_action(BulkAction(name, label, url_name, Cap.CUSTOMERS_EXPORT))
