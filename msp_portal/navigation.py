"""The header navigation, defined once. Each entry shows only to roles with its capability;
add an entry when its page is built, never before."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .permissions import Cap


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    cap: Cap
    # URL name prefixes that mark this entry as the current one.
    active_prefixes: tuple[str, ...] = ()


NAVIGATION: list[NavItem] = [
    NavItem("dashboard", _("Dashboard"), Cap.DASHBOARD_VIEW),
    NavItem("customers:list", _("Customer accounts"), Cap.CUSTOMERS_VIEW, ("customers:list", "customers:detail")),
    NavItem("customers:pending", _("Pending accounts"), Cap.CUSTOMERS_VIEW, ("customers:pending",)),
    NavItem("merges:received", _("Merges and transfers"), Cap.CUSTOMERS_MERGE, ("merges:",)),
    NavItem("points:pool", _("Point pool"), Cap.POINTS_VIEW, active_prefixes=("points:",)),
    # 顧客画面: every staff role may open the switcher; whether a portal opens writable is decided
    # per customer by customer_portal.access (CUSTOMERS_CUSTOMER_SCREEN, support: read-only).
    NavItem("customer_portal:switcher", _("Customer screen"), Cap.CUSTOMERS_VIEW, ("customer_portal:",)),
    NavItem("billing_jobs:run_list", _("Billing jobs"), Cap.JOBS_VIEW, ("billing_jobs:run_",)),
    NavItem("staff_list", _("Staff"), Cap.STAFF_VIEW, ("staff_",)),
    NavItem("support_account_list", _("Support accounts"), Cap.SUPPORT_ACCOUNTS_MANAGE, ("support_",)),
    NavItem("audit_event_list", _("Audit trail"), Cap.AUDIT_VIEW, ("audit_",)),
]

# Where a signed-in user lands from "/": the first of these that answers a URL for the user,
# else the dashboard. An app whose users have no staff pages registers one in its
# AppConfig.ready (customer_portal: a customer admin lands in their customer's portal), so this
# module imports no app.
LANDING_PAGES: list[Callable[[object], str | None]] = []
