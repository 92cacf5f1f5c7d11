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
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpResponseRedirect
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
from django_tables2 import RequestConfig

from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import Cap, OrganizationKind, capability_required, public, self_service
from msp_portal.requests import page_size, safe_next_url

from . import services
from .filters import StaffFilter
from .forms import (
    LoginForm,
    OrganizationTwoFactorForm,
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
    get_staff_for_user,
    get_support_account_for_user,
    staff_visible_to,
    support_accounts_visible_to,
    user_has_two_factor_device,
    user_requires_two_factor,
)
from .tables import StaffTable, SupportAccountTable

# The session remembers whether the signed-in user has a confirmed device, so the two-factor
# middleware need not query for it on every request. Set at sign-in, updated on (un)enrolment.
HAS_DEVICE_SESSION_KEY = "portal_has_otp_device"
ENROL_KEY_SESSION_KEY = "portal_otp_enrol_key"


def remember_two_factor_state(request, user) -> None:
    request.session[HAS_DEVICE_SESSION_KEY] = user_has_two_factor_device(user)


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
        user = form.get_user()
        remember_two_factor_state(self.request, user)
        # A new browser speaks the user's saved language; an explicit choice made with the
        # language switch (the cookie) wins.
        if settings.LANGUAGE_COOKIE_NAME not in self.request.COOKIES:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
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
        if user_requires_two_factor(self.request.user):
            return _with_next("two_factor_enrol", url)
        return url


login_view = public(LoginView.as_view())
logout_view = public(auth_views.LogoutView.as_view())


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
    if device is None:
        # The device was removed (an admin's reset) since this session began.
        request.session[HAS_DEVICE_SESSION_KEY] = False
        if user_requires_two_factor(request.user):
            return redirect(_with_next("two_factor_enrol", next_url))
        return redirect(next_url)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _details = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", _("Too many wrong codes. Wait a little and try again."))
        elif match_token(request.user, form.cleaned_data["token"]) is None:
            form.add_error("token", _("The code is incorrect or has expired."))
        else:
            otp_login(request, device)
            return redirect(next_url)
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


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
    if user_has_two_factor_device(request.user):
        # Never let an unverified session replace an existing device.
        if not request.user.is_verified():
            return redirect(_with_next("two_factor_verify", next_url))
        messages.info(request, _("Two-factor authentication is already enabled."))
        return redirect("profile")
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
    }
    return render(request, "accounts/two_factor_enrol.html", context)


@self_service
@login_required
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def two_factor_disable(request):
    """Turn off the user's own two-factor sign-in (confirmed by a current code)."""
    if user_requires_two_factor(request.user):
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
                request.session[HAS_DEVICE_SESSION_KEY] = False
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
    context = {
        "form": form,
        "has_device": user_has_two_factor_device(user),
        "two_factor_required": user_requires_two_factor(user),
    }
    return render(request, "accounts/profile.html", context)


@self_service
@login_required
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_change(request):
    form = PortalPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_set_password(user=request.user, password=form.cleaned_data["new_password1"], reason="change")
        # Keep this session signed in; every other session of the user ends.
        update_session_auth_hash(request, request.user)
        messages.success(request, _("Your password is changed."))
        return redirect("profile")
    return render(request, "accounts/password_change.html", {"form": form})


# --- Staff -------------------------------------------------------------------------------------------


def _staff_queryset(user):
    confirmed_device = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return (
        staff_visible_to(user)
        .select_related("membership__organization")
        .annotate(has_two_factor=Exists(confirmed_device))
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
    return render(
        request,
        "accounts/staff_list.html",
        {"table": table, "filter": staff_filter, "page_sizes": settings.PORTAL_PAGE_SIZES},
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
    """The user's own organization: its details and the two-factor requirement."""
    organization = request.user.organization
    is_operator = organization.kind == OrganizationKind.OPERATOR
    form = OrganizationTwoFactorForm(
        request.POST or None, initial={"require_two_factor": organization.require_two_factor or is_operator}
    )
    if is_operator:
        form.fields["require_two_factor"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_set_two_factor(
                actor=request.user, organization=organization, required=form.cleaned_data["require_two_factor"]
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The organization settings are saved."))
            return redirect("organization_settings")
    return render(
        request,
        "accounts/organization_settings.html",
        {"organization": organization, "form": form, "is_operator": is_operator},
    )
