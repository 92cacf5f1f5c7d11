"""Sign-in, two-factor, the signed-in user's profile, staff and support-account management.

Views are thin: resolve the object through its access helper, validate a form, call one
service, then message + redirect (popups: `popup_done`). A `DomainError` becomes a form error
and nothing changes.
"""

from __future__ import annotations

import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.hashers import check_password
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from django_otp_webauthn.models import WebAuthnCredential
from django_tables2 import RequestConfig

from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import (
    PENDING_SUBMISSIONS_SESSION_KEY,
    Cap,
    OrganizationKind,
    capability_required,
    mark_reauthenticated,
    public,
    recently_reauthenticated,
    self_service,
)
from msp_portal.requests import page_size, safe_next_url

from . import services
from .filters import StaffFilter
from .forms import (
    LoginForm,
    OrganizationReauthenticationForm,
    OrganizationTwoFactorForm,
    PasskeyNameForm,
    PasswordCheckForm,
    PortalPasswordChangeForm,
    PortalPasswordResetForm,
    PortalSetPasswordForm,
    ProfileForm,
    StaffInviteForm,
    StaffRoleForm,
    SupportAccountForm,
    SupportStaffInviteForm,
    TokenForm,
)
from .models import Organization, User
from .selectors import (
    confirmed_second_factors,
    get_staff_for_user,
    get_support_account_for_user,
    has_second_factor_expression,
    live_sessions_of,
    passkeys_of,
    staff_visible_to,
    support_accounts_visible_to,
    user_has_two_factor_device,
    user_must_enrol_now,
    user_requires_two_factor,
    user_two_factor_deadline,
)
from .signin import HAS_DEVICE_SESSION_KEY, password_signed_in
from .tables import StaffTable, SupportAccountTable
from .user_agents import describe_user_agent

ENROL_KEY_SESSION_KEY = "portal_otp_enrol_key"
REAUTHENTICATION_FAILURES_SESSION_KEY = "portal_reauthentication_failures"


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


# --- Sign-in, sign-out, password reset -------------------------------------------------------------


@method_decorator(public, name="dispatch")
class LoginView(auth_views.LoginView):
    """E-mail + password. With a two-factor device the next step is the token page; a user who
    must use two-factor and has no device goes to the enrolment page."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        password_signed_in(self.request, response, form.get_user())
        return response

    def get_success_url(self):
        url = super().get_success_url()
        # Right after the password step request.user is the plain user (not yet checked by
        # django-otp's middleware): unverified. An already signed-in visitor may be verified.
        is_verified = getattr(self.request.user, "is_verified", None)
        if is_verified is not None and is_verified():
            return url
        if self.request.session.get(HAS_DEVICE_SESSION_KEY):
            return _with_next("two_factor_verify", url)
        if user_must_enrol_now(self.request.user):
            return _with_next("two_factor_enrol", url)
        return url


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        services.user_session_signed_out(session_key=request.session.session_key)
        return super().post(request, *args, **kwargs)


login_view = public(LoginView.as_view())
logout_view = public(LogoutView.as_view())


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PortalPasswordResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    # Shown in the e-mail: how long the link works.
    extra_email_context = {"valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = PortalSetPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        services.user_set_password(user=form.user, password=form.cleaned_data["new_password1"], reason="reset")
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


password_reset_view = public(PasswordResetView.as_view())
password_reset_done_view = public(
    auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_done.html")
)
password_reset_confirm_view = public(PasswordResetConfirmView.as_view())
password_reset_complete_view = public(
    auth_views.PasswordResetCompleteView.as_view(template_name="registration/password_reset_complete.html")
)


# --- Two-factor ------------------------------------------------------------------------------------


@self_service
@login_required
@never_cache
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The second sign-in step: a six-digit code from the user's authenticator."""
    next_url = safe_next_url(request, reverse("home"))
    if request.user.is_verified():
        return redirect(next_url)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    has_passkey = WebAuthnCredential.objects.filter(user=request.user, confirmed=True).exists()
    if device is None and not has_passkey:
        # The device was removed (an admin's reset) since this session began.
        request.session[HAS_DEVICE_SESSION_KEY] = False
        if user_must_enrol_now(request.user):
            return redirect(_with_next("two_factor_enrol", next_url))
        return redirect(next_url)
    form = TokenForm(request.POST or None) if device is not None else None
    if request.method == "POST" and form is not None and form.is_valid():
        error = _check_code(request, device, form.cleaned_data["token"])
        if error:
            form.add_error("token", error)
        else:
            otp_login(request, device)
            mark_reauthenticated(request)
            return redirect(next_url)
    return render(
        request, "accounts/two_factor_verify.html", {"form": form, "next": next_url, "has_passkey": has_passkey}
    )


