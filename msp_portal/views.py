"""Cross-cutting pages: dashboard, health check, error pages."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db import connection
from django.db.models import Count
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import CustomerStatus
from accounts.selectors import customers_visible_to

from .permissions import Cap, OrganizationKind, capability_required, public


@public
@require_GET
def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    # A customer admin has no staff pages: their home is their customer's admin portal.
    from customer_portal.access import customer_admin_of

    admin = customer_admin_of(request.user)
    if admin is not None:
        return redirect("customer_portal:home", account_code=admin.customer.account_code)
    return redirect("dashboard")


# The operator's dashboard counts only its work queue (a few rows, found by status), never
# every customer account of every MSP.
OPERATOR_QUEUE = (CustomerStatus.PENDING_APPROVAL, CustomerStatus.PROVISIONING, CustomerStatus.PROVISIONING_FAILED)


@capability_required(Cap.DASHBOARD_VIEW)
@require_GET
def dashboard(request):
    """Per role, from one grouped query: MSP staff see their customers by status (pending
    applications first); the operator its approval and provisioning queue across all MSPs;
    support staff the customers assigned to their support account."""
    user = request.user
    organization = user.organization
    queryset = customers_visible_to(user)
    if organization.kind == OrganizationKind.OPERATOR:
        kind = "operator"
        statuses = OPERATOR_QUEUE
        queryset = queryset.filter(status__in=statuses)
    else:
        kind = "support" if organization.kind == OrganizationKind.SUPPORT else "msp"
        statuses = tuple(CustomerStatus.values)
    rows = queryset.values("status").order_by().annotate(n=Count("id"))
    by_status = {row["status"]: row["n"] for row in rows}
    labels = dict(CustomerStatus.choices)
    status_counts = [(value, labels[value], by_status.get(value, 0)) for value in statuses]
    context = {
        "dashboard_kind": kind,
        "status_counts": status_counts,
        "pending_count": by_status.get(CustomerStatus.PENDING_APPROVAL, 0),
        "assigned_count": sum(by_status.values()),
    }
    return render(request, "dashboard.html", context)


# --- Error pages (wired as handler400/403/404/500 in urls.py) --------------------------------------


def bad_request(request, exception=None):
    # A BadRequest says what was wrong with the request, for the user (msp_portal.requests); the
    # other 400s (a forged host, a broken session) are Django's and say nothing about themselves.
    message = str(exception) if isinstance(exception, BadRequest) else ""
    return render(request, "400.html", {"message": message}, status=400)


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No request context: whatever broke (the database, a context processor) must not break the
    # error page too. The language chosen by the middleware is still active.
    return HttpResponseServerError(loader.get_template("500.html").render())


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, "ok"
    except Exception as exc:  # any failure means "down"; the message says which
        return False, type(exc).__name__


def _broker_ok() -> tuple[bool, str]:
    from msp_portal.celery import app

    try:
        # The URL is read from the settings at each check, so a changed setting is what is probed.
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # any failure means "down"
        return False, type(exc).__name__


@public
@never_cache
@require_GET
def healthz(request):
    database_ok, database = _database_ok()
    broker_ok, broker = _broker_ok()
    status = 200 if database_ok and broker_ok else 503
    return JsonResponse(
        {
            "status": "ok" if status == 200 else "unavailable",
            "database": database,
            "broker": broker,
            "broker_transport": settings.CELERY_BROKER_URL.split(":", 1)[0],
        },
        status=status,
    )
