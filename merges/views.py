"""Merge and transfer request pages: requests received (approve / reject) and sent (withdraw), a
request's page with its preview, the merge and transfer request forms, the search of other MSPs'
accounts, and the suggestions on the dashboard and the customer detail page. Thin views: resolve
through the access helpers, validate a form, call one service, answer with a message."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.models import CustomerStatus
from customers.selectors import customers_visible_to, get_customer_for_user
from msp_portal.errors import DomainError
from msp_portal.permissions import Cap, capability_required, check_cap, has_cap
from msp_portal.requests import safe_next_url
from points.forms import idempotency_key_from, mint_form_key

from . import services
from .forms import ApproveForm, MergeRequestForm, RejectForm, SearchForm, TransferRequestForm
from .models import MergeSearch, RequestStatus
from .selectors import (
    SEARCH_RESULT_HOURS,
    decision_refusal,
    get_request_for_user,
    may_cancel,
    merge_partner_for,
    merge_preview,
    merged_into,
    msp_code,
    msp_for_code,
    received_requests,
    requests_of_customer,
    searches_today,
    sees_both,
    sent_requests,
    suggestion_pairs,
    suggestions_for,
    transfer_preview,
)

PAGE_SIZE = 50


# --- The lists -------------------------------------------------------------------------------------


def _request_list(request, side: str):
    queryset = received_requests(request.user) if side == "received" else sent_requests(request.user)
    status = request.GET.get("status", "")
    if status in RequestStatus.values:
        queryset = queryset.filter(status=status)
    page = Paginator(queryset.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    organization = request.user.organization
    return render(
        request,
        "merges/requests.html",
        {
            "side": side,
            "page": page,
            "status": status,
            "statuses": RequestStatus.choices,
            "msp_code": msp_code(organization) if organization is not None and organization.is_msp else "",
        },
    )


@capability_required(Cap.CUSTOMERS_MERGE)
@require_GET
def received(request):
    return _request_list(request, "received")


@capability_required(Cap.CUSTOMERS_MERGE)
@require_GET
def sent(request):
    return _request_list(request, "sent")


# --- One request -----------------------------------------------------------------------------------


def _preview_of(account_request, keep_admins: bool = False):
    if not account_request.is_pending:
        return None
    if account_request.is_merge:
        return merge_preview(account_request.customer, account_request.survivor, keep_admins=keep_admins)
    return transfer_preview(account_request.customer, account_request.to_organization)


def _detail(request, account_request, *, approve_form=None, reject_form=None):
    keep_admins = bool(approve_form is not None and approve_form.is_bound and approve_form.data.get("keep_admins"))
    return render(
        request,
        "merges/detail.html",
        {
            "account_request": account_request,
            "preview": _preview_of(account_request, keep_admins),
            "masked": account_request.is_merge
            and not sees_both(request.user, account_request.customer, account_request.survivor),
            "approve_form": approve_form or ApproveForm(),
            "reject_form": reject_form or RejectForm(),
            "refusal": decision_refusal(request.user, account_request) if account_request.is_pending else None,
            "may_cancel": account_request.is_pending and may_cancel(request.user, account_request),
        },
    )


@capability_required(Cap.CUSTOMERS_MERGE, scope=(get_request_for_user, "request_id"))
@require_GET
def request_detail(request, request_id):
    account_request = get_request_for_user(request.user, request_id, cap=Cap.CUSTOMERS_MERGE)
    return _detail(request, account_request)


def _kind_cap(account_request) -> Cap:
    return Cap.CUSTOMERS_MERGE if account_request.is_merge else Cap.CUSTOMERS_TRANSFER


@capability_required(Cap.CUSTOMERS_MERGE, scope=(get_request_for_user, "request_id"))
@require_POST
def request_approve(request, request_id):
    account_request = get_request_for_user(request.user, request_id, cap=Cap.CUSTOMERS_MERGE)
    check_cap(request.user, _kind_cap(account_request))
    form = ApproveForm(request.POST)
    if form.is_valid():
        try:
            services.request_approve(
                actor=request.user,
                account_request=account_request,
                confirmation=form.cleaned_data["confirmation"],
                keep_admins=form.cleaned_data["keep_admins"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            if account_request.is_merge:
                messages.success(
                    request,
                    _("%(absorbed)s has been merged into %(survivor)s.")
                    % {
                        "absorbed": account_request.customer.account_code,
                        "survivor": account_request.survivor.account_code,
                    },
                )
            else:
                messages.success(
                    request,
                    _("%(code)s now belongs to %(msp)s.")
                    % {"code": account_request.customer.account_code, "msp": account_request.to_organization.name},
                )
            return redirect("merges:detail", request_id)
    account_request.refresh_from_db()
    return _detail(request, account_request, approve_form=form)


@capability_required(Cap.CUSTOMERS_MERGE, scope=(get_request_for_user, "request_id"))
@require_POST
def request_reject(request, request_id):
    account_request = get_request_for_user(request.user, request_id, cap=Cap.CUSTOMERS_MERGE)
    check_cap(request.user, _kind_cap(account_request))
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            services.request_reject(
                actor=request.user, account_request=account_request, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The request has been rejected."))
            return redirect("merges:detail", request_id)
    account_request.refresh_from_db()
    return _detail(request, account_request, reject_form=form)


@capability_required(Cap.CUSTOMERS_MERGE, scope=(get_request_for_user, "request_id"))
@require_POST
def request_cancel(request, request_id):
    account_request = get_request_for_user(request.user, request_id, cap=Cap.CUSTOMERS_MERGE)
    check_cap(request.user, _kind_cap(account_request))
    try:
        services.request_cancel(actor=request.user, account_request=account_request)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The request has been withdrawn."))
    return redirect("merges:detail", request_id)


# --- Requesting ------------------------------------------------------------------------------------


def _recently_found(user, customer):
    """Accounts of other MSPs the user's recent searches found, to name in a merge request."""
    since = timezone.now() - dt.timedelta(hours=SEARCH_RESULT_HOURS)
    searches = MergeSearch.objects.filter(user=user, searched_at__gte=since)
    found = {}
    for search in searches.prefetch_related("found__organization").order_by("-searched_at"):
        for account in search.found.all():
            if account.pk != customer.pk and account.status == CustomerStatus.ACTIVE:
                found.setdefault(account.pk, account)
    return list(found.values())


