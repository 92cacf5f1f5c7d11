"""The operator's job pages, and the old addresses of the two cancellation popups (解約,
解約予定日設定), which the customers app serves now."""

from __future__ import annotations

from django.db.models import Count, Sum
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from customers.selectors import get_customer_for_user
from msp_portal.permissions import Cap, capability_required

from .models import JobRun
from .tables import JobRunTable


@capability_required(Cap.JOBS_VIEW)
@require_GET
def run_list(request):
    table = JobRunTable(JobRun.objects.all())
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(request, "billing_jobs/run_list.html", {"table": table})


@capability_required(Cap.JOBS_VIEW)
@require_GET
def run_detail(request, pk: int):
    job = get_object_or_404(JobRun, pk=pk)
    chunk_summary = list(
        job.chunks.values("period", "status")
        .order_by("period", "status")
        .annotate(n=Count("id"), charged=Sum("charged"), points=Sum("points"))
    )
    failed_chunks = job.chunks.filter(status="failed")[:100]
    return render(
        request,
        "billing_jobs/run_detail.html",
        {"job": job, "chunk_summary": chunk_summary, "failed_chunks": failed_chunks},
    )


def _moved(request, name: str, customer_id: int) -> HttpResponseRedirect:
    """307, so that a POST is posted again to the new address rather than lost, with the query
    string kept. Another tenant's account is not found here either."""
    customer = get_customer_for_user(request.user, customer_id, cap=Cap.CUSTOMERS_CANCEL)
    url = reverse(name, args=[customer.pk])
    if request.META.get("QUERY_STRING"):
        url = f"{url}?{request.META['QUERY_STRING']}"
    return HttpResponseRedirect(url, status=307)


# The cancellation popups' addresses before they moved to the customers app (/customers/<id>/…),
# for old links and pages still open in a browser. Checked as the popups are.


@capability_required(Cap.CUSTOMERS_CANCEL, scope=(get_customer_for_user, "customer_id"))
@require_http_methods(["GET", "POST"])
def customer_cancel_moved(request, customer_id: int):
    return _moved(request, "customers:cancel", customer_id)


@capability_required(Cap.CUSTOMERS_CANCEL, scope=(get_customer_for_user, "customer_id"))
@require_http_methods(["GET", "POST"])
def customer_cancellation_date_moved(request, customer_id: int):
    return _moved(request, "customers:cancellation_date", customer_id)
