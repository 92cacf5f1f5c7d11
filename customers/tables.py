"""Tables of the customer pages (django-tables2).

The customer list draws its cells in Python: each column names a function that returns one cell's
HTML from the record (format_html), next to the column's definition. The list's rows, the
single-row refresh after a popup and, through the `customers` template tags, the detail page and
the approval queue use these same functions, so each piece of markup exists once."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from urllib.parse import quote

import django_tables2 as tables
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from msp_portal import dates
from msp_portal.numbers import number_html
from msp_portal.permissions import Cap, capabilities_of
from msp_portal.tables import PortalTable

from .lifecycle import AWAITING_OPERATOR_STATUSES, CANCEL_BUTTON_STATUSES, READ_ONLY_STATUSES
from .models import CustomerAccount, CustomerStatus
from .selectors import approval_due_date, approval_is_overdue

# --- pieces of markup shared with other pages (template tags in templatetags/customers.py) ------


def _estimate_label() -> str:
    return gettext("Estimated points after %(day)s") % {"day": date_format(dates.label_charge_day(), "n/j")}


# 「11/25の推定残ポイント数」, evaluated when rendered (in the user's language, on that day).
estimate_label = lazy(_estimate_label, str)

STATUS_BADGE_CLASSES = {
    CustomerStatus.ACTIVE: "text-bg-success",
    CustomerStatus.PENDING_APPROVAL: "text-bg-warning",
    CustomerStatus.PROVISIONING: "text-bg-info",
    CustomerStatus.PROVISIONING_FAILED: "text-bg-danger",
    CustomerStatus.REJECTED: "bg-danger-subtle text-danger-emphasis border border-danger-subtle",
}
# 解約 of an active account, or the withdrawal of an application (customers.cancellation).


def status_badge(customer: CustomerAccount) -> SafeString:
    """The status, and 「利用停止」 beside it while the account is suspended (its balance stayed
    negative past the grace period; DESIGN.md §5), with the date it started."""
    badge = format_html(
        '<span class="badge {}" data-testid="status-badge" data-status="{}">{}</span>',
        STATUS_BADGE_CLASSES.get(customer.status, "text-bg-secondary"),
        customer.status,
        customer.get_status_display(),
    )
    if customer.suspended_at is None:
        return badge
    since = date_format(localtime(customer.suspended_at), "Y/m/d")
    return format_html(
        '{} <span class="badge text-bg-danger" data-testid="suspended-badge" title="{}">{}</span>',
        badge,
        gettext("Suspended since %(date)s") % {"date": since},
        gettext("Suspended"),
    )


def account_link(customer: CustomerAccount, url: str | None = None) -> SafeString:
    """Code and company name, linking to the detail page; 「アーカイブ済み」 when archived."""
    html = format_html(
        '<a href="{}" class="text-decoration-none" data-testid="customer-link">'
        '<span class="font-monospace small d-block text-muted">{}</span>{}</a>',
        url or reverse("customers:detail", args=[customer.pk]),
        customer.account_code,
        customer.company_name,
    )
    if customer.archived_at:
        html += format_html(' <span class="badge text-bg-light border">{}</span>', gettext("Archived"))
    return html


def popup_button(
    url: str, label: str, testid: str, style: str = "btn-outline-secondary", *, first: bool = False
) -> SafeString:
    """A small button opening a popup (htmx), or the popup's own page without JavaScript; `first`
    drops the gap before it."""
    return format_html(
        '<a class="btn {0} btn-sm{1}" href="{2}" hx-get="{2}" hx-target="#portal-modal-content" '
        'data-testid="{3}">{4}</a>',
        style,
        "" if first else " ms-1",
        url,
        testid,
        label,
    )


def cancel_button(customer: CustomerAccount, caps: frozenset[Cap], url: str | None = None) -> SafeString:
    if Cap.CUSTOMERS_CANCEL not in caps or customer.status not in CANCEL_BUTTON_STATUSES:
        return SafeString()
    url = url or reverse("customers:cancel", args=[customer.pk])
    return popup_button(url, gettext("Cancel account"), "cancel", "btn-outline-danger")


# --- the cells of 顧客アカウント一覧 ------------------------------------------------------------

# An integer no row has, standing for the pk in URLs reversed once per page (ListPage.url).
_PK_PLACEHOLDER = "9081726354"


class ListPage:
    """What the rows of one page share, worked out once: the user's capabilities (a row shows the
    buttons the user may use; the views check again), the page's own address (where the points
    popup returns) and the rows' URLs."""

    def __init__(self, request):
        self.request = request
        self.caps = capabilities_of(request.user)
        self.next = quote(request.get_full_path(), safe="/")
        self._urls: dict[str, tuple[str, str]] = {}

    def url(self, name: str, pk: int) -> str:
        """reverse(name, args=[pk]) for the customer URLs, whose one argument is an integer pk:
        reversed once per page, then each row's pk put in its place (reverse() costs ~20 µs,
        and a page has ~150 of these links)."""
        parts = self._urls.get(name)
        if parts is None:
            head, tail = reverse(name, args=[_PK_PLACEHOLDER]).split(_PK_PLACEHOLDER)
            parts = self._urls[name] = (head, tail)
        return f"{parts[0]}{pk}{parts[1]}"


