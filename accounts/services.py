"""Writes for organizations and staff. Each service is one transaction and audits itself."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import partial
from importlib import import_module

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.services import audit_record, changed_fields
from msp_portal.errors import DomainError
from msp_portal.mail import render_subject
from msp_portal.middleware import client_ip
from msp_portal.permissions import ROLES_BY_KIND, OrganizationKind, Role

from .models import Membership, Organization, User, UserSession
from .selectors import confirmed_second_factors, user_requires_two_factor
from .user_agents import describe_user_agent

# What later apps open with every new organization, in its creating transaction (points: the
# MSP's pool). Registered from their AppConfig.ready, so that accounts imports none of them.
_organization_openers: list[Callable[[Organization], object]] = []


def on_organization_created(opener: Callable[[Organization], object]) -> None:
    """Register `opener(organization)`, called inside `organization_create`'s transaction."""
    if opener not in _organization_openers:
        _organization_openers.append(opener)


@transaction.atomic
def organization_create(
    *, actor: User | None, name: str, kind: str, parent: Organization | None = None, require_two_factor: bool = True
) -> Organization:
    """Create an organization. A child MSP's parent must be a privileged MSP; a support
    account's parent must be an MSP or privileged MSP; the operator and privileged MSPs have
    no parent. A new organization requires two-factor sign-in from the start, without a grace
    period (its members enrol at their first sign-in)."""
    if kind == OrganizationKind.SUPPORT and (parent is None or not parent.is_msp):
        raise DomainError(_("A support account must belong to an MSP."))
    if kind == OrganizationKind.MSP and parent is not None and parent.kind != OrganizationKind.PRIVILEGED_MSP:
        raise DomainError(_("An MSP's parent must be a privileged MSP."))
    if kind in (OrganizationKind.OPERATOR, OrganizationKind.PRIVILEGED_MSP) and parent is not None:
        raise DomainError(_("This kind of organization has no parent."))
    organization = Organization.objects.create(
        name=name, kind=kind, parent=parent, require_two_factor=require_two_factor
    )
    for opener in _organization_openers:
        opener(organization)
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


# --- Staff ---------------------------------------------------------------------------------------

ADMIN_ROLES = (Role.ADMIN, Role.OPERATOR_ADMIN)


def _send_invitation(user_id: int) -> None:
    """The set-your-password e-mail: a password-reset link, never a password, in the user's
    language."""
    user = User.objects.select_related("membership__organization").get(pk=user_id)
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "organization": user.organization,
        "set_password_url": settings.PORTAL_BASE_URL.rstrip("/") + path,
        "login_url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("login"),
        "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    with translation.override(user.language):
        subject = render_subject("accounts/email/invitation_subject.txt", context)
        body = render_to_string("accounts/email/invitation_body.txt", context)
    send_mail(subject, body, None, [user.email])


def _lock_active_admins(organization: Organization) -> list[Membership]:
    # Locking the admin memberships serialises concurrent role changes and deactivations, so
    # two admins demoting each other at once cannot leave the organization without one.
    return list(
        Membership.objects.select_for_update(of=("self",))
        .filter(organization=organization, role__in=ADMIN_ROLES, user__is_active=True)
        .order_by("pk")
    )


@transaction.atomic
def staff_invite(
    *, actor: User | None, organization: Organization, email: str, name: str, role: str, language: str = "ja"
) -> User:
    """Create a staff user without a password and, after commit, e-mail them a link to set one
    (a password-reset token link). Refuses a role the organization's kind does not have and an
    e-mail address already in use."""
    user = staff_create(
        actor=actor, organization=organization, email=email, name=name, role=role, password=None, language=language
    )
    transaction.on_commit(partial(_send_invitation, user.pk))
    return user


@transaction.atomic
def staff_invitation_resend(*, actor: User, staff: User) -> None:
    """Send the set-your-password e-mail again to an active user who has not set a password."""
    if not staff.is_active:
        raise DomainError(_("This user is deactivated."))
    if staff.has_usable_password():
        raise DomainError(_("This user has already set a password."))
    audit_record(actor=actor, action="staff.invitation_resend", obj=staff, organization=staff.organization)
    transaction.on_commit(partial(_send_invitation, staff.pk))


