"""The operator's job pages, and the two cancellation popups (解約, 解約予定日設定)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from accounts.models import CustomerAccount, CustomerStatus
from accounts.selectors import get_customer_for_user
from msp_portal import dates
from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import Cap, capability_required
from msp_portal.redirects import safe_next
from points.models import LedgerAccount, LedgerAccountKind

from .cancellation import WITHDRAWABLE, customer_cancel, customer_schedule_cancellation
from .forms import CancelForm, CancellationDateForm
from .models import JobRun
from .selectors import due_periods, owing
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


def _back_url(request, customer: CustomerAccount) -> str:
    """Where the popup returns: a safe `next`, the page it was opened from (htmx), else the
    customer's detail page."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if getattr(request, "htmx", False):
        candidates.append(request.htmx.current_url)
    return safe_next(request, *candidates) or reverse("customers:detail", args=[customer.pk])


def _settlement_preview(customer: CustomerAccount) -> dict:
    owed = 0
    for period in due_periods(dates.today()):
        owed += (
            owing(period, CustomerAccount.objects.filter(pk=customer.pk)).aggregate(s=Sum("charge_amount"))["s"] or 0
        )
    after = customer.points_balance - owed
    pool_balance = (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization_id=customer.organization_id)
        .values_list("balance", flat=True)
        .first()
        or 0
    )
    return {
        "balance": customer.points_balance,
        "owed": owed,
        "topup": max(0, -after),
        "forfeit": max(0, after),
        "pool_balance": pool_balance,
        "pool_after": pool_balance - max(0, -after),
    }


@capability_required(Cap.CUSTOMERS_CANCEL, scope=(get_customer_for_user, "customer_id"))
@require_http_methods(["GET", "POST"])
def customer_cancel_view(request, customer_id: int):
    customer = get_customer_for_user(request.user, customer_id, cap=Cap.CUSTOMERS_CANCEL)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        withdrawing = customer.status in WITHDRAWABLE
        try:
            customer_cancel(actor=request.user, customer=customer, agreed=form.cleaned_data["agreed"])
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            if withdrawing:
                messages.success(
                    request, _("The application of %(name)s was withdrawn.") % {"name": customer.company_name}
                )
            else:
                messages.success(request, _("%(name)s was cancelled.") % {"name": customer.company_name})
            return popup_done(request, _back_url(request, customer))
    context = {
        "customer": customer,
        "form": form,
        "next": _back_url(request, customer),
        "withdraw": customer.status in WITHDRAWABLE,
        "cancellable": customer.status == CustomerStatus.ACTIVE or customer.status in WITHDRAWABLE,
        "preview": _settlement_preview(customer) if customer.status == CustomerStatus.ACTIVE else None,
    }
    return render(request, "billing_jobs/cancel_modal.html", context)


@capability_required(Cap.CUSTOMERS_CANCEL, scope=(get_customer_for_user, "customer_id"))
@require_http_methods(["GET", "POST"])
def customer_cancellation_date_view(request, customer_id: int):
    customer = get_customer_for_user(request.user, customer_id, cap=Cap.CUSTOMERS_CANCEL)
    initial = {"cancellation_date": customer.cancellation_date}
    form = CancellationDateForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        day = form.cleaned_data["cancellation_date"]
        try:
            customer_schedule_cancellation(
                actor=request.user, customer=customer, cancellation_date=day, agreed=form.cleaned_data["agreed"]
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            if day is None:
                messages.success(
                    request, _("The cancellation date of %(name)s was cleared.") % {"name": customer.company_name}
                )
            else:
                messages.success(
                    request,
                    _("%(name)s will be cancelled on %(date)s.")
                    % {"name": customer.company_name, "date": day.isoformat()},
                )
            return popup_done(request, _back_url(request, customer))
    context = {
        "customer": customer,
        "form": form,
        "next": _back_url(request, customer),
        "settable": customer.status == CustomerStatus.ACTIVE,
        "date_value": request.POST.get("cancellation_date")
        if request.method == "POST"
        else (customer.cancellation_date.isoformat() if customer.cancellation_date else ""),
        "preview": _settlement_preview(customer) if customer.status == CustomerStatus.ACTIVE else None,
    }
    return render(request, "billing_jobs/cancellation_date_modal.html", context)