Cell = Callable[[CustomerAccount, ListPage], SafeString]


def _selection_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    return format_html(
        '<input class="form-check-input" type="checkbox" name="ids" value="{}" form="bulk-form" aria-label="{}">',
        record.pk,
        record.company_name,
    )


def _account_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    return account_link(record, url=page.url("customers:detail", record.pk))


def _status_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    return status_badge(record)


def _contracted_users_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    users = number_html(record.contracted_users, testid="contracted-users")
    if Cap.CUSTOMERS_CONTRACT in page.caps and record.status not in READ_ONLY_STATUSES:
        url = page.url("customers:contract", record.pk) + "?from=list"
        button = popup_button(url, gettext("Change"), "contract-change")
        return format_html("{}\n{}", users, button)
    return users


def _points_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    balance = number_html(record.points_balance, testid="points-balance")
    if Cap.POINTS_CHANGE in page.caps and record.points_changeable:
        url = f"{page.url('points:change', record.pk)}?next={page.next}"
        return format_html("{}\n{}", balance, popup_button(url, gettext("Change"), "points-change"))
    return balance


def _estimate_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    return number_html(record.estimated_balance, testid="points-estimate")


def _cancellation_date_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    date = date_format(record.cancellation_date, "Y/m/d") if record.cancellation_date else ""
    if record.status == CustomerStatus.ACTIVE and Cap.CUSTOMERS_CANCEL in page.caps:
        url = page.url("customers:cancellation_date", record.pk)
        button = popup_button(url, gettext("Set"), "cancellation-date-set")
        return format_html('<span data-testid="cancellation-date">{}</span>\n{}', date, button)
    return format_html('<span data-testid="cancellation-date">{}</span>', date)


def _text(value: str) -> SafeString:
    """A name cut to the column's width with an ellipsis: the whole name in its title; — for none."""
    if not value:
        return SafeString("—")
    return format_html('<span title="{}">{}</span>', value, value)


def _support_account_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    return _text(record.support_account.name if record.support_account else "")


def _reseller_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    return _text(record.reseller_name)


def _organization_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    return _text(record.organization.name)


def _registered_at_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    registered = localtime(record.registered_at)
    return format_html(
        '{}<span class="d-block text-body-secondary">{}</span>',
        date_format(registered, "Y/m/d"),
        registered.strftime("%H:%M"),
    )


def _row_actions(record: CustomerAccount, page: ListPage) -> list[tuple[str, str, str, str]]:
    """The row's operations the user may use, in order: (url, label, testid, style)."""
    actions = []
    if Cap.CUSTOMERS_EDIT in page.caps and record.status not in READ_ONLY_STATUSES:
        actions.append((page.url("customers:edit", record.pk), gettext("Edit"), "edit", "primary"))
    if Cap.CUSTOMERS_ARCHIVE in page.caps and record.is_terminal:
        if record.archived_at:
            actions.append((page.url("customers:unarchive", record.pk), gettext("Unarchive"), "unarchive", "secondary"))
        else:
            actions.append((page.url("customers:archive", record.pk), gettext("Archive"), "archive", "secondary"))
    if Cap.CUSTOMERS_CANCEL in page.caps and record.status in CANCEL_BUTTON_STATUSES:
        actions.append((page.url("customers:cancel", record.pk), gettext("Cancel account"), "cancel", "danger"))
    return actions


