"""Customer account pages: the list (顧客アカウント一覧), the approval queue, the
detail page and the popups. Views are thin: resolve the account through the access helper,
validate a form, call one service, answer with a message (or re-render the popup)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from audit.presenters import present
from msp_portal import dates
from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import Cap, capability_required, has_cap
from msp_portal.requests import page_size, safe_next_url

from . import hooks, listing, services
from .bulk_actions import bulk_actions_for
from .cancellation import customer_cancel, customer_schedule_cancellation
from .forms import (
    CancelForm,
    CancellationDateForm,
    ContractForm,
    CustomerInfoForm,
    CustomerRegisterForm,
    CustomerResubmitForm,
    RejectForm,
    ResellerForm,
    ScreenForm,
    SupportForm,
    WithdrawForm,
)
from .lifecycle import (
    APPROVAL_QUEUE_STATUSES,
    CANCEL_BUTTON_STATUSES,
    READ_ONLY_STATUSES,
    WITHDRAWABLE_STATUSES,
)
from .models import CustomerStatus
from .selectors import (
    approval_due_date,
    approval_is_overdue,
    approval_queue_for,
    customer_audit_trail,
    customer_contract_history,
    customer_status_history,
    customers_for_list,
    get_customer_for_user,
)
from .tables import ApprovalQueueTable

# --- helpers -------------------------------------------------------------------------------


def _paginate(table, request, per_page: int) -> None:
    try:
        table.paginate(
            paginator_class=listing.DepthLimitedPaginator, per_page=per_page, page=request.GET.get("page", 1)
        )
    except (EmptyPage, PageNotAnInteger):
        table.paginate(paginator_class=listing.DepthLimitedPaginator, per_page=per_page, page=1)
    if table.paginator.depth_limited:
        messages.info(
            request,
            _(
                "Paging stops after the first %(rows)s accounts of a list. Narrow it with the search or the "
                "filters; the CSV and Excel downloads contain all of it."
            )
            % {"rows": f"{listing.MAX_PAGED_ROWS:,}"},
        )


def _detail_url(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def _popup(request, template: str, context: dict[str, Any]):
    # Validation errors re-render the popup with 200 so that htmx swaps it in.
    context.setdefault("next", safe_next_url(request, ""))
    return render(request, template, context)


# --- the list --------------------------------------------------------------------------------


@capability_required(Cap.CUSTOMERS_VIEW)
@require_GET
def customer_list(request):
    user = request.user
    filterset, table = listing.customer_list_table(user, request.GET)
    per_page = page_size(request)
    _paginate(table, request, per_page)
    return render(
        request,
        "customers/list.html",
        {
            "filter": filterset,
            "table": table,
            "count": listing.bounded_count(filterset.qs),
            "per_page": per_page,
            "page_sizes": settings.PORTAL_PAGE_SIZES,
            "bulk_actions": bulk_actions_for(user),
        },
    )


# --- registration and the approval queue ------------------------------------------------------


@capability_required(Cap.CUSTOMERS_REGISTER)
@require_http_methods(["GET", "POST"])
def customer_register(request):
    form = CustomerRegisterForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_register(
                actor=request.user, organization=form.cleaned_data["organization"], data=form.registration_data()
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(company)s has been registered and is waiting for approval.") % {"company": customer.company_name},
            )
            return popup_done(request, reverse("customers:pending"))
    return _popup(request, "customers/register_modal.html", {"form": form})


@capability_required(Cap.CUSTOMERS_VIEW)
@require_GET
def approval_queue(request):
    queryset = approval_queue_for(request.user)
    status = request.GET.get("status")
    if status in CustomerStatus.values:
        queryset = queryset.filter(status=status)
    table = ApprovalQueueTable(queryset)
    table.request = request
    per_page = page_size(request)
    _paginate(table, request, per_page)
    return render(
        request,
        "customers/pending.html",
        {
            "table": table,
            "per_page": per_page,
            "page_sizes": settings.PORTAL_PAGE_SIZES,
            "business_days": settings.PORTAL_APPROVAL_BUSINESS_DAYS,
            "status": status if status in CustomerStatus.values else "",
            "queue_statuses": [(value, CustomerStatus(value).label) for value in APPROVAL_QUEUE_STATUSES],
        },
    )


@dataclass(frozen=True)
class Confirmation:
    """What a lifecycle popup asks (templates/customers/confirm_modal.html)."""

    key: str  # names the popup's form for tests: "<key>-form"
    url_name: str  # where it posts, with the account's pk
    title: str
    question: str
    submit: str
    button: str  # the submit button's Bootstrap style


CONFIRM_APPROVE = Confirmation(
    "approve",
    "customers:approve",
    gettext_lazy("Approve application"),
    gettext_lazy("Approve this application? Provisioning starts right after approval."),
    gettext_lazy("Approve"),
    "success",
)
CONFIRM_REJECT = Confirmation(
    "reject",
    "customers:reject",
    gettext_lazy("Return application"),
    gettext_lazy("Return this application to the MSP with a reason. The MSP can correct and resubmit it."),
    gettext_lazy("Return"),
    "danger",
)
CONFIRM_WITHDRAW = Confirmation(
    "withdraw",
    "customers:withdraw",
    gettext_lazy("Withdraw application"),
    gettext_lazy("Withdraw this application? The account will not be provisioned; it stays as a record."),
    gettext_lazy("Withdraw"),
    "danger",
)
CONFIRM_RETRY = Confirmation(
    "retry",
    "customers:retry_provisioning",
    gettext_lazy("Retry provisioning"),
    gettext_lazy("Start the provisioning of this account again."),
    gettext_lazy("Retry provisioning"),
    "warning",
)
CONFIRM_ARCHIVE = Confirmation(
    "archive",
    "customers:archive",
    gettext_lazy("Archive"),
    gettext_lazy("Hide this account from the default list? Nothing is deleted and it can be unarchived."),
    gettext_lazy("Archive"),
    "secondary",
)
CONFIRM_UNARCHIVE = Confirmation(
    "unarchive",
    "customers:unarchive",
    gettext_lazy("Unarchive"),
    gettext_lazy("Show this account in the default list again?"),
    gettext_lazy("Unarchive"),
    "secondary",
)


def _status_action(request, pk, *, cap: Cap, confirm: Confirmation, form_class=None, run, done_message: str):
    """A popup that confirms one lifecycle action (approve, reject, withdraw, retry, archive)."""
    customer = get_customer_for_user(request.user, pk, cap=cap)
    form = form_class(request.POST or None) if form_class else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            run(customer, form.cleaned_data if form else {})
        except DomainError as exc:
            if form is None:
                messages.error(request, str(exc))
                return popup_done(request, safe_next_url(request, reverse("customers:pending")))
            form.add_error(None, str(exc))
        else:
            messages.success(request, done_message % {"company": customer.company_name})
            return popup_done(request, safe_next_url(request, reverse("customers:pending")))
    return _popup(request, "customers/confirm_modal.html", {"customer": customer, "form": form, "confirm": confirm})


@capability_required(Cap.CUSTOMERS_APPROVE, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_approve(request, pk):
    return _status_action(
        request,
        pk,
        cap=Cap.CUSTOMERS_APPROVE,
        confirm=CONFIRM_APPROVE,
        run=lambda customer, data: services.customer_approve(actor=request.user, customer=customer),
        done_message=_("%(company)s has been approved; provisioning has started."),
    )


@capability_required(Cap.CUSTOMERS_APPROVE, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_reject(request, pk):
    return _status_action(
        request,
        pk,
        cap=Cap.CUSTOMERS_APPROVE,
        confirm=CONFIRM_REJECT,
        form_class=RejectForm,
        run=lambda customer, data: services.customer_reject(
            actor=request.user, customer=customer, reason=data["reason"]
        ),
        done_message=_("The application of %(company)s has been returned to the MSP."),
    )


@capability_required(Cap.CUSTOMERS_REGISTER, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_withdraw(request, pk):
    return _status_action(
        request,
        pk,
        cap=Cap.CUSTOMERS_REGISTER,
        confirm=CONFIRM_WITHDRAW,
        form_class=WithdrawForm,
        run=lambda customer, data: services.customer_withdraw(
            actor=request.user, customer=customer, reason=data.get("reason", "")
        ),
        done_message=_("The application of %(company)s has been withdrawn."),
    )


@capability_required(Cap.CUSTOMERS_PROVISION, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_retry_provisioning(request, pk):
    return _status_action(
        request,
        pk,
        cap=Cap.CUSTOMERS_PROVISION,
        confirm=CONFIRM_RETRY,
        run=lambda customer, data: services.customer_provisioning_retry(actor=request.user, customer=customer),
        done_message=_("Provisioning of %(company)s has been started again."),
    )


@capability_required(Cap.CUSTOMERS_ARCHIVE, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_archive(request, pk):
    return _status_action(
        request,
        pk,
        cap=Cap.CUSTOMERS_ARCHIVE,
        confirm=CONFIRM_ARCHIVE,
        run=lambda customer, data: services.customer_archive(actor=request.user, customer=customer),
        done_message=_("%(company)s has been archived."),
    )


@capability_required(Cap.CUSTOMERS_ARCHIVE, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_unarchive(request, pk):
    return _status_action(
        request,
        pk,
        cap=Cap.CUSTOMERS_ARCHIVE,
        confirm=CONFIRM_UNARCHIVE,
        run=lambda customer, data: services.customer_unarchive(actor=request.user, customer=customer),
        done_message=_("%(company)s is shown in the list again."),
    )


@capability_required(Cap.CUSTOMERS_REGISTER, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_resubmit(request, pk):
    customer = get_customer_for_user(request.user, pk, cap=Cap.CUSTOMERS_REGISTER)
    initial = {name: getattr(customer, name) for name in services.REGISTRATION_FIELDS}
    form = CustomerResubmitForm(request.POST or None, initial=initial, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_resubmit(actor=request.user, customer=customer, changes=form.registration_data())
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("%(company)s has been resubmitted for approval.") % {"company": customer.company_name}
            )
            return popup_done(request, reverse("customers:pending"))
    last_reason = customer.status_changes.filter(to_status=CustomerStatus.REJECTED).order_by("-created_at", "-id")
    return _popup(
        request,
        "customers/resubmit_modal.html",
        {"customer": customer, "form": form, "reason": last_reason.values_list("reason", flat=True).first()},
    )


# --- editing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditTab:
    key: str
    label: str
    url_name: str
    cap: Cap


def _edit_tabs(user) -> list[EditTab]:
    tabs = [
        EditTab("basic", _("Basic information"), "customers:edit", Cap.CUSTOMERS_EDIT),
        EditTab("reseller", _("Reseller information"), "customers:edit_reseller", Cap.CUSTOMERS_EDIT),
        EditTab("support", _("Support"), "customers:edit_support", Cap.CUSTOMERS_ASSIGN_SUPPORT),
        EditTab("screen", _("Screen customization"), "customers:edit_screen", Cap.CUSTOMERS_CUSTOMIZE),
    ]
    return [tab for tab in tabs if has_cap(user, tab.cap)]


def _edit(request, pk, *, tab: str, cap: Cap, make_form, save, initial):
    customer = get_customer_for_user(request.user, pk, cap=cap)
    form = make_form(request.POST or None, initial=initial(customer), customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            save(customer, form)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("%(company)s has been updated.") % {"company": customer.company_name})
            return popup_done(request, safe_next_url(request, _detail_url(customer)))
    return _popup(
        request,
        "customers/edit_modal.html",
        {
            "customer": customer,
            "form": form,
            "tab": tab,
            "tabs": [
                {"key": t.key, "label": t.label, "url": reverse(t.url_name, args=[customer.pk])}
                for t in _edit_tabs(request.user)
            ],
            "read_only": customer.status in READ_ONLY_STATUSES,
        },
    )


@capability_required(Cap.CUSTOMERS_EDIT, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_edit(request, pk):
    return _edit(
        request,
        pk,
        tab="basic",
        cap=Cap.CUSTOMERS_EDIT,
        make_form=lambda data=None, *, initial, customer: CustomerInfoForm(data, initial=initial, customer=customer),
        initial=lambda c: {name: getattr(c, name) for name in services.INFO_FIELDS},
        save=lambda c, form: services.customer_update(actor=request.user, customer=c, changes=form.changes()),
    )


@capability_required(Cap.CUSTOMERS_EDIT, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_edit_reseller(request, pk):
    return _edit(
        request,
        pk,
        tab="reseller",
        cap=Cap.CUSTOMERS_EDIT,
        make_form=lambda data=None, *, initial, customer: ResellerForm(data, initial=initial),
        initial=lambda c: {name: getattr(c, name) for name in services.RESELLER_FIELDS},
        save=lambda c, form: services.customer_update(actor=request.user, customer=c, changes=form.changes()),
    )


@capability_required(Cap.CUSTOMERS_ASSIGN_SUPPORT, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_edit_support(request, pk):
    return _edit(
        request,
        pk,
        tab="support",
        cap=Cap.CUSTOMERS_ASSIGN_SUPPORT,
        make_form=SupportForm,
        initial=lambda c: {"support_account": c.support_account_id},
        save=lambda c, form: services.customer_assign_support(
            actor=request.user, customer=c, support_account=form.cleaned_data["support_account"]
        ),
    )


@capability_required(Cap.CUSTOMERS_CUSTOMIZE, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_edit_screen(request, pk):
    from .menus import MENU_KEYS

    return _edit(
        request,
        pk,
        tab="screen",
        cap=Cap.CUSTOMERS_CUSTOMIZE,
        make_form=lambda data=None, *, initial, customer: ScreenForm(data, initial=initial),
        initial=lambda c: {"visible_menus": [key for key in MENU_KEYS if key not in (c.hidden_menus or [])]},
        save=lambda c, form: services.customer_customize_screen(
            actor=request.user, customer=c, hidden_menus=form.hidden_menus()
        ),
    )


@capability_required(Cap.CUSTOMERS_CONTRACT, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_contract(request, pk):
    """契約ユーザ数更新. Opened from the list, success replaces that row in place."""
    customer = get_customer_for_user(request.user, pk, cap=Cap.CUSTOMERS_CONTRACT)
    from_list = (request.POST.get("from") or request.GET.get("from")) == "list"
    form = ContractForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_change_contract(
                actor=request.user, customer=customer, contracted_users=form.cleaned_data["contracted_users"]
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            message = _("The contracted users of %(company)s are now %(users)s.") % {
                "company": customer.company_name,
                "users": f"{customer.contracted_users:,}",
            }
            if from_list and getattr(request, "htmx", False):
                return _row_refresh(request, customer.pk, message)
            messages.success(request, message)
            return popup_done(request, safe_next_url(request, _detail_url(customer)))
    return _popup(
        request, "customers/contract_modal.html", {"customer": customer, "form": form, "from_list": from_list}
    )


def _row_refresh(request, pk: int, message: str) -> HttpResponse:
    """Close the popup and swap the one changed row of the list (htmx out-of-band)."""
    customer = customers_for_list(request.user).get(pk=pk)
    # The same visible columns as the list the popup was opened from.
    table = listing.customer_table(request.user, [customer])
    html = render_to_string(
        "customers/partials/row_refresh.html", {"record": customer, "table": table, "message": message}, request
    )
    response = HttpResponse(html)
    response["HX-Trigger"] = "portal:close-modal"
    return response


# --- 解約 and 解約予定日 (the two cancellation popups) ------------------------------------------------


def _cancel_back_url(request, customer) -> str:
    """Where the popup returns: a safe `next`, the page it was opened from, else the customer's
    detail page."""
    return safe_next_url(request, _detail_url(customer))


@capability_required(Cap.CUSTOMERS_CANCEL, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_cancel_view(request, pk):
    customer = get_customer_for_user(request.user, pk, cap=Cap.CUSTOMERS_CANCEL)
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
            return popup_done(request, _cancel_back_url(request, customer))
    context = {
        "customer": customer,
        "form": form,
        "next": _cancel_back_url(request, customer),
        "withdraw": customer.status in WITHDRAWABLE_STATUSES,
        "cancellable": customer.status in CANCEL_BUTTON_STATUSES,
        # The settlement table (points.settlement): today's figures.
        "preview": hooks.cancellation_preview(customer) if customer.status == CustomerStatus.ACTIVE else None,
    }
    return render(request, "customers/cancel_modal.html", context)


@capability_required(Cap.CUSTOMERS_CANCEL, scope=(get_customer_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def customer_cancellation_date_view(request, pk):
    customer = get_customer_for_user(request.user, pk, cap=Cap.CUSTOMERS_CANCEL)
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
            return popup_done(request, _cancel_back_url(request, customer))
    date_value, day = _chosen_date(request, customer)
    settable = customer.status == CustomerStatus.ACTIVE
    context = {
        "customer": customer,
        "form": form,
        "next": _cancel_back_url(request, customer),
        "settable": settable,
        "date_value": date_value,
        # The settlement as it will be on the chosen date (an estimate when 25ths come first).
        "preview": hooks.cancellation_preview(customer, day) if settable and day is not None else None,
        "preview_hint": settable and day is None,
    }
    return render(request, "customers/cancellation_date_modal.html", context)


def _chosen_date(request, customer):
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


# --- the detail page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DetailSection:
    """One section of the customer detail page: a template, the capability to see it, and a
    function giving its context. Other apps add theirs (points: balance, chart, statement) with
    `register_detail_section` from their AppConfig.ready."""

    key: str
    template: str
    cap: Cap
    context: Any = None


def _overview_context(request, customer):
    from .menus import CUSTOMER_PORTAL_MENUS

    hidden = set(customer.hidden_menus or [])
    return {
        "due_date": approval_due_date(customer),
        "overdue": approval_is_overdue(customer),
        "hidden_menu_labels": [(key, label) for key, label in CUSTOMER_PORTAL_MENUS if key in hidden],
    }


DETAIL_SECTIONS: list[DetailSection] = [
    DetailSection("overview", "customers/partials/detail_overview.html", Cap.CUSTOMERS_VIEW, _overview_context),
    DetailSection(
        "timeline",
        "customers/partials/detail_timeline.html",
        Cap.CUSTOMERS_VIEW,
        lambda request, customer: {"status_changes": customer_status_history(customer)},
    ),
    DetailSection(
        "contract",
        "customers/partials/detail_contract.html",
        Cap.CUSTOMERS_VIEW,
        lambda request, customer: {"contract_changes": customer_contract_history(customer)},
    ),
    DetailSection(
        "audit",
        "customers/partials/detail_audit.html",
        Cap.AUDIT_VIEW,
        lambda request, customer: {"audit_events": present(customer_audit_trail(customer))},
    ),
]


def register_detail_section(section: DetailSection, *, before: str | None = None) -> None:
    """Add `section` to the detail page, before the section keyed `before` (else last). A key
    registered again replaces its section in place."""
    keys = [existing.key for existing in DETAIL_SECTIONS]
    if section.key in keys:
        DETAIL_SECTIONS[keys.index(section.key)] = section
    elif before in keys:
        DETAIL_SECTIONS.insert(keys.index(before), section)
    else:
        DETAIL_SECTIONS.append(section)


@capability_required(Cap.CUSTOMERS_VIEW, scope=(get_customer_for_user, "pk"))
@require_GET
def customer_detail(request, pk):
    customer = get_customer_for_user(request.user, pk)
    sections = []
    for section in DETAIL_SECTIONS:
        if not has_cap(request.user, section.cap):
            continue
        context = section.context(request, customer) if section.context else {}
        sections.append({"key": section.key, "template": section.template, "context": context})
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "sections": sections,
            "read_only": customer.status in READ_ONLY_STATUSES,
            "is_terminal": customer.is_terminal,
        },
    )
