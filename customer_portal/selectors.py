"""Reads of the customer admin portal. Staff reads start from `customers_visible_to`."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import User
from customers.models import CustomerAccount, CustomerStatus
from customers.selectors import customer_search, customers_visible_to
from msp_portal.errors import DomainError

from .models import CustomerAdmin, ServiceUser


def active_user_count(customer: CustomerAccount) -> int:
    """How many active service users the customer has (counted against its contracted users;
    admins do not count). Served by the partial index on active users."""
    return ServiceUser.objects.filter(customer=customer, is_active=True).count()


def check_contract_covers_active_users(customer: CustomerAccount, contracted_users: int) -> None:
    """Refuse contracted users fewer than the active service users (added to
    customers.hooks.contract_checks; the customer row is locked by the caller, and adding
    a service user locks it too, so the count cannot change under this check)."""
    active = active_user_count(customer)
    if contracted_users < active:
        raise DomainError(
            _(
                "The customer has %(active)s active users: the contracted users cannot be fewer. "
                "Disable users in the customer's portal first."
            )
            % {"active": f"{active:,}"}
        )


def switchable_customers(user: User, *, search: str = "") -> QuerySet[CustomerAccount]:
    """Active customer accounts whose admin portal the staff member may open (顧客切り替え)."""
    queryset = customers_visible_to(user).filter(status=CustomerStatus.ACTIVE)
    queryset = customer_search(queryset, search)
    return queryset.select_related("organization").order_by("account_code")


def customer_admins(customer: CustomerAccount) -> QuerySet[CustomerAdmin]:
    return CustomerAdmin.objects.filter(customer=customer).select_related("user", "created_by")


def active_admins_by_customer(customer_ids: list[int]) -> dict[int, list[CustomerAdmin]]:
    """The active admins of many customers in one query, for bulk actions."""
    result: dict[int, list[CustomerAdmin]] = {pk: [] for pk in customer_ids}
    admins = (
        CustomerAdmin.objects.filter(customer_id__in=customer_ids, is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("customer_id", "id")
    )
    for admin in admins:
        result[admin.customer_id].append(admin)
    return result


def service_users(customer: CustomerAccount, *, search: str = "", status: str = "") -> QuerySet[ServiceUser]:
    queryset = ServiceUser.objects.filter(customer=customer)
    term = (search or "").strip()
    if term:
        queryset = queryset.filter(
            Q(user_name__icontains=term) | Q(display_name__icontains=term) | Q(email__icontains=term)
        )
    if status == "active":
        queryset = queryset.filter(is_active=True)
    elif status == "inactive":
        queryset = queryset.filter(is_active=False)
    return queryset.order_by("user_name")


def get_service_user(customer: CustomerAccount, pk) -> ServiceUser:
    """A service user of this customer, else 404 (never another customer's)."""
    try:
        return ServiceUser.objects.get(customer=customer, pk=int(pk))
    except (ServiceUser.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def get_customer_admin(customer: CustomerAccount, pk) -> CustomerAdmin:
    """An admin of this customer, else 404 (never another customer's)."""
    try:
        return CustomerAdmin.objects.select_related("user").get(customer=customer, pk=int(pk))
    except (CustomerAdmin.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