def _actions_cell(record: CustomerAccount, page: ListPage) -> SafeString:
    """The first operation as a button, the others in a menu beside it (「その他の操作」), so the
    column stays one button wide; every entry opens its popup (or its page without JavaScript)."""
    actions = _row_actions(record, page)
    if not actions:
        return SafeString()
    url, label, testid, style = actions[0]
    html = popup_button(url, label, testid, f"btn-outline-{style}", first=True)
    if len(actions) == 1:
        return html
    items = format_html_join(
        "",
        '<li><a class="dropdown-item{}" href="{}" hx-get="{}" hx-target="#portal-modal-content" '
        'data-testid="{}">{}</a></li>',
        (
            (" text-danger" if style == "danger" else "", url, url, testid, label)
            for url, label, testid, style in actions[1:]
        ),
    )
    # The menu is placed with a fixed position so the table's scroll container does not clip it.
    return format_html(
        '<div class="btn-group">{}<button type="button" class="btn btn-sm btn-outline-secondary dropdown-toggle '
        'dropdown-toggle-split" data-bs-toggle="dropdown" data-bs-popper-config=\'{{"strategy":"fixed"}}\' '
        'aria-expanded="false" aria-label="{}" data-testid="more-actions"></button>'
        '<ul class="dropdown-menu dropdown-menu-end">{}</ul></div>',
        html,
        gettext("More operations for %(company)s") % {"company": record.company_name},
        items,
    )