@transaction.atomic
def staff_change_role(*, actor: User, staff: User, role: str) -> User:
    """Give a staff user another role of their organization's kind. You cannot change your own
    role, and an organization never loses its last active administrator."""
    membership = Membership.objects.select_for_update().select_related("organization").get(user=staff)
    organization = membership.organization
    if role not in ROLES_BY_KIND[organization.kind]:
        raise DomainError(_("That role does not exist in this organization."))
    if staff.pk == actor.pk:
        raise DomainError(_("You cannot change your own role."))
    if membership.role == role:
        return staff
    admins = _lock_active_admins(organization)
    if membership.role in ADMIN_ROLES and staff.is_active and len(admins) <= 1:
        raise DomainError(_("The organization must keep at least one active administrator."))
    before = {"role": membership.role}
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        action="staff.change_role",
        obj=staff,
        organization=organization,
        before=before,
        after={"role": role},
    )
    return staff


@transaction.atomic
def staff_deactivate(*, actor: User, staff: User) -> User:
    """Deactivate a staff user: they can no longer sign in and their sessions end. Users are
    never deleted. You cannot deactivate yourself or the organization's last active admin."""
    staff = User.objects.select_for_update().get(pk=staff.pk)
    membership = Membership.objects.select_related("organization").get(user=staff)
    if staff.pk == actor.pk:
        raise DomainError(_("You cannot deactivate yourself."))
    if not staff.is_active:
        raise DomainError(_("This user is already deactivated."))
    admins = _lock_active_admins(membership.organization)
    if membership.role in ADMIN_ROLES and len(admins) <= 1:
        raise DomainError(_("The organization must keep at least one active administrator."))
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    ended = _end_sessions(staff, reason=UserSession.EndReason.DEACTIVATED)
    audit_record(
        actor=actor,
        action="staff.deactivate",
        obj=staff,
        organization=membership.organization,
        before={"is_active": True},
        after={"is_active": False, "sessions_ended": ended},
    )
    return staff


@transaction.atomic
def staff_reactivate(*, actor: User, staff: User) -> User:
    """Let a deactivated staff user sign in again."""
    staff = User.objects.select_for_update().get(pk=staff.pk)
    if staff.is_active:
        raise DomainError(_("This user is already active."))
    staff.is_active = True
    staff.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="staff.reactivate",
        obj=staff,
        organization=staff.organization,
        before={"is_active": False},
        after={"is_active": True},
    )
    return staff


@transaction.atomic
def staff_two_factor_reset(*, actor: User, staff: User) -> None:
    """Remove a staff user's two-factor devices (a lost phone). If two-factor sign-in is
    required for them, they enrol a new device at their next sign-in."""
    if staff.pk == actor.pk:
        raise DomainError(_("Use your profile page to change your own two-factor settings."))
    removed = _remove_two_factor_devices(staff)
    if not removed:
        raise DomainError(_("This user has no two-factor device."))
    audit_record(
        actor=actor,
        action="staff.two_factor_reset",
        obj=staff,
        organization=staff.organization,
        before={"two_factor": True},
        after={"two_factor": False},
    )


@transaction.atomic
def support_account_create(*, actor: User, msp: Organization, name: str) -> Organization:
    """Create a support account belonging to the MSP `msp` (only that MSP may assign it)."""
    name = name.strip()
    if Organization.objects.filter(kind=OrganizationKind.SUPPORT, parent=msp, name=name).exists():
        raise DomainError(_("This MSP already has a support account with this name."))
    return organization_create(actor=actor, name=name, kind=OrganizationKind.SUPPORT, parent=msp)


