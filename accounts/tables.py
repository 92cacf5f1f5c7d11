"""Tables of the customer pages (django-tables2). Cells with buttons are template partials in
templates/customers/partials/, so a later column (points, estimate) is one more entry here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import django_tables2 as tables
from django.template import Template
from django.template.loader import get_template
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from msp_portal.tables import PortalTable
from points.estimates import estimate_label

from .models import CustomerAccount
from .selectors import AWAITING_OPERATOR_STATUSES, approval_due_date, approval_is_overdue


@cache
def _compiled(template_code: str) -> Template:
    return Template(template_code)


class CellColumn(tables.TemplateColumn):
    """A column of the customer list whose cell is a template (a partial, or a line of template
    code) rendered from `record` in the page's context by the list's row template; see
    CustomerTable.row_cells."""

    @property
    def cell_template(self) -> Template:
        if self.template_name:
            return get_template(self.template_name).template
        return _compiled(self.template_code)


@dataclass(frozen=True)
class RowCell:
    attrs: SafeString  # the <td> attributes, from the column's attrs["td"]
    template: Template


class CustomerTable(PortalTable):
    """顧客アカウント一覧. Every sortable column sorts by indexed fields ending in `id` (see the
    indexes on CustomerAccount), so a sorted page is an index range scan at any size.

    django-tables2 draws the header (sort links), picks the visible columns and pages; the body
    rows are drawn by one template (customers/partials/customer_row.html), which includes each
    visible column's cell template straight from the record. django-tables2's own rows resolve
    accessors, inspect render() signatures and build attributes for every cell: at 25 rows that
    cost several times the page's SQL (DESIGN.md §12, measured by `manage.py bench`)."""

    selection = CellColumn(
        template_name="customers/partials/select_cell.html",
        verbose_name="",
        orderable=False,
        attrs={"th": {"class": "col-select"}, "td": {"class": "col-select"}},
    )
    account = CellColumn(
        template_name="customers/partials/account_cell.html",
        verbose_name=_("Account code / company name"),
        accessor="account_code",
        order_by=("account_code", "id"),
    )
    status = CellColumn(
        template_name="customers/partials/status_cell.html", verbose_name=_("Status"), order_by=("status", "id")
    )
    contracted_users = CellColumn(
        template_name="customers/partials/contracted_users_cell.html",
        verbose_name=_("Contracted users"),
        order_by=("contracted_users", "id"),
        attrs={"th": {"class": "num"}, "td": {"class": "num text-nowrap"}},
    )
    # 現在のポイント and 「M/25の推定残ポイント数」: stored columns kept in step with the ledger
    # (points.ledger.post, points.estimates.refresh_estimates), so sorting is an index scan.
    points_balance = CellColumn(
        template_name="points/partials/points_cell.html",
        verbose_name=_("Current points"),
        order_by=("points_balance", "id"),
        attrs={"th": {"class": "num"}, "td": {"class": "num text-nowrap"}},
    )
    estimated_balance = CellColumn(
        template_name="points/partials/estimate_cell.html",
        verbose_name=estimate_label(),
        order_by=("estimated_balance", "id"),
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
    )
    cancellation_date = CellColumn(
        template_name="billing_jobs/partials/cancellation_date_cell.html",
        verbose_name=_("Cancellation date"),
        order_by=("cancellation_date", "id"),
        attrs={"td": {"class": "text-nowrap"}},
    )
    support_account = CellColumn(
        template_code='{{ record.support_account.name|default:"—" }}',
        verbose_name=_("Support account"),
        # By id, not name: the index serves it and equal accounts stay together.
        order_by=("support_account_id", "id"),
    )
    reseller_name = CellColumn(
        template_code='{{ record.reseller_name|default:"—" }}',
        verbose_name=_("Reseller"),
        order_by=("reseller_name", "id"),
    )
    organization = CellColumn(
        template_code="{{ record.organization.name }}", verbose_name=_("MSP"), order_by=("organization_id", "id")
    )
    registered_at = CellColumn(
        template_code='{{ record.registered_at|date:"Y/m/d H:i" }}',
        verbose_name=_("Registered at"),
        order_by=("registered_at", "id"),
    )
    actions = CellColumn(
        template_name="customers/partials/row_actions.html",
        verbose_name=_("Operations"),
        orderable=False,
        attrs={"td": {"class": "text-nowrap"}},
    )

    class Meta(PortalTable.Meta):
        model = CustomerAccount
        fields = ()
        template_name = "customers/customer_table.html"
        order_by_field = "sort"
        empty_text = _("No customer accounts match.")

    def __init__(self, *args, show_selection: bool = False, show_organization: bool = False, **kwargs):
        exclude = list(kwargs.pop("exclude", ()))
        if not show_selection:
            exclude.append("selection")
        if not show_organization:
            exclude.append("organization")
        super().__init__(*args, exclude=exclude, **kwargs)

    @cached_property
    def row_cells(self) -> list[RowCell]:
        """The visible columns in order, each with its <td> attributes and cell template: worked
        out once per page, not once per cell."""
        return [RowCell(column.attrs["td"].as_html(), column.column.cell_template) for column in self.columns]


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