class CellColumn(tables.Column):
    """A column of the customer list: django-tables2 draws its header and sorts by it, `cell`
    draws its cells (CustomerTable.render_row)."""

    def __init__(self, cell: Cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell


class PointsColumn(CellColumn):
    """A points column (the wallet's balance or estimate): sorted through the wallet's indexes."""

    def order(self, queryset, is_descending):
        fields = [f"-{name}" if is_descending else name for name in self.order_by]
        return queryset.through_wallet().order_by(*fields), True


class CustomerTable(PortalTable):
    """顧客アカウント一覧. Every sortable column sorts by indexed fields ending in `id` (see the
    indexes on CustomerAccount, and on the wallet for the points columns), so a sorted page is an
    index range scan at any size.

    django-tables2 draws the header (sort links), picks the visible columns and pages; each body
    row is drawn by render_row straight from the record, one cell function per visible column.
    django-tables2's own rows resolve accessors, inspect render() signatures and build attributes
    for every cell, and cell templates cost the template engine's per-node work ~300 times a
    page: either cost several times the page's SQL (DESIGN.md §12, `manage.py bench`)."""

    selection = CellColumn(
        _selection_cell,
        verbose_name="",
        orderable=False,
        attrs={"th": {"class": "col-select"}, "td": {"class": "col-select"}},
    )
    account = CellColumn(
        _account_cell,
        verbose_name=_("Account code / company name"),
        order_by=("account_code", "id"),
        attrs={"th": {"class": "cell-account"}, "td": {"class": "cell-account"}},
    )
    status = CellColumn(_status_cell, verbose_name=_("Status"), order_by=("status", "id"))
    contracted_users = CellColumn(
        _contracted_users_cell,
        verbose_name=_("Contracted users"),
        order_by=("contracted_users", "id"),
        attrs={"th": {"class": "num wrap"}, "td": {"class": "num cell-num"}},
    )
    # 現在のポイント and 「M/25の推定残ポイント数」: the wallet's stored balance and estimate, kept
    # in step with the ledger (points.ledger.post, points.estimates.refresh_estimates), so sorting
    # is an index scan of the wallet.
    points_balance = PointsColumn(
        _points_cell,
        verbose_name=_("Current points"),
        order_by=("points_balance", "id"),
        attrs={"th": {"class": "num wrap"}, "td": {"class": "num cell-num"}},
    )
    estimated_balance = PointsColumn(
        _estimate_cell,
        verbose_name=estimate_label(),
        order_by=("estimated_balance", "id"),
        attrs={"th": {"class": "num wrap"}, "td": {"class": "num cell-num"}},
    )
    cancellation_date = CellColumn(
        _cancellation_date_cell,
        verbose_name=_("Cancellation date"),
        order_by=("cancellation_date", "id"),
        attrs={"th": {"class": "wrap"}, "td": {"class": "cell-date"}},
    )
    support_account = CellColumn(
        _support_account_cell,
        verbose_name=_("Support account"),
        # By id, not name: the index serves it and equal accounts stay together.
        order_by=("support_account_id", "id"),
        attrs={"th": {"class": "wrap"}, "td": {"class": "cell-text"}},
    )
    reseller_name = CellColumn(
        _reseller_cell,
        verbose_name=_("Reseller"),
        order_by=("reseller_name", "id"),
        attrs={"td": {"class": "cell-text"}},
    )
    organization = CellColumn(
        _organization_cell,
        verbose_name=_("MSP"),
        order_by=("organization_id", "id"),
        attrs={"td": {"class": "cell-text"}},
    )
    registered_at = CellColumn(
        _registered_at_cell,
        verbose_name=_("Registered at"),
        order_by=("registered_at", "id"),
        attrs={"th": {"class": "wrap"}, "td": {"class": "cell-date"}},
    )
    actions = CellColumn(
        _actions_cell,
        verbose_name=_("Operations"),
        orderable=False,
        attrs={"td": {"class": "text-nowrap cell-actions"}},
    )

    region_label = _("Customer accounts")

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
        # customer-table: the list's layout (portal.css), its cards below 768 px.
        classes = "table table-sm table-hover align-middle customer-table" + (
            " with-selection" if show_selection else ""
        )
        kwargs.setdefault("attrs", {"class": classes})
        super().__init__(*args, exclude=exclude, **kwargs)

    _page: ListPage | None = None

    @cached_property
    def _cells(self) -> list[tuple[SafeString, Cell]]:
        # The visible columns in order, with their <td> attributes and the column's name (the
        # label of each field on the cards of narrow screens): once per table, not per cell.
        return [
            (format_html('{} data-label="{}"', column.attrs["td"].as_html(), column.header), column.column.cell)
            for column in self.columns
        ]

    def render_row(self, record: CustomerAccount, request, *, oob: bool = False) -> SafeString:
        """One <tr> of the list; `oob` marks it for an htmx out-of-band swap (row_refresh.html)."""
        page = self._page
        if page is None or page.request is not request:
            page = self._page = ListPage(request)
        # Each cell is a SafeString from format_html, so their concatenation is safe too.
        cells = SafeString(
            "".join([format_html("<td {}>{}</td>", attrs, cell(record, page)) for attrs, cell in self._cells])
        )
        return format_html(
            '<tr id="customer-{}"{} data-status="{}"{}>{}</tr>',
            record.pk,
            mark_safe(' class="row-cancelled"')
            if record.status in (CustomerStatus.CANCELLED, CustomerStatus.MERGED)
            else "",
            record.status,
            mark_safe(' hx-swap-oob="true"') if oob else "",
            cells,
        )


class ApprovalQueueTable(PortalTable):
    """承認待ちアカウント一覧: oldest application first, with its due date."""

    account = tables.Column(verbose_name=_("Account code / company name"), accessor="account_code", orderable=False)
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
        attrs={"td": {"class": "text-nowrap cell-actions"}},
    )

    region_label = _("Pending accounts")

    class Meta(PortalTable.Meta):
        model = CustomerAccount
        fields = ()
        template_name = "customers/table.html"
        empty_text = _("No applications are waiting.")
        row_attrs = {"id": lambda record: f"application-{record.pk}", "data-status": lambda record: record.status}

    def render_account(self, record):
        return account_link(record)

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
