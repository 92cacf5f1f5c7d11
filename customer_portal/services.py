"""Writes of the customer admin portal: its administrators and service users. Each service is
one transaction and audits itself; the "acting as customer" context (staff working in a
customer's portal) comes from the request. The customer's own information and the delivery
notice are the customer account's (customers.services).

The contracted-users rule (active service users ≤ contracted users) is enforced under a row lock
on the customer account, so concurrent adds and imports cannot exceed it together.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import audit_record, changed_fields
from customers.models import CustomerAccount, CustomerStatus
from msp_portal.errors import DomainError
from msp_portal.mail import render_subject

from . import csv_import
from .models import CustomerAdmin, ServiceUser, ServiceUserImport
from .selectors import active_user_count

IMPORT_TTL_SECONDS = 60 * 60


def _lock_customer(customer: CustomerAccount) -> CustomerAccount:
    return CustomerAccount.objects.select_for_update().get(pk=customer.pk)


def _require_active(customer: CustomerAccount) -> None:
    if customer.status != CustomerStatus.ACTIVE:
        raise DomainError(_("This customer account is not active; its portal is read-only."))


def _check_capacity(customer: CustomerAccount, adding: int) -> None:
    """Refuse when `adding` more active users would exceed the contracted users. The caller
    holds the customer's row lock."""
    active = active_user_count(customer)
    if active + adding > customer.contracted_users:
        raise DomainError(
            _(
                "This would make %(after)s active users, more than the %(limit)s contracted users "
                "(%(active)s active now). Disable users or ask your MSP to raise the contracted users."
            )
            % {"after": active + adding, "limit": customer.contracted_users, "active": active}
        )


def _actor_organization(actor: User, customer: CustomerAccount):
    """Staff act for their organization; a customer admin acts for the customer's MSP side of
    the trail (they have no organization of their own)."""
    organization = getattr(actor, "organization", None)
    return organization if organization is not None else customer.organization


# --- 管理者 -------------------------------------------------------------------------------------


def _set_password_link(user: User) -> str:
    path = reverse(
        "customer_portal:password_set",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _send_set_password_mail(admin_id: int) -> None:
    admin = CustomerAdmin.objects.select_related("user", "customer").get(pk=admin_id)
    user = admin.user
    with translation.override(user.language or "ja"):
        context = {
            "admin": admin,
            "user": user,
            "customer": admin.customer,
            "link": _set_password_link(user),
            "login_url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("login"),
            "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        }
        subject = render_subject("customer_portal/email/set_password_subject.txt", context)
        body = render_to_string("customer_portal/email/set_password_body.txt", context)
    EmailMessage(subject=subject, body=body, to=[user.email]).send()


def _email_taken(email: str, *, exclude_user: User | None = None) -> bool:
    users = User.objects.filter(email__iexact=email)
    if exclude_user is not None:
        users = users.exclude(pk=exclude_user.pk)
    return users.exists()


@transaction.atomic
def customer_admin_register(
    *, actor: User, customer: CustomerAccount, email: str, name: str, language: str = "ja"
) -> CustomerAdmin:
    """Register an administrator of the customer (step 4 of the account flow): a user without a
    staff membership and without a password, who receives an e-mail with a link to set one
    (never a password). Admins do not count against the contracted users."""
    customer = _lock_customer(customer)
    _require_active(customer)
    email = email.strip().lower()
    if _email_taken(email):
        raise DomainError(_("A user with this e-mail address already exists."))
    user = User.objects.create_user(email=email, password=None, name=name, language=language)
    admin = CustomerAdmin.objects.create(user=user, customer=customer, created_by=actor)
    audit_record(
        actor=actor,
        action="customer_admin.register",
        obj=admin,
        organization=_actor_organization(actor, customer),
        customer=customer,
        after={"email": email, "name": name, "language": language},
    )
    transaction.on_commit(lambda: _send_set_password_mail(admin.pk))
    return admin


@transaction.atomic
def customer_admin_update(*, actor: User, admin: CustomerAdmin, email: str, name: str, language: str) -> CustomerAdmin:
    """Change an administrator's name, sign-in e-mail address or e-mail language."""
    customer = _lock_customer(admin.customer)
    _require_active(customer)
    user = User.objects.select_for_update().get(pk=admin.user_id)
    email = email.strip().lower()
    if email != user.email and _email_taken(email, exclude_user=user):
        raise DomainError(_("A user with this e-mail address already exists."))
    fields = [
        name_
        for name_, value in (("email", email), ("name", name), ("language", language))
        if getattr(user, name_) != value
    ]
    if not fields:
        return admin
    before = changed_fields(user, fields)
    user.email, user.name, user.language = email, name, language
    user.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="customer_admin.update",
        obj=admin,
        organization=_actor_organization(actor, customer),
        customer=customer,
        before=before,
        after=changed_fields(user, fields),
    )
    admin.user = user
    return admin


@transaction.atomic
def customer_admin_set_active(*, actor: User, admin: CustomerAdmin, active: bool) -> CustomerAdmin:
    """Disable an administrator (they can no longer sign in) or enable them again. An admin
    cannot disable themselves, so a customer is never locked out by accident."""
    customer = _lock_customer(admin.customer)
    _require_active(customer)
    admin = CustomerAdmin.objects.select_for_update().select_related("user").get(pk=admin.pk)
    if not active and admin.user_id == actor.pk:
        raise DomainError(_("You cannot disable your own administrator account."))
    if admin.is_active == active:
        return admin
    admin.is_active = active
    admin.save(update_fields=["is_active"])
    admin.user.is_active = active
    admin.user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="customer_admin.enable" if active else "customer_admin.disable",
        obj=admin,
        organization=_actor_organization(actor, customer),
        customer=customer,
        before={"is_active": not active},
        after={"is_active": active},
    )
    return admin


