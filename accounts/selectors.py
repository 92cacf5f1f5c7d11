"""Reads of identity that start from the tenant scope: which organizations a user manages, the
staff and support accounts they may see, their second factor (STYLE.md "Where logic lives")."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django_otp.plugins.otp_totp.models import TOTPDevice

from msp_portal.permissions import Cap, OrganizationKind, Role, check_cap

from .models import Membership, Organization, User


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


def user_requires_two_factor(user: User) -> bool:
    """Operator staff always sign in with a second factor; members of an organization that
    requires it too. Everyone else may enrol a device of their own choice."""
    organization = user.organization
    if organization is None:
        return False
    return organization.kind == OrganizationKind.OPERATOR or organization.require_two_factor


def user_has_two_factor_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def staff_visible_to(user: User) -> QuerySet[User]:
    """Staff users the user may see on the staff pages: every staff user for the operator; for
    MSP staff the members of their own organization and of its support accounts."""
    queryset = User.objects.filter(membership__isnull=False)
    organization = user.organization
    if organization is None or not organization.is_active:
        return queryset.none()
    if organization.kind == OrganizationKind.OPERATOR:
        return queryset
    if not organization.is_msp:
        return queryset.none()
    return queryset.filter(
        Q(membership__organization=organization)
        | Q(membership__organization__parent=organization, membership__organization__kind=OrganizationKind.SUPPORT)
    )


def get_staff_for_user(user: User, pk, *, cap: Cap | None = None) -> User:
    """The staff user `pk` if the user may see them (else 404), checked for `cap` (else 403)."""
    try:
        staff = staff_visible_to(user).select_related("membership__organization").get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if cap is not None:
        check_cap(user, cap)
    return staff


def support_accounts_visible_to(user: User) -> QuerySet[Organization]:
    """Support accounts the user may manage: all for the operator, its own for an MSP."""
    queryset = Organization.objects.filter(kind=OrganizationKind.SUPPORT)
    organization = user.organization
    if organization is None or not organization.is_active:
        return queryset.none()
    if organization.kind == OrganizationKind.OPERATOR:
        return queryset
    if organization.is_msp:
        return queryset.filter(parent=organization)
    return queryset.none()


def get_support_account_for_user(user: User, pk, *, cap: Cap | None = None) -> Organization:
    """The support account `pk` if the user may see it (else 404), checked for `cap` (else 403)."""
    try:
        support_account = support_accounts_visible_to(user).select_related("parent").get(pk=pk)
    except (Organization.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if cap is not None:
        check_cap(user, cap)
    return support_account


def active_admin_count(organization: Organization) -> int:
    """How many active administrators the organization has (it must never drop to none)."""
    return Membership.objects.filter(
        organization=organization, role__in=(Role.ADMIN, Role.OPERATOR_ADMIN), user__is_active=True
    ).count()