@transaction.atomic
def organization_set_two_factor(*, actor: User, organization: Organization, required: bool) -> Organization:
    """Require (or stop requiring) two-factor sign-in for every member of the organization.
    Requiring it again takes effect at once (no grace period): members without a second factor
    are sent to the enrolment page at their next request. The view asks the admin to
    re-authenticate first (SENSITIVE_VIEWS)."""
    if organization.kind == OrganizationKind.OPERATOR:
        raise DomainError(_("Operator staff always sign in with two-factor authentication."))
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.require_two_factor == required:
        return organization
    before = {"require_two_factor": organization.require_two_factor}
    if organization.two_factor_deadline is not None:
        before["two_factor_deadline"] = organization.two_factor_deadline
    organization.require_two_factor = required
    organization.two_factor_deadline = None
    organization.save(update_fields=["require_two_factor", "two_factor_deadline"])
    audit_record(
        actor=actor,
        action="organization.two_factor",
        obj=organization,
        organization=organization,
        before=before,
        after={"require_two_factor": required},
    )
    return organization


@transaction.atomic
def organization_set_reauthentication_threshold(
    *, actor: User, organization: Organization, points: int
) -> Organization:
    """Set how many points a single move may reach before its user is asked to re-authenticate."""
    if points < 1:
        raise DomainError(_("Enter a number of points of at least 1."))
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.reauthentication_point_threshold == points:
        return organization
    before = {"reauthentication_point_threshold": organization.reauthentication_point_threshold}
    organization.reauthentication_point_threshold = points
    organization.save(update_fields=["reauthentication_point_threshold"])
    audit_record(
        actor=actor,
        action="organization.reauthentication_threshold",
        obj=organization,
        organization=organization,
        before=before,
        after={"reauthentication_point_threshold": points},
    )
    return organization


# --- The signed-in user's own settings ---------------------------------------------------------


def _remove_two_factor_devices(user: User) -> int:
    removed, _by_model = TOTPDevice.objects.filter(user=user).delete()
    removed_static, _by_model = StaticDevice.objects.filter(user=user).delete()
    removed_passkeys, _by_model = WebAuthnCredential.objects.filter(user=user).delete()
    return removed + removed_static + removed_passkeys


@transaction.atomic
def two_factor_enable(*, user: User, key: str, last_t: int) -> TOTPDevice:
    """Save the user's confirmed authenticator (a TOTP key the user proved with a token at
    step `last_t`, which can therefore not be used again). One device per user."""
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise DomainError(_("Two-factor authentication is already enabled."))
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), key=key, confirmed=True, last_t=last_t)
    audit_record(actor=user, action="user.two_factor_enable", obj=user, after={"two_factor": True})
    return device


@transaction.atomic
def two_factor_disable(*, user: User) -> None:
    """Remove the user's own authenticator app (their passkeys stay); refused when their
    organization requires a second factor and no passkey would be left."""
    if user_requires_two_factor(user) and not confirmed_second_factors(user)["passkey"]:
        raise DomainError(_("Your organization requires two-factor authentication."))
    removed, _by_model = TOTPDevice.objects.filter(user=user).delete()
    removed_static, _by_model = StaticDevice.objects.filter(user=user).delete()
    if not removed + removed_static:
        raise DomainError(_("Two-factor authentication is not enabled."))
    audit_record(
        actor=user, action="user.two_factor_disable", obj=user, before={"two_factor": True}, after={"two_factor": False}
    )


@transaction.atomic
def user_profile_update(*, user: User, name: str, language: str) -> User:
    """Change the user's own display name and language (the language of their e-mails)."""
    before = changed_fields(user, ["name", "language"])
    user.name = name
    user.language = language
    after = changed_fields(user, ["name", "language"])
    if before == after:
        return user
    user.save(update_fields=["name", "language"])
    audit_record(actor=user, action="user.profile_update", obj=user, before=before, after=after)
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, reason: str, keep_session_key: str | None = None) -> User:
    """Set the user's password (`reason`: "change" from the profile, "reset" from the e-mailed
    link) and end the user's signed-in browsers but `keep_session_key` (the one changing it).
    The password itself is never recorded."""
    user.set_password(password)
    user.save(update_fields=["password"])
    ended = _end_sessions(user, reason=UserSession.EndReason.PASSWORD, keep_session_key=keep_session_key)
    audit_record(actor=user, action=f"user.password_{reason}", obj=user, after={"sessions_ended": ended})
    return user