@transaction.atomic
def customer_admin_send_password_mail(*, actor: User, admin: CustomerAdmin) -> None:
    """Send an active administrator a fresh link to set their password (the earlier links stop
    working once the password is set)."""
    _require_active(admin.customer)
    if not admin.is_active:
        raise DomainError(_("This administrator is disabled."))
    audit_record(
        actor=actor,
        action="customer_admin.password_mail",
        obj=admin,
        organization=_actor_organization(actor, admin.customer),
        customer=admin.customer,
    )
    transaction.on_commit(lambda: _send_set_password_mail(admin.pk))


# --- ユーザ -------------------------------------------------------------------------------------

_USER_FIELDS = ["email", "display_name", "department"]


@transaction.atomic
def service_user_add(
    *, actor: User, customer: CustomerAccount, user_name: str, email: str, display_name: str, department: str = ""
) -> ServiceUser:
    """Add one active service user; refused when the user name is taken in this customer or
    the customer would have more active users than contracted."""
    customer = _lock_customer(customer)
    _require_active(customer)
    user_name = user_name.strip().lower()
    if ServiceUser.objects.filter(customer=customer, user_name=user_name).exists():
        raise DomainError(_("User name “%(name)s” is already registered.") % {"name": user_name})
    _check_capacity(customer, 1)
    service_user = ServiceUser.objects.create(
        customer=customer, user_name=user_name, email=email, display_name=display_name, department=department
    )
    audit_record(
        actor=actor,
        action="service_user.add",
        obj=service_user,
        organization=_actor_organization(actor, customer),
        customer=customer,
        after={"user_name": user_name, **changed_fields(service_user, _USER_FIELDS)},
    )
    return service_user


@transaction.atomic
def service_user_update(
    *, actor: User, service_user: ServiceUser, email: str, display_name: str, department: str
) -> ServiceUser:
    """Change a service user's e-mail address, display name or department (the user name is
    the user's identity in the service and stays)."""
    customer = _lock_customer(service_user.customer)
    _require_active(customer)
    service_user = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
    values = {"email": email, "display_name": display_name, "department": department}
    fields = [name for name, value in values.items() if getattr(service_user, name) != value]
    if not fields:
        return service_user
    before = changed_fields(service_user, fields)
    for name in fields:
        setattr(service_user, name, values[name])
    service_user.updated_at = timezone.now()
    service_user.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor=actor,
        action="service_user.update",
        obj=service_user,
        organization=_actor_organization(actor, customer),
        customer=customer,
        before=before,
        after=changed_fields(service_user, fields),
    )
    return service_user