def _check_code(request, device, token: str) -> str | None:
    """None when the code is the device's current one, else the message to show."""
    allowed, _details = device.verify_is_allowed()
    if not allowed:
        return _("Too many wrong codes. Wait a little and try again.")
    if match_token(request.user, token) is None:
        return _("The code is incorrect or has expired.")
    return None


def _enrolment_key(request) -> str:
    """The secret being enrolled lives in the session until the user proves it with a code, so
    nothing is stored for abandoned enrolments and a reload shows the same QR code."""
    key = request.session.get(ENROL_KEY_SESSION_KEY)
    if not key:
        key = default_key()
        request.session[ENROL_KEY_SESSION_KEY] = key
    return key


@self_service
@login_required
@never_cache
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request):
    """Enrol an authenticator app: a QR code and the secret as text, confirmed by a code."""
    next_url = safe_next_url(request, reverse("profile"))
    factors = confirmed_second_factors(request.user)
    if any(factors.values()) and not request.user.is_verified():
        # Never let an unverified session replace or add to an existing second factor.
        return redirect(_with_next("two_factor_verify", next_url))
    if factors["totp"]:
        messages.info(request, _("Two-factor authentication is already enabled."))
        return redirect("profile")
    if any(factors.values()) and not recently_reauthenticated(request):
        # Adding an authenticator app beside passkeys is a two-factor change.
        return redirect(_with_next("reauthenticate", request.get_full_path()))
    key = _enrolment_key(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        totp = TOTP(unhexlify(key))
        totp.time = time.time()
        if not totp.verify(int(form.cleaned_data["token"]), tolerance=1):
            form.add_error("token", _("The code is incorrect or has expired. Check the time on your phone."))
        else:
            try:
                device = services.two_factor_enable(user=request.user, key=key, last_t=totp.t())
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                del request.session[ENROL_KEY_SESSION_KEY]
                request.session[HAS_DEVICE_SESSION_KEY] = True
                otp_login(request, device)
                mark_reauthenticated(request)
                messages.success(request, _("Two-factor authentication is enabled."))
                return redirect(next_url)
    config_url = TOTPDevice(user=request.user, key=key).config_url
    qr_svg = segno.make(config_url, error="m").svg_inline(scale=5, title=_("QR code for your authenticator app"))
    secret = b32encode(unhexlify(key)).decode()
    context = {
        "form": form,
        "next": next_url,
        # segno builds the SVG from the URL alone; it contains no user input as markup.
        "qr_svg": mark_safe(qr_svg),  # noqa: S308
        "secret": secret,
        "secret_grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "required": user_requires_two_factor(request.user),
        "deadline": user_two_factor_deadline(request.user),
        "has_passkey": factors["passkey"],
    }
    return render(request, "accounts/two_factor_enrol.html", context)


@self_service
@login_required
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def two_factor_disable(request):
    """Remove the user's own authenticator app (confirmed by a current code, after the
    re-authentication of SENSITIVE_VIEWS). Passkeys are removed one by one on the profile."""
    if user_requires_two_factor(request.user) and not confirmed_second_factors(request.user)["passkey"]:
        messages.error(request, _("Your organization requires two-factor authentication."))
        return popup_done(request, reverse("profile"))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if match_token(request.user, form.cleaned_data["token"]) is None:
            form.add_error("token", _("The code is incorrect or has expired."))
        else:
            try:
                services.two_factor_disable(user=request.user)
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                request.session[HAS_DEVICE_SESSION_KEY] = user_has_two_factor_device(request.user)
                messages.success(request, _("Two-factor authentication is turned off."))
                return popup_done(request, reverse("profile"))
    return render(request, "accounts/two_factor_disable_modal.html", {"form": form})


# --- Profile -----------------------------------------------------------------------------------------


@self_service
@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """The signed-in user's own page: name, language, password, two-factor."""
    user = request.user
    form = ProfileForm(request.POST or None, initial={"name": user.name, "language": user.language})
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(user=user, name=form.cleaned_data["name"], language=form.cleaned_data["language"])
        messages.success(request, _("Your profile is saved."))
        response = redirect("profile")
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response
    factors = confirmed_second_factors(user)
    sessions = live_sessions_of(user)
    for row in sessions:
        row.browser = describe_user_agent(row.user_agent)
        row.is_current = row.session_key == request.session.session_key
    context = {
        "form": form,
        "has_device": factors["totp"],
        "two_factor_required": user_requires_two_factor(user),
        "can_remove_totp": factors["passkey"] or not user_requires_two_factor(user),
        "profile_two_factor_deadline": user_two_factor_deadline(user),
        "passkeys": passkeys_of(user),
        "passkey_name_max_length": services.PASSKEY_NAME_MAX_LENGTH,
        "recently_reauthenticated": recently_reauthenticated(request),
        "sessions": sessions,
        "other_sessions": [row for row in sessions if not row.is_current],
    }
    return render(request, "accounts/profile.html", context)


@self_service
@login_required
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_change(request):
    form = PortalPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        old_key = request.session.session_key
        services.user_set_password(
            user=request.user, password=form.cleaned_data["new_password1"], reason="change", keep_session_key=old_key
        )
        # Keep this session signed in (under a new key); every other session of the user ends.
        update_session_auth_hash(request, request.user)
        services.user_session_rekey(old_key=old_key, new_key=request.session.session_key)
        messages.success(request, _("Your password is changed."))
        return redirect("profile")
    return render(request, "accounts/password_change.html", {"form": form})


# --- Staff -------------------------------------------------------------------------------------------


def _staff_queryset(user):
    return (
        staff_visible_to(user)
        .select_related("membership__organization")
        .annotate(has_two_factor=has_second_factor_expression())
    )


def _staff_home(request, staff: User) -> str:
    """Where a staff action returns: the support account's page for support staff, else the
    staff list (of that organization, for the operator)."""
    organization = staff.organization
    if organization.kind == OrganizationKind.SUPPORT:
        return reverse("support_account_detail", args=[organization.pk])
    if organization.pk != request.user.organization.pk:
        return f"{reverse('staff_list')}?{urlencode({'organization': organization.pk})}"
    return reverse("staff_list")


@capability_required(Cap.STAFF_VIEW)
@require_GET
def staff_list(request):
    """Staff of the user's own organization; the operator may pick any organization."""
    user = request.user
    is_operator = user.organization.kind == OrganizationKind.OPERATOR
    queryset = _staff_queryset(user)
    if not is_operator:
        queryset = queryset.filter(membership__organization=user.organization)
    organizations = (
        Organization.objects.exclude(kind=OrganizationKind.SUPPORT).order_by("name", "id") if is_operator else None
    )
    staff_filter = StaffFilter(request.GET or None, queryset=queryset, organizations=organizations)
    table = StaffTable(
        staff_filter.filtered_or_none().order_by("email"),
        show_organization=is_operator,
        actor=request.user,
    )
    RequestConfig(request, paginate={"per_page": page_size(request)}).configure(table)
    own = user.organization
    not_enrolled = (
        _staff_queryset(user).filter(membership__organization=own, is_active=True, has_two_factor=False).count()
        if own.require_two_factor or own.is_operator
        else 0
    )
    return render(
        request,
        "accounts/staff_list.html",
        {
            "table": table,
            "filter": staff_filter,
            "page_sizes": settings.PORTAL_PAGE_SIZES,
            "not_enrolled": not_enrolled,
            "staff_two_factor_deadline": own.two_factor_deadline if not own.two_factor_enforced() else None,
        },
    )


@capability_required(Cap.STAFF_MANAGE)
@require_http_methods(["GET", "POST"])
def staff_invite(request):
    """Invite a staff member: they get an e-mail with a link to set their password."""
    user = request.user
    if user.organization.kind == OrganizationKind.OPERATOR:
        kwargs = {"organizations": Organization.objects.exclude(kind=OrganizationKind.SUPPORT).order_by("name")}
    else:
        kwargs = {"organization": user.organization}
    form = StaffInviteForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            staff = services.staff_invite(
                actor=user,
                organization=data["organization"],
                email=data["email"],
                name=data["name"],
                role=data["role"],
                language=data["language"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("%(email)s is invited. They set their password from the e-mail.") % {"email": staff.email}
            )
            return popup_done(request, _staff_home(request, staff))
    return render(request, "accounts/staff_invite_modal.html", {"form": form, "action": request.get_full_path()})


@capability_required(Cap.STAFF_MANAGE, scope=(get_staff_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def staff_role(request, pk: int):
    staff = get_staff_for_user(request.user, pk, cap=Cap.STAFF_MANAGE)
    organization = staff.membership.organization
    form = StaffRoleForm(request.POST or None, organization=organization, initial={"role": staff.membership.role})
    if request.method == "POST" and form.is_valid():
        try:
            services.staff_change_role(actor=request.user, staff=staff, role=form.cleaned_data["role"])
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The role of %(name)s is changed.") % {"name": staff.name})
            return popup_done(request, _staff_home(request, staff))
    return render(request, "accounts/staff_role_modal.html", {"form": form, "staff": staff})


def _staff_action(request, pk: int, *, service, title: str, question: str, button: str, done: str, danger: bool):
    """A confirmation popup for a one-click staff action (deactivate, reactivate, ...)."""
    staff = get_staff_for_user(request.user, pk, cap=Cap.STAFF_MANAGE)
    error = None
    if request.method == "POST":
        try:
            service(actor=request.user, staff=staff)
        except DomainError as exc:
            error = str(exc)
        else:
            messages.success(request, done % {"name": staff.name})
            return popup_done(request, _staff_home(request, staff))
    context = {
        "staff": staff,
        "title": title,
        "question": question % {"name": staff.name, "email": staff.email},
        "button": button,
        "danger": danger,
        "error": error,
        "action": request.path,
    }
    return render(request, "accounts/staff_confirm_modal.html", context)


@capability_required(Cap.STAFF_MANAGE, scope=(get_staff_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def staff_deactivate(request, pk: int):
    return _staff_action(
        request,
        pk,
        service=services.staff_deactivate,
        title=_("Deactivate staff member"),
        question=_("Deactivate %(name)s (%(email)s)? They can no longer sign in. Their history is kept."),
        button=_("Deactivate"),
        done=_("%(name)s is deactivated."),
        danger=True,
    )


@capability_required(Cap.STAFF_MANAGE, scope=(get_staff_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def staff_reactivate(request, pk: int):
    return _staff_action(
        request,
        pk,
        service=services.staff_reactivate,
        title=_("Reactivate staff member"),
        question=_("Reactivate %(name)s (%(email)s)? They can sign in again."),
        button=_("Reactivate"),
        done=_("%(name)s is active again."),
        danger=False,
    )


@capability_required(Cap.STAFF_MANAGE, scope=(get_staff_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def staff_two_factor_reset(request, pk: int):
    return _staff_action(
        request,
        pk,
        service=services.staff_two_factor_reset,
        title=_("Reset two-factor authentication"),
        question=_(
            "Remove the authenticator of %(name)s (%(email)s)? Use this when the device is lost. "
            "If two-factor sign-in is required, they enrol a new device at their next sign-in."
        ),
        button=_("Reset two-factor"),
        done=_("The two-factor device of %(name)s is removed."),
        danger=True,
    )


@capability_required(Cap.STAFF_MANAGE, scope=(get_staff_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def staff_sessions_end(request, pk: int):
    return _staff_action(
        request,
        pk,
        service=services.staff_sessions_end,
        title=_("Sign out of every browser"),
        question=_(
            "End every session of %(name)s (%(email)s)? Each browser where they are signed in must sign in "
            "again. Use this when a computer or phone is lost."
        ),
        button=_("End sessions"),
        done=_("Every session of %(name)s has ended."),
        danger=True,
    )


@capability_required(Cap.STAFF_MANAGE, scope=(get_staff_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def staff_invitation_resend(request, pk: int):
    return _staff_action(
        request,
        pk,
        service=services.staff_invitation_resend,
        title=_("Send the invitation again"),
        question=_("Send %(name)s (%(email)s) a new e-mail with a link to set their password?"),
        button=_("Send"),
        done=_("The invitation to %(name)s is sent again."),
        danger=False,
    )


# --- Support accounts ----------------------------------------------------------------------------


@capability_required(Cap.SUPPORT_ACCOUNTS_MANAGE)
@require_GET
def support_account_list(request):
    """The support accounts of the user's MSP (all of them for the operator)."""
    queryset = (
        support_accounts_visible_to(request.user)
        .select_related("parent")
        .annotate(
            staff_count=Count("memberships", filter=Q(memberships__user__is_active=True)),
        )
        .order_by("name", "id")
    )
    show_msp = request.user.organization.kind == OrganizationKind.OPERATOR
    table = SupportAccountTable(queryset, show_msp=show_msp)
    RequestConfig(request, paginate={"per_page": page_size(request)}).configure(table)
    return render(request, "accounts/support_account_list.html", {"table": table})


@capability_required(Cap.SUPPORT_ACCOUNTS_MANAGE)
@require_http_methods(["GET", "POST"])
def support_account_create(request):
    user = request.user
    is_operator = user.organization.kind == OrganizationKind.OPERATOR
    msps = (
        Organization.objects.filter(kind__in=(OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP), is_active=True)
        if is_operator
        else None
    )
    form = SupportAccountForm(request.POST or None, msps=msps)
    if request.method == "POST" and form.is_valid():
        msp = form.cleaned_data["msp"] if is_operator else user.organization
        try:
            support_account = services.support_account_create(actor=user, msp=msp, name=form.cleaned_data["name"])
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The support account %(name)s is created.") % {"name": support_account.name})
            return popup_done(request, reverse("support_account_detail", args=[support_account.pk]))
    return render(request, "accounts/support_account_create_modal.html", {"form": form})


@capability_required(Cap.SUPPORT_ACCOUNTS_MANAGE, scope=(get_support_account_for_user, "pk"))
@require_GET
def support_account_detail(request, pk: int):
    support_account = get_support_account_for_user(request.user, pk, cap=Cap.SUPPORT_ACCOUNTS_MANAGE)
    queryset = _staff_queryset(request.user).filter(membership__organization=support_account).order_by("email")
    table = StaffTable(queryset, show_organization=False, actor=request.user)
    RequestConfig(request, paginate={"per_page": page_size(request)}).configure(table)
    return render(
        request,
        "accounts/support_account_detail.html",
        {
            "support_account": support_account,
            "table": table,
        },
    )


@capability_required(Cap.SUPPORT_ACCOUNTS_MANAGE, scope=(get_support_account_for_user, "pk"))
@require_http_methods(["GET", "POST"])
def support_staff_invite(request, pk: int):
    """Add a member (role support staff) to a support account of the user's MSP."""
    support_account = get_support_account_for_user(request.user, pk, cap=Cap.SUPPORT_ACCOUNTS_MANAGE)
    form = SupportStaffInviteForm(request.POST or None, organization=support_account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            staff = services.staff_invite(
                actor=request.user,
                organization=support_account,
                email=data["email"],
                name=data["name"],
                role=data["role"],
                language=data["language"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("%(email)s is invited. They set their password from the e-mail.") % {"email": staff.email}
            )
            return popup_done(request, reverse("support_account_detail", args=[support_account.pk]))
    return render(
        request,
        "accounts/staff_invite_modal.html",
        {"form": form, "support_account": support_account, "action": request.get_full_path()},
    )


# --- Organization settings -----------------------------------------------------------------------


@capability_required(Cap.STAFF_MANAGE)
@require_http_methods(["GET", "POST"])
def organization_settings(request):
    """The user's own organization: its details, the two-factor requirement and the point
    move that asks for re-authentication. Each form posts on its own (`section`)."""
    organization = request.user.organization
    is_operator = organization.kind == OrganizationKind.OPERATOR
    section = request.POST.get("section", "two_factor") if request.method == "POST" else None
    form = OrganizationTwoFactorForm(
        request.POST if section == "two_factor" else None,
        initial={"require_two_factor": organization.require_two_factor or is_operator},
    )
    threshold_form = OrganizationReauthenticationForm(
        request.POST if section == "reauthentication" else None,
        initial={"points": organization.reauthentication_point_threshold},
    )
    if is_operator:
        form.fields["require_two_factor"].disabled = True
    bound = {"two_factor": form, "reauthentication": threshold_form}.get(section)
    if bound is not None and bound.is_valid():
        try:
            if section == "two_factor":
                services.organization_set_two_factor(
                    actor=request.user, organization=organization, required=form.cleaned_data["require_two_factor"]
                )
            else:
                services.organization_set_reauthentication_threshold(
                    actor=request.user, organization=organization, points=threshold_form.cleaned_data["points"]
                )
        except DomainError as exc:
            bound.add_error(None, str(exc))
        else:
            messages.success(request, _("The organization settings are saved."))
            return redirect("organization_settings")
    return render(
        request,
        "accounts/organization_settings.html",
        {
            "organization": organization,
            "form": form,
            "threshold_form": threshold_form,
            "is_operator": is_operator,
            "organization_two_factor_deadline": organization.two_factor_deadline
            if organization.require_two_factor and not organization.two_factor_enforced()
            else None,
        },
    )


# --- Re-authentication -----------------------------------------------------------------------------


def _pending_submission(request, token: str | None) -> dict | None:
    if not token:
        return None
    return request.session.get(PENDING_SUBMISSIONS_SESSION_KEY, {}).get(token)


@self_service
@login_required
@never_cache
@sensitive_post_parameters("token", "password")
@require_http_methods(["GET", "POST"])
def reauthenticate(request):
    """Confirm it is you: a code of the authenticator app, a passkey, or (for a user with no
    second factor) the password. Then the action that asked is shown again with the data it
    was sent, for one more click (`pending`), or the user returns to `next`."""
    token = request.GET.get("pending") or request.POST.get("pending")
    pending = _pending_submission(request, token)
    next_url = safe_next_url(request, reverse("profile"))
    if recently_reauthenticated(request) and request.method == "GET":
        return _after_reauthentication(request, token, pending, next_url)
    device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
    has_passkey = WebAuthnCredential.objects.filter(user=request.user, confirmed=True).exists()
    uses_password = device is None and not has_passkey
    form = None
    if uses_password:
        form = PasswordCheckForm(request.POST or None)
    elif device is not None:
        form = TokenForm(request.POST or None)
    if request.method == "POST" and form is not None and form.is_valid():
        if uses_password:
            error = None
            if not check_password(form.cleaned_data["password"], request.user.password):
                error = _("The password is incorrect.")
                # A session is not a way to guess the password: after as many wrong ones as the
                # sign-in allows, it ends (the sign-in's lockout then takes over).
                failures = request.session.get(REAUTHENTICATION_FAILURES_SESSION_KEY, 0) + 1
                request.session[REAUTHENTICATION_FAILURES_SESSION_KEY] = failures
                if failures >= settings.AXES_FAILURE_LIMIT:
                    services.user_session_signed_out(session_key=request.session.session_key)
                    auth_logout(request)
                    messages.error(request, _("Too many wrong passwords. Sign in again."))
                    return popup_done(request, reverse("login"))
            field = "password"
        else:
            error = _check_code(request, device, form.cleaned_data["token"])
            field = "token"
        if error:
            form.add_error(field, error)
        else:
            request.session.pop(REAUTHENTICATION_FAILURES_SESSION_KEY, None)
            mark_reauthenticated(request)
            return _after_reauthentication(request, token, pending, next_url)
    here = request.get_full_path()
    return render(
        request,
        "accounts/reauthenticate_modal.html",
        {
            "form": form,
            "uses_password": uses_password,
            "has_passkey": has_passkey,
            "pending": token if pending else "",
            "action": here,
            # Where the passkey's script returns after a successful check: this page again,
            # which then shows the waiting action; without one, `next`.
            "passkey_next": here if pending else next_url,
        },
    )


def _after_reauthentication(request, token, pending, next_url):
    if pending is None:
        return redirect(next_url) if not getattr(request, "htmx", False) else popup_done(request, next_url)
    stash = dict(request.session.get(PENDING_SUBMISSIONS_SESSION_KEY, {}))
    stash.pop(token, None)
    request.session[PENDING_SUBMISSIONS_SESSION_KEY] = stash
    return render(
        request,
        "accounts/reauthenticate_confirm_modal.html",
        {"path": pending["path"], "fields": pending["fields"]},
    )


# --- Passkeys and signed-in browsers on the profile ----------------------------------------------


def _own_passkey(request, pk: int) -> WebAuthnCredential:
    passkey = WebAuthnCredential.objects.filter(pk=pk, user=request.user, confirmed=True).first()
    if passkey is None:
        raise Http404
    return passkey


@self_service
@login_required
@require_http_methods(["POST"])
def passkey_rename(request, pk: int):
    passkey = _own_passkey(request, pk)
    form = PasskeyNameForm(request.POST)
    if form.is_valid():
        try:
            services.passkey_rename(user=request.user, passkey=passkey, name=form.cleaned_data["name"])
        except DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The passkey is renamed."))
    else:
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
    return redirect("profile")


@self_service
@login_required
@require_http_methods(["GET", "POST"])
def passkey_remove(request, pk: int):
    passkey = _own_passkey(request, pk)
    error = None
    if request.method == "POST":
        try:
            services.passkey_remove(user=request.user, passkey=passkey)
        except DomainError as exc:
            error = str(exc)
        else:
            request.session[HAS_DEVICE_SESSION_KEY] = user_has_two_factor_device(request.user)
            messages.success(request, _("The passkey %(name)s is removed.") % {"name": passkey.name})
            return popup_done(request, reverse("profile"))
    context = {
        "title": _("Remove passkey"),
        "question": _("Remove the passkey %(name)s? It can no longer be used to sign in.") % {"name": passkey.name},
        "button": _("Remove"),
        "danger": True,
        "error": error,
        "action": request.path,
    }
    return render(request, "accounts/staff_confirm_modal.html", context)


@self_service
@login_required
@require_http_methods(["POST"])
def session_end(request, pk: int):
    """End one of the user's other signed-in browsers."""
    try:
        services.user_sessions_end(user=request.user, current_session_key=request.session.session_key, session_id=pk)
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The session has ended."))
    return redirect("profile")


@self_service
@login_required
@require_http_methods(["POST"])
def sessions_end_others(request):
    """End every signed-in browser of the user but this one."""
    ended = services.user_sessions_end(user=request.user, current_session_key=request.session.session_key)
    if ended:
        messages.success(request, _("%(count)s other sessions have ended.") % {"count": ended})
    else:
        messages.info(request, _("You are not signed in anywhere else."))
    return redirect("profile")
