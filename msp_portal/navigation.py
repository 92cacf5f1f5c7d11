"""The side menu, defined once: entries in groups, in the menu's order. Each entry shows only to
roles with its capability, a group only when one of its entries shows; add an entry when its page
is built, never before."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .permissions import Cap


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    cap: Cap
    # URL name prefixes that mark this entry as the current one.
    active_prefixes: tuple[str, ...] = ()
    # The menu's group heading; entries of one group stay together, in this list's order.
    group: str = ""


CUSTOMERS = _("Customers")
POINTS = _("Points")
ORGANIZATION = _("Organization")


NAVIGATION: list[NavItem] = [
    NavItem("dashboard", _("Dashboard"), Cap.DASHBOARD_VIEW),
    NavItem(
        "customers:list",
        pgettext_lazy("menu", "Customer accounts"),
        Cap.CUSTOMERS_VIEW,
        ("customers:list", "customers:detail", "customers:register"),
        group=CUSTOMERS,
    ),
    NavItem(
        "customers:pending",
        pgettext_lazy("menu", "Pending accounts"),
        Cap.CUSTOMERS_VIEW,
        ("customers:pending",),
        group=CUSTOMERS,
    ),
    NavItem("merges:received", _("Merges and transfers"), Cap.CUSTOMERS_MERGE, ("merges:",), group=CUSTOMERS),
    # 顧客画面: every staff role may open the switcher; whether a portal opens writable is decided
    # per customer by customer_portal.access (CUSTOMERS_CUSTOMER_SCREEN, support: read-only).
    NavItem(
        "customer_portal:switcher", _("Customer screen"), Cap.CUSTOMERS_VIEW, ("customer_portal:",), group=CUSTOMERS
    ),
    NavItem(
        "points:pool",
        _("Point pool"),
        Cap.POINTS_VIEW,
        ("points:pool", "points:purchase_new", "points:adjustment", "points:replenish", "points:change"),
        group=POINTS,
    ),
    NavItem(
        "points:purchase_requests",
        pgettext_lazy("menu", "Purchase requests"),
        Cap.POINTS_VIEW,
        ("points:purchase_request",),
        group=POINTS,
    ),
    NavItem("points:rules", _("Consumption rules"), Cap.RULES_VIEW, ("points:rule",), group=POINTS),
    NavItem("billing_jobs:run_list", _("Billing jobs"), Cap.JOBS_VIEW, ("billing_jobs:run_",), group=POINTS),
    NavItem("staff_list", _("Staff"), Cap.STAFF_VIEW, ("staff_",), group=ORGANIZATION),
    NavItem(
        "support_account_list", _("Support accounts"), Cap.SUPPORT_ACCOUNTS_MANAGE, ("support_",), group=ORGANIZATION
    ),
    NavItem("audit_event_list", _("Audit trail"), Cap.AUDIT_VIEW, ("audit_",), group=ORGANIZATION),
    NavItem(
        "organization_settings",
        pgettext_lazy("menu", "Organization settings"),
        Cap.STAFF_MANAGE,
        ("organization_",),
        group=ORGANIZATION,
    ),
    NavItem("webhooks:endpoint_list", _("Webhooks"), Cap.WEBHOOKS_MANAGE, ("webhooks:",), group=ORGANIZATION),
    NavItem("api_key_list", _("API keys"), Cap.API_KEYS_MANAGE, ("api_key_",), group=ORGANIZATION),
]

# Where a signed-in user lands from "/": the first of these that answers a URL for the user,
# else the dashboard. An app whose users have no staff pages registers one in its
# AppConfig.ready (customer_portal: a customer admin lands in their customer's portal), so this
# module imports no app.
LANDING_PAGES: list[Callable[[object], str | None]] = []