@transaction.atomic
def service_user_set_active(*, actor: User, service_user: ServiceUser, active: bool) -> ServiceUser:
    """Disable a service user (frees a contracted seat) or enable one again (needs a free seat)."""
    customer = _lock_customer(service_user.customer)
    _require_active(customer)
    service_user = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
    if service_user.is_active == active:
        return service_user
    if active:
        _check_capacity(customer, 1)
    service_user.is_active = active
    service_user.updated_at = timezone.now()
    service_user.save(update_fields=["is_active", "updated_at"])
    audit_record(
        actor=actor,
        action="service_user.enable" if active else "service_user.disable",
        obj=service_user,
        organization=_actor_organization(actor, customer),
        customer=customer,
        before={"is_active": not active},
        after={"is_active": active},
    )
    return service_user


@transaction.atomic
def service_user_import_prepare(
    *, actor: User, customer: CustomerAccount, raw: bytes, file_name: str = ""
) -> ServiceUserImport:
    """Read and validate an uploaded CSV file and keep the result for its preview and
    confirmation, under a random token. Nothing is imported here. Raises DomainError when the
    file as a whole is unusable (encoding, header, size)."""
    _require_active(customer)
    rows, ignored = csv_import.parse(raw)
    validated = csv_import.validate(customer, rows)
    # Old unconfirmed uploads of this customer are of no further use.
    ServiceUserImport.objects.filter(
        customer=customer,
        imported_at__isnull=True,
        created_at__lt=timezone.now() - timezone.timedelta(seconds=IMPORT_TTL_SECONDS),
    ).delete()
    return ServiceUserImport.objects.create(
        token=secrets.token_urlsafe(32),
        customer=customer,
        created_by=actor,
        file_name=file_name[:255],
        rows={"rows": validated, "ignored_columns": ignored},
    )


def import_summary(user_import: ServiceUserImport) -> dict:
    rows = user_import.rows["rows"]
    error_rows = sum(1 for row in rows if row["errors"])
    active = active_user_count(user_import.customer)
    return {
        "total": len(rows),
        "error_rows": error_rows,
        "valid_rows": len(rows) - error_rows,
        "active": active,
        "after": active + len(rows),
        "contracted": user_import.customer.contracted_users,
        "over_limit": active + len(rows) > user_import.customer.contracted_users,
        "ignored_columns": user_import.rows.get("ignored_columns", []),
    }


@transaction.atomic
def service_user_import_confirm(*, actor: User, user_import: ServiceUserImport) -> int:
    """Import every row of a validated upload, all or nothing: refused whole when any row has an
    error, when a user name was taken since the preview, or when the customer would have more
    active users than contracted. Returns the number of users added."""
    user_import = ServiceUserImport.objects.select_for_update().get(pk=user_import.pk)
    if user_import.imported_at is not None:
        raise DomainError(_("This file has already been imported."))
    if user_import.created_at < timezone.now() - timezone.timedelta(seconds=IMPORT_TTL_SECONDS):
        raise DomainError(_("This upload has expired. Upload the file again."))
    customer = _lock_customer(user_import.customer)
    _require_active(customer)
    rows = user_import.rows["rows"]
    if any(row["errors"] for row in rows):
        raise DomainError(_("The file has rows with errors. Correct them and upload the file again."))
    # Re-checked under the lock: users may have been added since the preview.
    revalidated = csv_import.validate(customer, [{"line": row["line"], **row} for row in rows])
    if any(row["errors"] for row in revalidated):
        raise DomainError(_("Some user names were registered since the preview. Upload the file again."))
    _check_capacity(customer, len(rows))
    now = timezone.now()
    ServiceUser.objects.bulk_create(
        [
            ServiceUser(
                customer=customer,
                user_name=row["user_name"],
                email=row["email"],
                display_name=row["display_name"],
                department=row["department"],
                created_at=now,
                updated_at=now,
            )
            for row in rows
        ],
        batch_size=1000,
    )
    user_import.imported_at = now
    user_import.save(update_fields=["imported_at"])
    audit_record(
        actor=actor,
        action="service_user.import",
        obj=customer,
        organization=_actor_organization(actor, customer),
        customer=customer,
        after={"file_name": user_import.file_name, "added": len(rows)},
    )
    return len(rows)
