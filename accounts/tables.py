"""Tables of the staff and support-account pages."""

from __future__ import annotations

import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from msp_portal.tables import PortalTable


class StaffTable(PortalTable):
    name = tables.Column(verbose_name=_("Name"), orderable=False)
    email = tables.Column(verbose_name=_("E-mail address"), orderable=False)
    organization = tables.Column(
        verbose_name=_("Organization"), accessor="membership__organization__name", orderable=False
    )
    role = tables.Column(verbose_name=_("Role"), accessor="membership__role", orderable=False)
    is_active = tables.Column(verbose_name=_("Status"), orderable=False)
    has_two_factor = tables.Column(verbose_name=_("Two-factor"), orderable=False)
    last_login = tables.DateTimeColumn(verbose_name=_("Last sign-in"), orderable=False, format="Y-m-d H:i")
    actions = tables.Column(verbose_name=_("Operations"), empty_values=(), orderable=False)

    region_label = _("Staff")

    class Meta(PortalTable.Meta):
        empty_text = _("No staff members match.")
        row_attrs = {
            "data-staff": lambda record: record.pk,
            "class": lambda record: "" if record.is_active else "table-secondary",
        }

    def __init__(self, *args, show_organization: bool, actor, **kwargs):
        self.actor = actor
        extra_exclude = () if show_organization else ("organization",)
        super().__init__(*args, exclude=extra_exclude, **kwargs)

    def render_role(self, record):
        return record.membership.get_role_display()

    def render_is_active(self, value):
        if value:
            return format_html('<span class="badge text-bg-success">{}</span>', pgettext_lazy("staff status", "Active"))
        return format_html('<span class="badge text-bg-secondary">{}</span>', _("Deactivated"))

    def render_has_two_factor(self, value):
        return _("On") if value else _("Off")

    def render_actions(self, record):
        return render_to_string(
            "accounts/partials/staff_actions.html",
            {"staff": record, "actor": self.actor, "request": self.request},
        )


class SupportAccountTable(PortalTable):
    name = tables.Column(verbose_name=_("Support account"), orderable=False)
    parent = tables.Column(verbose_name=_("MSP"), accessor="parent__name", orderable=False)
    staff_count = tables.Column(verbose_name=_("Active staff"), orderable=False)
    is_active = tables.Column(verbose_name=_("Status"), orderable=False)

    region_label = _("Support accounts")

    class Meta(PortalTable.Meta):
        empty_text = _("There are no support accounts yet.")

    def __init__(self, *args, show_msp: bool, **kwargs):
        super().__init__(*args, exclude=() if show_msp else ("parent",), **kwargs)

    def render_name(self, record):
        return format_html('<a href="{}">{}</a>', reverse("support_account_detail", args=[record.pk]), record.name)

    def render_is_active(self, value):
        if value:
            return format_html('<span class="badge text-bg-success">{}</span>', pgettext_lazy("staff status", "Active"))
        return format_html('<span class="badge text-bg-secondary">{}</span>', _("Deactivated"))
