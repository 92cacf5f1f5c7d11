"""Tables of the customer pages (django-tables2). Cells with buttons are template partials in
templates/customers/partials/, so a later column (points, estimate) is one more entry here."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from msp_portal.tables import PortalTable

from .models import CustomerAccount, CustomerStatus
from .selectors import AWAITING_OPERATOR_STATUSES, approval_due_date, approval_is_overdue


def _row_class(record) -> str:
    return "row-cancelled" if record.status == CustomerStatus.CANCELLED else ""


class CustomerTable(PortalTable):
    """顧客アカウント一覧. Every sortable column sorts by indexed fields ending in `id` (see the
    indexes on CustomerAccount), so a sorted page is an index range scan at any size."""

    selection = tables.TemplateColumn(
        template_name="customers/partials/select_cell.html",
        verbose_name="",
        orderable=False,
        attrs={"th": {"class": "col-select"}, "td": {"class": "col-select"}},
    )
    account = tables.TemplateColumn(
        template_name="customers/partials/account_cell.html",
        verbose_name=_("Account code / company name"),
        accessor="account_code",
        order_by=("account_code", "id"),
    )
    status = tables.TemplateColumn(
        template_name="customers/partials/status_cell.html", verbose_name=_("Status"), order_by=("status", "id")
    )
    contracted_users = tables.TemplateColumn(
        template_name="customers/partials/contracted_users_cell.html",
        verbose_name=_("Contracted users"),
        order_by=("contracted_users", "id"),
        attrs={"th": {"class": "num"}, "td": {"class": "num text-nowrap"}},
    )
    cancellation_date = tables.DateColumn(
        verbose_name=_("Cancellation date"), format="Y/m/d", order_by=("cancellation_date", "id")
    )
    support_account = tables.Column(
        verbose_name=_("Support account"),
        accessor="support_account__name",
        # By id, not name: the index serves it and equal accounts stay together.
        order_by=("support_account_id", "id"),
    )
    reseller_name = tables.Column(verbose_name=_("Reseller"), order_by=("reseller_name", "id"))
    organization = tables.Column(
        verbose_name=_("MSP"), accessor="organization__name", order_by=("organization_id", "id")
    )
    registered_at = tables.DateTimeColumn(
        verbose_name=_("Registered at"), format="Y/m/d H:i", order_by=("registered_at", "id")
    )
    actions = tables.TemplateColumn(
        template_name="customers/partials/row_actions.html",
        verbose_name=_("Operations"),
        orderable=False,
        attrs={"td": {"class": "text-nowrap"}},
    )

    class Meta(PortalTable.Meta):
        model = CustomerAccount
        fields = ()
        template_name = "customers/table.html"
        order_by_field = "sort"
        empty_text = _("No customer accounts match.")
        row_attrs = {
            "id": lambda record: f"customer-{record.pk}",
            "class": _row_class,
            "data-status": lambda record: record.status,
        }

    def __init__(self, *args, show_selection: bool = False, show_organization: bool = False, **kwargs):
        exclude = list(kwargs.pop("exclude", ()))
        if not show_selection:
            exclude.append("selection")
        if not show_organization:
            exclude.append("organization")
        super().__init__(*args, exclude=exclude, **kwargs)


class ApprovalQueueTable(PortalTable):
    """承認待ちアカウント一覧: oldest application first, with its due date."""

    account = tables.TemplateColumn(
        template_name="customers/partials/account_cell.html",
        verbose_name=_("Account code / company name"),
        accessor="account_code",
        orderable=False,
    )
    organization = tables.Column(verbose_name=_("MSP"), accessor="organization__name", orderable=False)
    contracted_users = tables.Column(
        verbose_name=_("Contracted users"), orderable=False, attrs={"th": {"class": "num"}, "td": {"class": "num"}}
    )
    status = tables.TemplateColumn(
        template_name="customers/partials/queue_status_cell.html", verbose_name=_("Status"), orderable=False
    )
    submitted_at = tables.DateTimeColumn(verbose_name=_("Submitted at"), format="Y/m/d H:i", orderable=False)
    due = tables.Column(verbose_name=_("Due date"), accessor="submitted_at", orderable=False, empty_values=())
    registered_by = tables.Column(verbose_name=_("Registered by"), accessor="registered_by__name", orderable=False)
    actions = tables.TemplateColumn(
        template_name="customers/partials/queue_actions.html",
        verbose_name=_("Operations"),
        orderable=False,
        attrs={"td": {"class": "text-nowrap"}},
    )

    class Meta(PortalTable.Meta):
        model = CustomerAccount
        fields = ()
        template_name = "customers/table.html"
        empty_text = _("No applications are waiting.")
        row_attrs = {"id": lambda record: f"application-{record.pk}", "data-status": lambda record: record.status}

    def render_due(self, record):
        """The promised date; flagged when the operator has not finished by then."""
        due = date_format(approval_due_date(record), "Y/m/d")
        if record.status not in AWAITING_OPERATOR_STATUSES:
            return format_html('<span class="text-muted">{}</span>', "—")
        if approval_is_overdue(record):
            return format_html(
                '<span class="text-danger fw-semibold" data-overdue="true">{}</span> '
                '<span class="badge text-bg-danger">{}</span>',
                due,
                _("Overdue"),
            )
        return format_html('<span data-overdue="false">{}</span>', due)
