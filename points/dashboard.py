"""The points panels of the dashboard (registered in apps.py): what the next 25th will leave
short and whether the pool covers it, the points purchase requests still awaiting the operator,
and the pool's points over the last twelve months."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, Sum
from django.urls import reverse
from django.utils import timezone

from customers.dashboard import list_url
from customers.selectors import customers_visible_to
from msp_portal import dates

from . import selectors
from .models import PurchaseRequestStatus

# The open purchase requests listed by name; the rest are counted.
LISTED_PURCHASE_REQUESTS = 5


def _own_msp(request):
    organization = request.user.organization
    return organization if organization is not None and organization.is_msp else None


def shortage_panel(request) -> dict | None:
    """The MSP's accounts whose estimate after the next 25th is negative, the points that would
    cover them, the pool's balance against that, and the days left (the wallets' MSP-led index on
    the estimate: a range of the negative ones only)."""
    organization = _own_msp(request)
    if organization is None:
        return None
    short = (
        customers_visible_to(request.user)
        .filter(organization=organization)
        .through_wallet()
        .filter(estimated_balance__lt=0)
        .aggregate(count=Count("pk"), need=Sum(-F("estimated_balance")))
    )
    today = dates.today()
    charge_day = dates.label_charge_day(today)
    pool = selectors.pool_balance(organization)
    need = short["need"] or 0
    return {
        "count": short["count"],
        "need": need,
        "pool": pool,
        "covered": pool >= need,
        "charge_day": charge_day,
        "days_left": (charge_day - today).days,
        "url": list_url(shortage="yes", sort="estimated_balance"),
    }


def pool_chart_panel(request) -> dict | None:
    """The pool's balance after each of its transfers of the last twelve months."""
    organization = _own_msp(request)
    if organization is None:
        return None
    since = timezone.now() - dt.timedelta(days=365)
    chart = selectors.balance_chart(selectors.pool_history(organization).filter(created_at__gte=since))
    if chart is None:
        return None
    return {"chart": chart, "organization": organization}


def purchase_requests_panel(request) -> dict | None:
    """The purchase requests awaiting the operator: for the operator every MSP's, oldest first (the
    queue to work through), for an MSP its own; nothing when none is open (the queue's index on
    status and request time)."""
    open_requests = selectors.purchase_requests_visible_to(request.user).filter(status=PurchaseRequestStatus.OPEN)
    totals = open_requests.aggregate(count=Count("pk"), points=Sum("amount"))
    if not totals["count"]:
        return None
    oldest = list(open_requests.order_by("requested_at", "pk")[:LISTED_PURCHASE_REQUESTS])
    return {
        "count": totals["count"],
        "points": totals["points"],
        "oldest": oldest,
        "show_organization": request.user.organization.is_operator,
        "url": reverse("points:purchase_requests"),
    }
