"""The header navigation, defined once. Each entry shows only to roles with its capability;
add an entry when its page is built, never before."""

from __future__ import annotations

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
    NavItem("billing_jobs:run_list", _("Billing jobs"), Cap.JOBS_VIEW, ("billing_jobs:run_",)),
]
