"""Writes for organizations and staff. Each service is one transaction and audits itself."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_record
from msp_portal.errors import DomainError
from msp_portal.permissions import ROLES_BY_KIND, OrganizationKind

from .models import Membership, Organization, User


@transaction.atomic
def organization_create(
    *, actor: User | None, name: str, kind: str, parent: Organization | None = None, require_two_factor: bool = False
) -> Organization:
    """Create an organization. A child MSP's parent must be a privileged MSP; a support
    account's parent must be an MSP or privileged MSP; the operator and privileged MSPs have
    no parent."""
    if kind == OrganizationKind.SUPPORT and (parent is None or not parent.is_msp):
        raise DomainError(_("A support account must belong to an MSP."))
    if kind == OrganizationKind.MSP and parent is not None and parent.kind != OrganizationKind.PRIVILEGED_MSP:
        raise DomainError(_("An MSP's parent must be a privileged MSP."))
    if kind in (OrganizationKind.OPERATOR, OrganizationKind.PRIVILEGED_MSP) and parent is not None:
        raise DomainError(_("This kind of organization has no parent."))
    organization = Organization.objects.create(
        name=name, kind=kind, parent=parent, require_two_factor=require_two_factor
    )
    audit_record(
        actor=actor,
        action="organization.create",
        obj=organization,
        organization=parent or organization,
        after={"name": name, "kind": kind, "parent": parent.pk if parent else None},
    )
    return organization


@transaction.atomic
def staff_create(
    *,
    actor: User | None,
    organization: Organization,
    email: str,
    name: str,
    role: str,
    password: str | None = None,
    language: str = "ja",
) -> User:
    """Create a staff user with one membership. Without a password the user cannot sign in
    until they set one through the password-reset e-mail."""
    if role not in ROLES_BY_KIND[organization.kind]:
        raise DomainError(_("That role does not exist in this organization."))
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(_("A user with this e-mail address already exists."))
    user = User.objects.create_user(email=email, password=password, name=name, language=language)
    Membership.objects.create(user=user, organization=organization, role=role)
    audit_record(
        actor=actor,
        action="staff.create",
        obj=user,
        organization=organization,
        after={"email": email, "name": name, "role": role},
    )
    return user
