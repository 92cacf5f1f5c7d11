"""Reads of customer accounts that start from the tenant scope. The list page, its exports and
its bulk actions all start here, so they can never disagree about who sees what (STYLE.md
"Where logic lives")."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.selectors import managed_organization_ids
from audit.models import AuditEvent
from msp_portal import dates
from msp_portal.permissions import Cap, OrganizationKind, check_cap

from . import hooks
from .lifecycle import APPROVAL_QUEUE_STATUSES, AWAITING_OPERATOR_STATUSES
from .models import ContractChange, CustomerAccount, CustomerStatusChange
from .search import SHORT_TERM_LENGTH, search_normalize, short_term_filter


def contracted_users_at(moment: dt.datetime):
    """The contracted users in force at `moment`: the latest change at or before it; failing
    that, the value the first later change replaced; failing that, the current count."""
    in_force = ContractChange.objects.filter(customer=OuterRef("pk"), effective_at__lte=moment).order_by(
        "-effective_at", "-id"
    )
    replaced_later = ContractChange.objects.filter(customer=OuterRef("pk"), effective_at__gt=moment).order_by(
        "effective_at", "id"
    )
    return Coalesce(
        Subquery(in_force.values("new_users")[:1]),
        Subquery(replaced_later.values("old_users")[:1]),
        F("contracted_users"),
        output_field=IntegerField(),
    )


def customers_visible_to(user: User) -> QuerySet[CustomerAccount]:
    """Customer accounts the user may see: all for the operator, its own and its children's for
    a privileged MSP, its own for an MSP, the assigned ones for support-account staff. Each
    with its points (`with_points`)."""
    queryset = CustomerAccount.objects.with_points()
    organization = user.organization if user.is_authenticated else None
    if organization is None or not organization.is_active:
        return queryset.none()
    if organization.kind == OrganizationKind.SUPPORT:
        return queryset.filter(support_account=organization)
    ids = managed_organization_ids(user)
    return queryset if ids is None else queryset.filter(organization_id__in=ids)


def get_customer_for_user(user: User, pk, *, cap: Cap | None = None) -> CustomerAccount:
    """The customer account `pk` if the user may see it (else 404), checked for `cap` (else 403)."""
    try:
        customer = customers_visible_to(user).select_related("organization", "support_account").get(pk=pk)
    except (CustomerAccount.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if cap is not None:
        check_cap(user, cap)
    return customer


# --- Customer list, approval queue, detail (issue 3) ------------------------------------------


def customers_for_list(user: User) -> QuerySet[CustomerAccount]:
    """The list's base query: the tenant scope with what every row shows joined in, so a page
    costs one query whatever its size. The list, exports and bulk actions start here."""
    return customers_visible_to(user).select_related("organization", "support_account")


def customer_search(queryset: QuerySet[CustomerAccount], query: str) -> QuerySet[CustomerAccount]:
    """Partial match over code, company (and kana), domain, contact and reseller, regardless of
    full-width/half-width forms and katakana/hiragana (the query is folded like `search_text`;
    on PostgreSQL the trigram index serves terms of three characters or more, the grams index
    shorter ones: customers.search)."""
    folded = search_normalize(query).strip()
    if not folded:
        return queryset
    for term in folded.split():
        if len(term) <= SHORT_TERM_LENGTH:
            queryset = short_term_filter(queryset, term)
        else:
            queryset = queryset.filter(search_text__contains=term)
    return queryset


def approval_queue_for(user: User) -> QuerySet[CustomerAccount]:
    """Applications not yet active, oldest first: all for the operator, the organization's own
    (and children's) for MSP staff. Each carries the latest status change's reason."""
    latest_reason = (
        CustomerStatusChange.objects.filter(customer=OuterRef("pk"), to_status=OuterRef("status"))
        .order_by("-created_at", "-id")
        .values("reason")[:1]
    )
    return (
        customers_visible_to(user)
        .filter(status__in=APPROVAL_QUEUE_STATUSES)
        .select_related("organization", "registered_by")
        .annotate(last_reason=Subquery(latest_reason))
        .order_by("submitted_at", "id")
    )


def approval_due_date(customer: CustomerAccount) -> dt.date:
    """The promised date (「原則3営業日」): N Japanese business days after the (re)submission."""
    submitted = timezone.localtime(customer.submitted_at, dates.TOKYO).date()
    return dates.add_business_days(submitted, settings.PORTAL_APPROVAL_BUSINESS_DAYS)


def approval_is_overdue(customer: CustomerAccount, today: dt.date | None = None) -> bool:
    if customer.status not in AWAITING_OPERATOR_STATUSES:
        return False
    return (today or dates.today()) > approval_due_date(customer)


def customer_status_history(customer: CustomerAccount) -> QuerySet[CustomerStatusChange]:
    return customer.status_changes.select_related("actor").order_by("created_at", "id")


def customer_contract_history(customer: CustomerAccount) -> QuerySet[ContractChange]:
    return customer.contract_changes.select_related("actor").order_by("-effective_at", "-id")


def customer_audit_trail(customer: CustomerAccount, limit: int = 100) -> list:
    """The customer's audit events and what the apps above add (hooks.audit_trail_entries),
    newest first."""
    entries = list(
        AuditEvent.objects.filter(customer=customer).select_related("actor").order_by("-created_at", "-id")[:limit]
    )
    for added in hooks.audit_trail_entries(customer, limit):
        entries.extend(added)
    return sorted(entries, key=lambda entry: entry.created_at, reverse=True)[:limit]
