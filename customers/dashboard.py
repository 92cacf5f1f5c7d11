"""The dashboard (ダッシュボード): the day's questions for each kind of user, answered at a glance,
each with a link to the filtered list that holds the answer.

The page itself shows the customers by status (one grouped query); the panels below come from the
apps that know the answers (customers: applications, cancellations due, suspended accounts; points:
the shortage before the next 25th and the pool's history; billing_jobs: the last runs), each
registered from its AppConfig.ready with `register_dashboard_panel`. Every panel is a bounded,
index-served read (DESIGN.md §12): counts over a range of an index, a few rows, never a scan of
every account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from msp_portal import dates
from msp_portal.permissions import Cap, OrganizationKind, capability_required, has_cap

from .lifecycle import AWAITING_OPERATOR_STATUSES
from .models import CustomerStatus
from .selectors import approval_due_date, customers_visible_to

# Who a panel is for: MSP staff (an MSP or a privileged MSP), the operator, support staff.
MSP, OPERATOR, SUPPORT = "msp", "operator", "support"
# The applications listed by name on an MSP's dashboard; the rest are counted.
LISTED_APPLICATIONS = 5
# The operator's queue is read whole for its age histogram up to this many applications.
QUEUE_READ_LIMIT = 10_000


@dataclass(frozen=True)
class DashboardPanel:
    """One panel: a template, who sees it, the capability it needs, and a function of the request
    giving its context (None: nothing to show today)."""

    key: str
    template: str
    kinds: frozenset[str]
    context: Callable[[object], dict | None]
    cap: Cap = Cap.DASHBOARD_VIEW


DASHBOARD_PANELS: list[DashboardPanel] = []


def register_dashboard_panel(panel: DashboardPanel, *, before: str | None = None) -> None:
    """Add `panel`, before the panel keyed `before` (else last); a key registered again replaces
    its panel in place."""
    keys = [existing.key for existing in DASHBOARD_PANELS]
    if panel.key in keys:
        DASHBOARD_PANELS[keys.index(panel.key)] = panel
    elif before in keys:
        DASHBOARD_PANELS.insert(keys.index(before), panel)
    else:
        DASHBOARD_PANELS.append(panel)


def dashboard_kind(user) -> str:
    kind = user.organization.kind
    if kind == OrganizationKind.OPERATOR:
        return OPERATOR
    if kind == OrganizationKind.SUPPORT:
        return SUPPORT
    return MSP


def list_url(**params) -> str:
    """The customer list filtered by `params` (the dashboard's links)."""
    return f"{reverse('customers:list')}?{urlencode(params)}" if params else reverse("customers:list")


# --- the customers' own panels -------------------------------------------------------------------


def _applications(request) -> dict | None:
    """MSP staff: their applications awaiting the operator, oldest first, with the promised date
    and whether it has passed. The operator: the queue's age (business days since submission)."""
    today = dates.today()
    queue = customers_visible_to(request.user).filter(status__in=AWAITING_OPERATOR_STATUSES)
    if dashboard_kind(request.user) == OPERATOR:
        submitted = list(queue.order_by("submitted_at", "id").values_list("submitted_at", flat=True)[:QUEUE_READ_LIMIT])
        if not submitted:
            return None
        promise = settings.PORTAL_APPROVAL_BUSINESS_DAYS
        buckets = [0] * (promise + 2)  # 0 … promise business days, then overdue
        ages: dict[dt.date, int] = {}  # one count per submission day, not per application
        for moment in submitted:
            day = timezone.localtime(moment, dates.TOKYO).date()
            if day not in ages:
                ages[day] = _business_days_between(day, today, cap=promise + 1)
            buckets[ages[day]] += 1
        histogram = [{"days": days, "overdue": days > promise, "count": count} for days, count in enumerate(buckets)]
        return {
            "histogram": histogram,
            "peak": max(buckets),
            "promise": promise,
            "total": len(submitted),
            "pending_url": reverse("customers:pending"),
        }
    oldest = list(queue.order_by("submitted_at", "id")[:LISTED_APPLICATIONS])
    if not oldest:
        return None
    rows = [
        {"customer": customer, "due": approval_due_date(customer), "overdue": today > approval_due_date(customer)}
        for customer in oldest
    ]
    return {"rows": rows, "total": queue.count(), "pending_url": reverse("customers:pending")}


def _business_days_between(start: dt.date, end: dt.date, *, cap: int) -> int:
    """Business days after `start` up to `end`, counted no further than `cap` (the overdue bucket)."""
    days, day = 0, start
    while day < end and days < cap:
        day += dt.timedelta(days=1)
        if dates.is_business_day(day):
            days += 1
    return days


def _cancellations_due(request) -> dict | None:
    """Active accounts whose scheduled cancellation falls in the rest of this month (Tokyo)."""
    today = dates.today()
    month_end = dates.add_months(today.replace(day=1), 1) - dt.timedelta(days=1)
    due = customers_visible_to(request.user).filter(
        status=CustomerStatus.ACTIVE, cancellation_date__gte=today, cancellation_date__lte=month_end
    )
    count = due.count()
    if not count:
        return None
    return {
        "count": count,
        "month_end": month_end,
        "url": list_url(cancellation_scheduled="yes", sort="cancellation_date"),
    }


def _suspended(request) -> dict | None:
    """Accounts the service has suspended (negative for longer than the grace period)."""
    count = customers_visible_to(request.user).filter(suspended_at__isnull=False).count()
    if not count:
        return None
    return {"count": count, "url": list_url(suspended="yes")}


register_dashboard_panel(
    DashboardPanel("applications", "customers/dashboard/applications.html", frozenset({MSP, OPERATOR}), _applications)
)
register_dashboard_panel(
    DashboardPanel(
        "cancellations_due", "customers/dashboard/cancellations_due.html", frozenset({MSP, SUPPORT}), _cancellations_due
    )
)
register_dashboard_panel(
    DashboardPanel("suspended", "customers/dashboard/suspended.html", frozenset({MSP}), _suspended)
)


# --- the page --------------------------------------------------------------------------------


@capability_required(Cap.DASHBOARD_VIEW)
@require_GET
def dashboard(request):
    """Per role: MSP staff see their customers by status (pending applications first) and the
    day's panels; the operator its approval and provisioning queue across all MSPs, the queue's
    age and the last runs; support staff the customers assigned to their support account. The
    operator's counts cover only its work queue (a few rows, found by status), never every
    customer account of every MSP."""
    user = request.user
    kind = dashboard_kind(user)
    queryset = customers_visible_to(user)
    if kind == OPERATOR:
        statuses = AWAITING_OPERATOR_STATUSES
        queryset = queryset.filter(status__in=statuses)
    else:
        statuses = tuple(CustomerStatus.values)
    rows = queryset.values("status").order_by().annotate(n=Count("id"))
    by_status = {row["status"]: row["n"] for row in rows}
    labels = dict(CustomerStatus.choices)
    status_counts = [(value, labels[value], by_status.get(value, 0)) for value in statuses]
    panels = []
    for panel in DASHBOARD_PANELS:
        if kind not in panel.kinds or not has_cap(user, panel.cap):
            continue
        context = panel.context(request)
        if context is not None:
            panels.append({"key": panel.key, "template": panel.template, "context": context})
    context = {
        "dashboard_kind": kind,
        "status_counts": status_counts,
        "pending_count": by_status.get(CustomerStatus.PENDING_APPROVAL, 0),
        "assigned_count": sum(by_status.values()),
        "panels": panels,
    }
    return render(request, "dashboard.html", context)