# --- Passkeys ------------------------------------------------------------------------------------

PASSKEY_NAME_MAX_LENGTH = WebAuthnCredential._meta.get_field("name").max_length


def passkey_registered(*, user: User, passkey: WebAuthnCredential) -> WebAuthnCredential:
    """Audit a passkey that django-otp-webauthn's ceremony has just saved, and give it a name the
    user can tell apart ("Passkey 2"); the user may rename it."""
    with transaction.atomic():
        count = WebAuthnCredential.objects.filter(user=user).count()
        passkey.name = _("Passkey %(number)s") % {"number": count}
        passkey.save(update_fields=["name"])
        audit_record(actor=user, action="user.passkey_add", obj=user, after={"passkey": passkey.name})
    return passkey


@transaction.atomic
def passkey_rename(*, user: User, passkey: WebAuthnCredential, name: str) -> WebAuthnCredential:
    """Rename one of the user's own passkeys."""
    name = " ".join(name.split())
    if not name:
        raise DomainError(_("Enter a name."))
    if passkey.user_id != user.pk:
        raise DomainError(_("This passkey does not exist."))
    if passkey.name == name:
        return passkey
    before = {"passkey": passkey.name}
    passkey.name = name[:PASSKEY_NAME_MAX_LENGTH]
    passkey.save(update_fields=["name"])
    audit_record(actor=user, action="user.passkey_rename", obj=user, before=before, after={"passkey": passkey.name})
    return passkey


@transaction.atomic
def passkey_remove(*, user: User, passkey: WebAuthnCredential) -> None:
    """Remove one of the user's own passkeys. Refused for the last second factor of a user
    whose organization requires one (they would be sent to enrol again at once)."""
    if passkey.user_id != user.pk:
        raise DomainError(_("This passkey does not exist."))
    factors = confirmed_second_factors(user)
    others = WebAuthnCredential.objects.filter(user=user, confirmed=True).exclude(pk=passkey.pk).exists()
    if user_requires_two_factor(user) and not factors["totp"] and not others:
        raise DomainError(
            _("Your organization requires two-factor authentication: keep this passkey until you add another one.")
        )
    name = passkey.name
    passkey.delete()
    audit_record(actor=user, action="user.passkey_remove", obj=user, before={"passkey": name})


# --- Signed-in browsers --------------------------------------------------------------------------

BROWSER_COOKIE_NAME = "portal_browser"


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _end_sessions(user: User, *, reason: str, keep_session_key: str | None = None, only_pk: int | None = None) -> int:
    """End the user's live browser rows (all, all but one, or one) and delete their Django
    sessions, so those browsers are signed out at their next request."""
    rows = UserSession.objects.select_for_update().filter(user=user, ended_at__isnull=True)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    if only_pk is not None:
        rows = rows.filter(pk=only_pk)
    keys = list(rows.values_list("session_key", flat=True))
    if not keys:
        return 0
    rows.update(ended_at=timezone.now(), end_reason=reason)
    store = _session_store()
    for key in keys:
        store(session_key=key).delete()
    return len(keys)


def _send_new_browser_mail(session_id: int) -> None:
    row = UserSession.objects.select_related("user").get(pk=session_id)
    user = row.user
    context = {
        "user": user,
        "browser": describe_user_agent(row.user_agent),
        "ip_address": row.ip_address or "-",
        "signed_in_at": timezone.localtime(row.signed_in_at),
        "profile_url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("profile"),
    }
    with translation.override(user.language):
        subject = render_subject("accounts/email/new_browser_subject.txt", context)
        body = render_to_string("accounts/email/new_browser_body.txt", context)
    send_mail(subject, body, None, [user.email])


