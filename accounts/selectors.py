"""Reads of identity that start from the tenant scope: which organizations a user manages, the
staff and support accounts they may see, their second factor (STYLE.md "Where logic lives")."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from msp_portal.permissions import Cap, OrganizationKind, Role, check_cap

from .models import Membership, Organization, User, UserSession


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
    requires it too, also while its grace period runs (they cannot turn it off). Everyone else
    (customer admins) may enrol one of their own choice."""
    organization = user.organization
    if organization is None:
        return False
    return organization.kind == OrganizationKind.OPERATOR or organization.require_two_factor


def user_must_enrol_now(user: User) -> bool:
    """Whether a user without a second factor is sent to enrolment before any other page: once
    their organization requires it and its grace period, if any, is over."""
    organization = user.organization
    return organization is not None and organization.two_factor_enforced()


def user_two_factor_deadline(user: User) -> dt.datetime | None:
    """The end of the grace period in which the user's organization requires a second factor
    but still lets members without one in; None when there is none (or it is over)."""
    organization = user.organization
    if organization is None or organization.two_factor_enforced() or not organization.require_two_factor:
        return None
    return organization.two_factor_deadline


def confirmed_second_factors(user) -> dict[str, bool]:
    """Which kinds of second factor the user has: an authenticator app, passkeys."""
    return {
        "totp": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        "passkey": WebAuthnCredential.objects.filter(user=user, confirmed=True).exists(),
    }


def user_has_two_factor_device(user: User) -> bool:
    """An authenticator app or a passkey."""
    return any(confirmed_second_factors(user).values())


def has_second_factor_expression():
    """An annotation for user querysets: True when the user has an authenticator app or a
    passkey (the staff list's "not enrolled" badge)."""
    return Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)) | Exists(
        WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True)
    )


def passkeys_of(user: User) -> QuerySet[WebAuthnCredential]:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at", "pk")


def live_sessions_of(user: User) -> list[UserSession]:
    """The user's browsers that are still signed in: rows not ended whose Django session
    exists and has not expired (the database session backend's table)."""
    from django.contrib.sessions.models import Session

    rows = list(UserSession.objects.filter(user=user, ended_at__isnull=True).order_by("-last_seen_at", "-pk"))
    live = set(
        Session.objects.filter(
            session_key__in=[row.session_key for row in rows], expire_date__gt=timezone.now()
        ).values_list("session_key", flat=True)
    )
    return [row for row in rows if row.session_key in live]


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
