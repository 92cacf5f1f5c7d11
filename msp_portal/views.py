"""Cross-cutting pages: dashboard, health check, error pages."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import CustomerStatus
from accounts.selectors import customers_visible_to

from .permissions import Cap, capability_required, public


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


@capability_required(Cap.DASHBOARD_VIEW)
@require_GET
def dashboard(request):
    rows = customers_visible_to(request.user).values("status").order_by().annotate(n=Count("id"))
    by_status = {row["status"]: row["n"] for row in rows}
    status_counts = [(value, label, by_status.get(value, 0)) for value, label in CustomerStatus.choices]
    return render(request, "dashboard.html", {"status_counts": status_counts})


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
        with app.connection_for_write() as conn:
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
