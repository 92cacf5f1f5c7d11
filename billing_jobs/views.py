"""The operator's job pages, and the two cancellation popups (解約, 解約予定日設定)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from customers.lifecycle import CANCEL_BUTTON_STATUSES, WITHDRAWABLE_STATUSES
from customers.models import CustomerAccount, CustomerStatus
from customers.selectors import get_customer_for_user
from msp_portal import dates
from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import Cap, capability_required
from msp_portal.requests import safe_next_url
from points import selectors

from .cancellation import customer_cancel, customer_schedule_cancellation
from .forms import CancelForm, CancellationDateForm
from .models import JobRun
from .selectors import settlement_for
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
    """Where the popup returns: a safe `next`, the page it was opened from, else the customer's
    detail page."""
    return safe_next_url(request, reverse("customers:detail", args=[customer.pk]))


def _settlement_preview(customer: CustomerAccount, cancellation_date=None) -> dict:
    """The popups' settlement table: today's figures for 解約 (`cancellation_date` None), the
    settlement as it will be on the date for 解約予定日 (an estimate when 25ths come first)."""
    settlement = settlement_for(customer, cancellation_date=cancellation_date)
    pool_balance = selectors.pool_balance(customer.organization_id)
    return {
        "balance": settlement.balance,
        "owed": settlement.owed,
        "charges": settlement.charges,
        "topup": settlement.topup,
        "forfeit": settlement.forfeit,
        "pool_balance": pool_balance,
        "pool_after": pool_balance - settlement.topup,
        "cancellation_date": cancellation_date,
        "estimated": settlement.estimated,
    }


@capability_required(Cap.CUSTOMERS_CANCEL, scope=(get_customer_for_user, "customer_id"))
@require_http_methods(["GET", "POST"])
def customer_cancel_view(request, customer_id: int):
    customer = get_customer_for_user(request.user, customer_id, cap=Cap.CUSTOMERS_CANCEL)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        withdrawing = customer.status in WITHDRAWABLE_STATUSES
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
        "withdraw": customer.status in WITHDRAWABLE_STATUSES,
        "cancellable": customer.status in CANCEL_BUTTON_STATUSES,
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
    date_value, day = _chosen_date(request, customer)
    settable = customer.status == CustomerStatus.ACTIVE
    context = {
        "customer": customer,
        "form": form,
        "next": _back_url(request, customer),
        "settable": settable,
        "date_value": date_value,
        "preview": _settlement_preview(customer, day) if settable and day is not None else None,
        "preview_hint": settable and day is None,
    }
    return render(request, "billing_jobs/cancellation_date_modal.html", context)


def _chosen_date(request, customer: CustomerAccount):
    """The date in the 解約予定日 field (posted, or sent by the field's own refresh as
    ?cancellation_date=, else the date already set) and, when it is a valid future date, that
    date for the preview."""
    source = request.POST if request.method == "POST" else request.GET
    if "cancellation_date" not in source:
        day = customer.cancellation_date
        return (day.isoformat() if day else ""), day
    raw = source.get("cancellation_date", "")
    try:
        day = forms.DateField(required=False).clean(raw)
    except ValidationError:
        day = None
    return raw, day if day is not None and day > dates.today() else None