@transaction.atomic
def user_session_start(*, request, user: User) -> tuple[UserSession, str]:
    """Record the browser that has just signed in (call after django.contrib.auth.login, whose
    session key it records). Returns the row and the browser's id for its long-lived cookie.
    A user who has signed in before and never from this browser gets an e-mail about it."""
    browser_id = request.COOKIES.get(BROWSER_COOKIE_NAME, "")
    if not (0 < len(browser_id) <= 64 and browser_id.isalnum()):
        browser_id = secrets.token_hex(16)
    if not request.session.session_key:
        request.session.save()
    known_before = UserSession.objects.filter(user=user).exists()
    known_browser = UserSession.objects.filter(user=user, browser_id=browser_id).exists()
    row, _created = UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "browser_id": browser_id,
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "ip_address": client_ip(request),
            "signed_in_at": timezone.now(),
            "last_seen_at": timezone.now(),
            "ended_at": None,
            "end_reason": "",
        },
    )
    if known_before and not known_browser:
        audit_record(
            actor=user,
            action="user.new_browser_sign_in",
            obj=user,
            after={"browser": describe_user_agent(row.user_agent), "ip": row.ip_address},
        )
        transaction.on_commit(partial(_send_new_browser_mail, row.pk))
    return row, browser_id


def user_session_touch(*, request) -> bool:
    """Note the browser's latest request; create its row for a session signed in before rows
    were kept. False when the row was ended (the browser is to be signed out)."""
    now = timezone.now()
    updated = UserSession.objects.filter(session_key=request.session.session_key, ended_at__isnull=True).update(
        last_seen_at=now, ip_address=client_ip(request)
    )
    if updated:
        return True
    if UserSession.objects.filter(session_key=request.session.session_key, ended_at__isnull=False).exists():
        return False
    # Two first requests of one session at once (a page and its htmx calls) both get here: the
    # second insert finds the first one's row and leaves it (no IntegrityError, no 500), and
    # neither takes the other's new row for an ended one.
    UserSession.objects.bulk_create(
        [
            UserSession(
                user=request.user,
                session_key=request.session.session_key,
                browser_id=request.COOKIES.get(BROWSER_COOKIE_NAME, "")[:64],
                user_agent=request.headers.get("User-Agent", "")[:300],
                ip_address=client_ip(request),
                signed_in_at=now,
                last_seen_at=now,
            )
        ],
        ignore_conflicts=True,
    )
    return True


def user_session_rekey(*, old_key: str, new_key: str) -> None:
    """Follow a session whose key changed (Django cycles it when the password changes)."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def user_session_signed_out(*, session_key: str | None) -> None:
    """The browser signed out: its row ends (not audited, like signing in)."""
    if session_key:
        UserSession.objects.filter(session_key=session_key, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason=UserSession.EndReason.SIGNED_OUT
        )


@transaction.atomic
def user_sessions_end(*, user: User, current_session_key: str, session_id: int | None = None) -> int:
    """The user ends one of their other browsers (`session_id`) or all of them; never the one
    they use (signing out does that)."""
    if session_id is not None:
        row = UserSession.objects.filter(pk=session_id, user=user, ended_at__isnull=True).first()
        if row is None:
            raise DomainError(_("This session has already ended."))
        if row.session_key == current_session_key:
            raise DomainError(_("This is the browser you are using. Sign out to end it."))
    ended = _end_sessions(
        user, reason=UserSession.EndReason.ENDED_BY_USER, keep_session_key=current_session_key, only_pk=session_id
    )
    if ended:
        audit_record(actor=user, action="user.sessions_end", obj=user, after={"sessions_ended": ended})
    return ended


@transaction.atomic
def staff_sessions_end(*, actor: User, staff: User) -> int:
    """An administrator signs a staff member out of every browser (a lost laptop)."""
    if staff.pk == actor.pk:
        raise DomainError(_("Use your profile page to end your own sessions."))
    ended = _end_sessions(staff, reason=UserSession.EndReason.ENDED_BY_ADMIN)
    if not ended:
        raise DomainError(_("This user is not signed in anywhere."))
    audit_record(
        actor=actor,
        action="staff.sessions_end",
        obj=staff,
        organization=staff.organization,
        after={"sessions_ended": ended},
    )
    return ended