@capability_required(Cap.CUSTOMERS_MERGE, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def merge_request(request, pk):
    """マージのリクエスト: choose the other account (a suggestion, one found by the search), then the
    surviving account and a note, with the preview of the result."""
    customer = get_customer_for_user(request.user, pk, cap=Cap.CUSTOMERS_MERGE)
    other_id = request.POST.get("other") or request.GET.get("with")
    if not other_id:
        return render(
            request,
            "merges/merge_choose.html",
            {
                "customer": customer,
                "suggestions": suggestions_for(request.user, customer),
                "found": _recently_found(request.user, customer),
            },
        )
    other = merge_partner_for(request.user, other_id)
    if other.pk == customer.pk:
        raise Http404
    data = request.POST if request.method == "POST" else None
    form = MergeRequestForm(data, initial={"token": mint_form_key(request.user, "merge_request"), "survivor": "this"})
    choice = (data or request.GET).get("survivor", "this")
    survivor_is_other = choice == "other"
    survivor, absorbed = (other, customer) if survivor_is_other else (customer, other)
    if request.method == "POST" and "preview" not in request.POST and form.is_valid():
        key = idempotency_key_from(form.cleaned_data["token"], request.user, "merge_request")
        if key is None:
            form.add_error(None, _("This form has expired. Reload the page and try again."))
        else:
            try:
                services.merge_request_create(
                    actor=request.user,
                    customer=customer,
                    other=other,
                    survivor_is_other=form.cleaned_data["survivor"] == "other",
                    note=form.cleaned_data["note"],
                    idempotency_key=key,
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("The merge request has been sent to %(organization)s.")
                    % {"organization": other.organization.name},
                )
                return redirect("merges:sent")
    return render(
        request,
        "merges/merge_request.html",
        {
            "customer": customer,
            "other": other,
            "form": form,
            "survivor_is_other": survivor_is_other,
            "preview": merge_preview(absorbed, survivor),
            "masked": not sees_both(request.user, customer, other),
        },
    )


@capability_required(Cap.CUSTOMERS_TRANSFER, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def transfer_request(request, pk):
    """Transfer the account to another MSP (Partner Center's partner switch): name the receiving
    MSP by its code, see what moves, send the request (or, for the operator and a privileged MSP
    between its own organizations, transfer at once)."""
    customer = get_customer_for_user(request.user, pk, cap=Cap.CUSTOMERS_TRANSFER)
    data = request.POST if request.method == "POST" else None
    form = TransferRequestForm(data, initial={"token": mint_form_key(request.user, "transfer_request")})
    code = (data or request.GET).get("msp_code", "")
    to_organization = msp_for_code(code) if code else None
    if code and to_organization is None and form.is_bound:
        form.add_error("msp_code", _("No active MSP has this code."))
    direct = to_organization is not None and services._direct_transfer_allowed(request.user, customer, to_organization)
    if request.method == "POST" and "preview" not in request.POST and form.is_valid() and to_organization is not None:
        key = idempotency_key_from(form.cleaned_data["token"], request.user, "transfer_request")
        if key is None:
            form.add_error(None, _("This form has expired. Reload the page and try again."))
        else:
            try:
                account_request = services.transfer_request_create(
                    actor=request.user,
                    customer=customer,
                    to_organization=to_organization,
                    note=form.cleaned_data["note"],
                    idempotency_key=key,
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                if account_request.status == RequestStatus.APPROVED:
                    messages.success(
                        request,
                        _("%(code)s now belongs to %(msp)s.")
                        % {"code": customer.account_code, "msp": to_organization.name},
                    )
                else:
                    messages.success(
                        request,
                        _("The transfer request has been sent to %(msp)s.") % {"msp": to_organization.name},
                    )
                return redirect("merges:sent")
    return render(
        request,
        "merges/transfer_request.html",
        {
            "customer": customer,
            "form": form,
            "to_organization": to_organization,
            "direct": direct,
            "preview": transfer_preview(customer, to_organization) if to_organization is not None else None,
        },
    )


@capability_required(Cap.CUSTOMERS_MERGE)
@require_http_methods(["GET", "POST"])
def search(request):
    """Find another MSP's account to merge with, by e-mail domain or account code (5 a day)."""
    form = SearchForm(request.POST if request.method == "POST" else None)
    results = None
    customer_id = request.POST.get("customer") or request.GET.get("customer")
    customer = customers_visible_to(request.user).filter(pk=customer_id).first() if customer_id else None
    if request.method == "POST" and form.is_valid():
        try:
            results = services.merge_search(actor=request.user, query=form.cleaned_data["query"])
        except DomainError as exc:
            form.add_error(None, str(exc))
    limit = settings.PORTAL_MERGE_SEARCHES_PER_DAY
    return render(
        request,
        "merges/search.html",
        {
            "form": form,
            "results": results,
            "customer": customer,
            "remaining": max(0, limit - searches_today(request.user)),
            "limit": limit,
        },
    )


@capability_required(Cap.CUSTOMERS_MERGE, scope=(get_customer_for_user, "pk"))
@require_POST
def suggestion_dismiss(request, pk):
    """提案を削除: this pair is not suggested to the organization again."""
    customer = get_customer_for_user(request.user, pk, cap=Cap.CUSTOMERS_MERGE)
    other = get_customer_for_user(request.user, request.POST.get("other"))
    try:
        services.suggestion_dismiss(actor=request.user, customer=customer, other=other)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("The suggestion to merge %(first)s and %(second)s has been removed.")
            % {"first": customer.account_code, "second": other.account_code},
        )
    return redirect(safe_next_url(request, reverse("customers:detail", args=[customer.pk])))


# --- Sections of other apps' pages ---------------------------------------------------------------


def customer_section_context(request, customer) -> dict:
    """The customer detail page's section (customers.views.register_detail_section)."""
    user = request.user
    can_merge = has_cap(user, Cap.CUSTOMERS_MERGE)
    return {
        "merged_into": merged_into(customer) if customer.status == CustomerStatus.MERGED else None,
        "requests": list(requests_of_customer(customer, user).order_by("-created_at", "-pk")[:5]) if can_merge else [],
        "suggestions": suggestions_for(user, customer) if can_merge else [],
        "can_merge": can_merge and customer.status == CustomerStatus.ACTIVE,
        "can_transfer": has_cap(user, Cap.CUSTOMERS_TRANSFER) and customer.status == CustomerStatus.ACTIVE,
    }


def suggestions_panel(request) -> dict | None:
    """The dashboard's merge suggestions (the seed: shown on the home page)."""
    pairs = suggestion_pairs(request.user)
    return {"pairs": pairs} if pairs else None


def requests_panel(request) -> dict | None:
    """The dashboard's count of requests waiting for the user's side."""
    waiting = received_requests(request.user).filter(status=RequestStatus.PENDING, expires_at__gt=timezone.now())
    count = waiting.exclude(requested_by=request.user).count()
    return {"count": count, "url": reverse("merges:received")} if count else None
