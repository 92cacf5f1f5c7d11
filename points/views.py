"""Point pages and popups. Each view: resolve through the tenant scope → validate a form →
call one service → message and close the popup (or re-render it with the error)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Case, When
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_tables2 import LazyPaginator, RequestConfig

from customers.models import CustomerAccount
from customers.selectors import customers_visible_to, get_customer_for_user
from msp_portal import dates
from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.paging import page_bound
from msp_portal.permissions import Cap, capability_required, has_cap
from msp_portal.requests import safe_next_url, selected_ids

from . import ledger, purchase_requests, selectors, services
from .filters import TransferFilter
from .forms import (
    AdjustmentForm,
    DeclineForm,
    PointsChangeForm,
    PurchaseForm,
    PurchaseRequestForm,
    ReplenishForm,
    ReverseForm,
    RuleForm,
)
from .models import ConsumptionRule, LedgerAccount, PurchaseRequestStatus, Transfer
from .rules import rule_at
from .tables import PurchaseRequestTable, RuleTable, StatementTable

HISTORY_PAGE_SIZE = 50


def _statement_table(request, queryset, *, show_customer: bool, prefix: str = ""):
    table = StatementTable(
        queryset, show_customer=show_customer, can_reverse=has_cap(request.user, Cap.POINTS_ADJUST), prefix=prefix
    )
    RequestConfig(request, paginate={"per_page": HISTORY_PAGE_SIZE, "paginator_class": LazyPaginator}).configure(table)
    return table


# --- ポイント数更新 -----------------------------------------------------------------------------


@capability_required(Cap.POINTS_CHANGE, scope=(get_customer_for_user, "customer_id"))
@require_http_methods(["GET", "POST"])
def points_change(request, customer_id: int):
    """ポイント数更新: add (pool → wallet) or remove (wallet → pool) points of one account."""
    customer = get_customer_for_user(request.user, customer_id, cap=Cap.POINTS_CHANGE)
    default_next = reverse("customers:detail", args=[customer.pk])
    form = PointsChangeForm(request.POST or None, user=request.user)
    needs_confirmation = False
    pool_missing = 0
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["operation"] == PointsChangeForm.ADD:
                services.points_allocate(
                    actor=request.user, customer=customer, amount=data["amount"], idempotency_key=form.idempotency_key
                )
                done = _("%(points)s points were added to %(customer)s.")
            else:
                services.points_withdraw(
                    actor=request.user,
                    customer=customer,
                    amount=data["amount"],
                    idempotency_key=form.idempotency_key,
                    allow_negative=data["confirm_negative"],
                )
                done = _("%(points)s points were removed from %(customer)s.")
        except services.NegativeBalanceNotConfirmed as exc:
            needs_confirmation = True
            form.add_error("confirm_negative", str(exc))
        except services.PoolShortage as exc:
            pool_missing = exc.missing
            form.add_error(None, str(exc))
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, done % {"points": f"{data['amount']:,}", "customer": customer.company_name})
            return popup_done(request, safe_next_url(request, default_next))
    customer.points_balance, customer.estimated_balance = selectors.customer_points(customer.pk)
    context = {
        "customer": customer,
        "form": form,
        "pool_balance": selectors.pool_balance(customer.organization_id),
        "needs_confirmation": needs_confirmation,
        "pool_missing": pool_missing,
        "next_url": safe_next_url(request, default_next),
    }
    if form.is_bound and "amount" in form.cleaned_data and "operation" in form.cleaned_data:
        sign = 1 if form.cleaned_data["operation"] == PointsChangeForm.ADD else -1
        context["result_balance"] = customer.points_balance + sign * form.cleaned_data["amount"]
    return render(request, "points/change_modal.html", context)


# --- 必要ポイントの補充 → ポイント数自動更新 ----------------------------------------------------


def _selected_customers(request, ids: list[int]) -> list[CustomerAccount]:
    """The selected accounts through the tenant scope: any id outside it answers 404."""
    customers = list(
        customers_visible_to(request.user).filter(pk__in=ids).select_related("organization").order_by("pk")
    )
    if len(customers) != len(set(ids)):
        raise Http404
    return customers


@capability_required(Cap.POINTS_REPLENISH)
@require_http_methods(["GET", "POST"])
def points_replenish(request):
    """ポイント数自動更新: preview what replenishing the selected accounts adds, per account and
    per pool, then (with the token minted by the preview) replenish all or nothing."""
    ids = sorted(selected_ids(request))
    default_next = reverse("customers:list")
    if request.method == "POST" and "token" in request.POST:
        form = ReplenishForm(request.POST, user=request.user)
        if form.is_valid():
            customers = _selected_customers(request, form.cleaned_data["ids"])
            try:
                result = services.points_replenish(
                    actor=request.user, customers=customers, batch_key=form.idempotency_key.split(":")[-1]
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                replenished = [line for line in result.lines if line.points]
                messages.success(
                    request,
                    _("Replenished %(accounts)s accounts with %(points)s points in total.")
                    % {"accounts": len(replenished), "points": f"{result.total:,}"},
                )
                return popup_done(request, safe_next_url(request, default_next))
        token = request.POST.get("token")
    else:
        form = ReplenishForm(user=request.user, initial={"ids": ids})
        token = form.initial["token"]
    selection_error = ""
    if not ids:
        customers = []
        if not form.errors:
            selection_error = _("Select at least one customer account.")
    else:
        customers = _selected_customers(request, ids)
    lines = services.replenish_plan(customers)
    by_id = {c.pk: c for c in customers}
    pools = []
    for org_id in sorted({line.organization_id for line in lines}):
        needed = sum(line.points for line in lines if line.organization_id == org_id)
        available = selectors.pool_balance(org_id)
        organization = next(c.organization for c in customers if c.organization_id == org_id)
        pools.append(
            {
                "organization": organization,
                "needed": needed,
                "available": available,
                "after": available - needed,
                "missing": max(0, needed - available),
            }
        )
    context = {
        "form": form,
        "selection_error": selection_error,
        "token": token,
        "ids": ids,
        "rows": [(by_id[line.customer_id], line) for line in lines],
        "pools": pools,
        "total": sum(line.points for line in lines),
        "short": any(pool["after"] < 0 for pool in pools),
        "charge_day": _next_charge_day(),
        "next_url": safe_next_url(request, default_next),
    }
    return render(request, "points/replenish_modal.html", context)


def _next_charge_day():
    return dates.label_charge_day()


# --- Pools -----------------------------------------------------------------------------------


@capability_required(Cap.POINTS_VIEW)
@require_GET
def pool(request):
    """An MSP's point pool: balance, debt banner, filterable history. The operator first sees
    every MSP's pool; a privileged MSP chooses between its own and its children's."""
    organizations = selectors.pool_organizations_for(request.user)
    chosen = request.GET.get("organization")
    own = request.user.organization
    if chosen:
        organization = selectors.pool_organization_for_user(request.user, chosen)
    elif own is not None and own.is_msp:
        organization = own
    else:
        organization = None
    debts = selectors.pools_in_debt([o.pk for o in organizations] if not _sees_all(request.user) else None)
    context = {"organizations": organizations, "organization": organization, "debts": list(debts)}
    if organization is None:
        context["overview"] = _pool_balances(list(organizations.order_by("name", "pk")))
        return render(request, "points/pool.html", context)
    filterset = TransferFilter(request.GET or None, queryset=Transfer.objects.all())
    history = selectors.statement_page(
        filterset.qs, selectors.pool_account_id(organization), page_bound(request, HISTORY_PAGE_SIZE)
    )
    table = _statement_table(request, history, show_customer=True)
    context.update(
        {
            "balance": selectors.pool_balance(organization),
            "filter": filterset,
            "table": table,
        }
    )
    return render(request, "points/pool.html", context)


def _sees_all(user) -> bool:
    own = user.organization
    return own is not None and own.is_operator


def _pool_balances(organizations):
    balances = dict(
        LedgerAccount.objects.pools().filter(organization__in=organizations).values_list("organization_id", "balance")
    )
    return [{"organization": o, "balance": balances.get(o.pk, 0)} for o in organizations]


@capability_required(Cap.POINTS_SELL)
@require_http_methods(["GET", "POST"])
def purchase_new(request):
    """An operator records points an MSP bought from the distributor (issuance → pool)."""
    organizations = selectors.pool_organizations_for(request.user).filter(is_active=True)
    initial = {}
    if request.method == "GET" and request.GET.get("organization"):
        initial["organization"] = selectors.pool_organization_for_user(request.user, request.GET["organization"])
    form = PurchaseForm(request.POST or None, user=request.user, organizations=organizations, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.points_purchase(
                actor=request.user,
                organization=data["organization"],
                amount=data["amount"],
                order_reference=data["order_reference"],
                idempotency_key=form.idempotency_key,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("%(points)s points were added to the pool of %(msp)s.")
                % {"points": f"{data['amount']:,}", "msp": data["organization"].name},
            )
            return popup_done(request, f"{reverse('points:pool')}?organization={data['organization'].pk}")
    return render(request, "points/purchase_modal.html", {"form": form})


@capability_required(Cap.POINTS_ADJUST)
@require_http_methods(["GET", "POST"])
def adjustment_new(request):
    """An operator's correction of a pool or a customer's points, with a reason."""
    organizations = selectors.pool_organizations_for(request.user)
    form = AdjustmentForm(request.POST or None, user=request.user, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        account = None
        if data["target"] == AdjustmentForm.POOL:
            account = ledger.pool_for(data["organization"])
            back = f"{reverse('points:pool')}?organization={data['organization'].pk}"
        else:
            code = data["account_code"].strip().lower()
            customer = customers_visible_to(request.user).filter(account_code=code).first()
            if customer is None:
                form.add_error("account_code", _("No customer account has this account code."))
            else:
                account = ledger.wallet_for(customer)
                back = reverse("customers:detail", args=[customer.pk])
        if account is not None:
            try:
                services.points_adjust(
                    actor=request.user,
                    account=account,
                    amount=data["amount"],
                    reason=data["reason"],
                    idempotency_key=form.idempotency_key,
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("The adjustment was recorded."))
                return popup_done(request, back)
    return render(request, "points/adjust_modal.html", {"form": form})


@capability_required(Cap.POINTS_ADJUST, scope=(selectors.get_transfer_for_user, "transfer_id"))
@require_http_methods(["GET", "POST"])
def transfer_reverse(request, transfer_id: int):
    """Reverse one transfer by posting its mirror image (operator)."""
    transfer = selectors.get_transfer_for_user(request.user, transfer_id)
    form = ReverseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.transfer_reverse(actor=request.user, transfer=transfer, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The transfer was reversed."))
            return popup_done(request, safe_next_url(request, reverse("points:pool")))
    return render(
        request,
        "points/reverse_modal.html",
        {"form": form, "transfer": transfer, "next_url": safe_next_url(request, reverse("points:pool"))},
    )


# --- Consumption rules -----------------------------------------------------------------------


@capability_required(Cap.RULES_VIEW)
@require_GET
def rules(request):
    today = dates.today()
    in_force = rule_at(today)
    table = RuleTable(ConsumptionRule.objects.order_by("-effective_from"))
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    return render(
        request,
        "points/rules.html",
        {
            "table": table,
            "in_force": in_force,
            "today": today,
            "can_edit": has_cap(request.user, Cap.RULES_EDIT),
            "examples": [(users, in_force.consumption(users)) for users in (10, 50, 100)],
        },
    )


@capability_required(Cap.RULES_EDIT)
@require_http_methods(["GET", "POST"])
def rule_new(request):
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.consumption_rule_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The consumption rule was added."))
            return popup_done(request, reverse("points:rules"))
    return render(request, "points/rule_modal.html", {"form": form})


@capability_required(Cap.RULES_EDIT)
@require_POST
def rule_delete(request, rule_id: int):
    rule = ConsumptionRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise Http404
    try:
        services.consumption_rule_delete(actor=request.user, rule=rule)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The consumption rule was withdrawn."))
    return HttpResponseRedirect(reverse("points:rules"))


# --- A customer's points ---------------------------------------------------------------------


def customer_points_context(request, customer: CustomerAccount) -> dict:
    """What the points section of the customer detail page (registered in apps.py) shows:
    balance, estimate, the balance chart and the statement (paginated under the `points-` prefix)."""
    wallet_id = selectors.wallet_account_id(customer)
    transfers = Transfer.objects.all()
    history = selectors.statement_page(transfers, wallet_id, page_bound(request, HISTORY_PAGE_SIZE, "points-"))
    return {
        "chart": selectors.balance_chart(selectors.statement_page(transfers, wallet_id, selectors.CHART_MAX_POINTS)),
        "points_table": _statement_table(request, history, show_customer=False, prefix="points-"),
        "charge_day": _next_charge_day(),
        "can_change": has_cap(request.user, Cap.POINTS_CHANGE) and customer.points_changeable,
    }


# --- ポイント購入申請 ----------------------------------------------------------------------------


@capability_required(Cap.POINTS_PURCHASE_REQUEST)
@require_http_methods(["GET", "POST"])
def purchase_request_new(request):
    """An MSP asks the operator for points (`?amount=` prefills what the pool lacks, as the
    replenish and change popups link it)."""
    organizations = selectors.pool_organizations_for(request.user).filter(is_active=True).order_by("name", "pk")
    initial = {}
    if request.method == "GET":
        amount = request.GET.get("amount", "")
        if amount.isdigit() and int(amount) > 0:
            initial["amount"] = int(amount)
        if request.GET.get("organization"):
            initial["organization"] = selectors.pool_organization_for_user(request.user, request.GET["organization"])
    form = PurchaseRequestForm(request.POST or None, user=request.user, organizations=organizations, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            purchase_requests.purchase_request_create(
                actor=request.user,
                organization=data["organization"],
                amount=data["amount"],
                order_reference=data["order_reference"],
                note=data["note"],
                idempotency_key=form.idempotency_key,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Your request for %(points)s points was sent to the operator.") % {"points": f"{data['amount']:,}"},
            )
            return popup_done(request, reverse("points:purchase_requests"))
    return render(request, "points/purchase_request_modal.html", {"form": form})


@capability_required(Cap.POINTS_VIEW)
@require_GET
def purchase_request_list(request):
    """The requests' queue: the operator sees every MSP's open requests first, an MSP its own."""
    visible = selectors.purchase_requests_visible_to(request.user)
    table = PurchaseRequestTable(
        visible.order_by(Case(When(status=PurchaseRequestStatus.OPEN, then=0), default=1), "-requested_at", "-pk"),
        can_decide=has_cap(request.user, Cap.POINTS_SELL),
    )
    RequestConfig(request, paginate={"per_page": HISTORY_PAGE_SIZE, "paginator_class": LazyPaginator}).configure(table)
    context = {"table": table, "open_count": visible.filter(status=PurchaseRequestStatus.OPEN).count()}
    return render(request, "points/purchase_requests.html", context)


@capability_required(Cap.POINTS_SELL, scope=(selectors.get_purchase_request_for_user, "request_id"))
@require_http_methods(["GET", "POST"])
def purchase_request_record(request, request_id: int):
    """「購入を記録」: the operator records the purchase the request asks for and closes it."""
    purchase_request = selectors.get_purchase_request_for_user(request.user, request_id)
    error = ""
    if request.method == "POST":
        try:
            purchase_requests.purchase_request_record(actor=request.user, request=purchase_request)
        except DomainError as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                _("%(points)s points were added to the pool of %(msp)s.")
                % {"points": f"{purchase_request.amount:,}", "msp": purchase_request.organization.name},
            )
            return popup_done(request, reverse("points:purchase_requests"))
    context = {
        "purchase_request": purchase_request,
        "error": error,
        "balance": selectors.pool_balance(purchase_request.organization),
    }
    return render(request, "points/purchase_request_record_modal.html", context)


@capability_required(Cap.POINTS_SELL, scope=(selectors.get_purchase_request_for_user, "request_id"))
@require_http_methods(["GET", "POST"])
def purchase_request_decline(request, request_id: int):
    """The operator declines a request, with the reason the MSP is told."""
    purchase_request = selectors.get_purchase_request_for_user(request.user, request_id)
    form = DeclineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            purchase_requests.purchase_request_decline(
                actor=request.user, request=purchase_request, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The request was declined."))
            return popup_done(request, reverse("points:purchase_requests"))
    return render(
        request, "points/purchase_request_decline_modal.html", {"form": form, "purchase_request": purchase_request}
    )
