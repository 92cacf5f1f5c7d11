import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from msp_portal.tables import PortalTable

from .models import CustomerAdmin, ServiceUser


class SwitcherTable(PortalTable):
    account_code = tables.Column(verbose_name=_("Account code"), orderable=False)
    company_name = tables.Column(verbose_name=_("Company name"), orderable=False)
    organization = tables.Column(verbose_name=_("MSP"), accessor="organization__name", orderable=False)
    contracted_users = tables.Column(
        verbose_name=_("Contracted users"), orderable=False, attrs={"td": {"class": "num"}}
    )
    open = tables.TemplateColumn(
        template_name="customer_portal/partials/switcher_actions.html", verbose_name="", orderable=False
    )

    region_label = _("Customer accounts")

    class Meta(PortalTable.Meta):
        empty_text = _("No active customer account matches.")


class AdminTable(PortalTable):
    name = tables.Column(verbose_name=_("Name"), accessor="user__name", orderable=False)
    email = tables.Column(verbose_name=_("E-mail address (sign-in ID)"), accessor="user__email", orderable=False)
    status = tables.TemplateColumn(
        template_name="customer_portal/partials/status_badge.html", verbose_name=_("Status"), orderable=False
    )
    created_at = tables.DateTimeColumn(verbose_name=_("Registered at"), format="Y-m-d H:i", orderable=False)
    actions = tables.TemplateColumn(
        template_name="customer_portal/partials/admin_actions.html", verbose_name=_("Operations"), orderable=False
    )

    region_label = _("Administrators")

    class Meta(PortalTable.Meta):
        model = CustomerAdmin
        fields = ()
        sequence = ("name", "email", "status", "created_at", "actions")
        empty_text = _("No administrator is registered yet.")
        row_attrs = {"data-admin": lambda record: record.user.email}


class ServiceUserTable(PortalTable):
    user_name = tables.Column(verbose_name=_("User name"), orderable=False)
    display_name = tables.Column(verbose_name=_("Display name"), orderable=False)
    email = tables.Column(verbose_name=_("E-mail address"), orderable=False)
    department = tables.Column(verbose_name=_("Department"), orderable=False)
    status = tables.TemplateColumn(
        template_name="customer_portal/partials/status_badge.html", verbose_name=_("Status"), orderable=False
    )
    actions = tables.TemplateColumn(
        template_name="customer_portal/partials/user_actions.html", verbose_name=_("Operations"), orderable=False
    )

    region_label = _("Users")

    class Meta(PortalTable.Meta):
        model = ServiceUser
        fields = ()
        sequence = ("user_name", "display_name", "email", "department", "status", "actions")
        empty_text = _("No user is registered yet.")
        row_attrs = {"data-user": lambda record: record.user_name}
