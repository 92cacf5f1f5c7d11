"""Reads that start from the tenant scope. Every list, export and bulk action starts here, so
they can never disagree about who sees what (STYLE.md "Where logic lives")."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from msp_portal.permissions import Cap, OrganizationKind, check_cap

from .models import CustomerAccount, Organization, User


def managed_organization_ids(user: User) -> list[int] | None:
    """The MSP organizations whose customers the user manages; None means all (operator)."""
    organization = user.organization
    if organization is None or not organization.is_active:
        return []
    if organization.kind == OrganizationKind.OPERATOR:
        return None
    if organization.kind == OrganizationKind.PRIVILEGED_MSP:
        children = Organization.objects.filter(parent=organization, kind=OrganizationKind.MSP)
        return [organization.pk, *children.values_list("pk", flat=True)]
    if organization.kind == OrganizationKind.MSP:
        return [organization.pk]
    return []


def customers_visible_to(user: User) -> QuerySet[CustomerAccount]:
    """Customer accounts the user may see: all for the operator, its own and its children's for
    a privileged MSP, its own for an MSP, the assigned ones for support-account staff."""
    queryset = CustomerAccount.objects.all()
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


def organizations_visible_to(user: User) -> QuerySet[Organization]:
    """Organizations the user may see: everything for the operator; for MSP staff their own,
    their child MSPs and the support accounts belonging to them."""
    organization = user.organization
    if organization is None:
        return Organization.objects.none()
    ids = managed_organization_ids(user)
    if ids is None:
        return Organization.objects.all()
    if organization.kind == OrganizationKind.SUPPORT:
        return Organization.objects.filter(pk=organization.pk)
    return Organization.objects.filter(Q(pk__in=ids) | Q(parent_id__in=ids, kind=OrganizationKind.SUPPORT))


def support_accounts_for(organization: Organization) -> QuerySet[Organization]:
    """The support accounts an MSP may assign to its customers: only its own."""
    return Organization.objects.filter(kind=OrganizationKind.SUPPORT, parent=organization, is_active=True)
