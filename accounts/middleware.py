"""Sign-in request handling: a signed-in session waits at the two-factor pages until verified."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect


class TwoFactorMiddleware:
    """Hold a signed-in but unverified session at the two-factor pages.

    After the password step a user with a device must enter a code (token page) before any
    other page; a user who must use two-factor (operator staff, members of an organization that
    requires it) and has no device must enrol one first. Let through: sign-out, the two-factor
    pages themselves, the language switch, public pages (health check, password reset) and
    static files. Installed after django_otp's OTPMiddleware, which provides `is_verified()`.
    """

    ALLOWED_URL_NAMES = frozenset(
        {
            "logout",
            "two_factor_verify",
            "two_factor_enrol",
            "set_language",
            "healthz",
            # The passkey ceremony of the token page (and of enrolment as a first factor).
            "otp_webauthn:credential-authentication-begin",
            "otp_webauthn:credential-authentication-complete",
            "otp_webauthn:credential-registration-begin",
            "otp_webauthn:credential-registration-complete",
            "otp_webauthn:js-i18n-catalog",
        }
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if (match is not None and match.view_name in self.ALLOWED_URL_NAMES) or getattr(view_func, "public", False):
            return None
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        from .selectors import user_has_two_factor_device, user_must_enrol_now
        from .views import HAS_DEVICE_SESSION_KEY

        has_device = request.session.get(HAS_DEVICE_SESSION_KEY)
        if has_device is None:
            has_device = user_has_two_factor_device(user)
            request.session[HAS_DEVICE_SESSION_KEY] = has_device
        if has_device:
            target = "two_factor_verify"
        elif user_must_enrol_now(user):
            target = "two_factor_enrol"
        else:
            return None
        url = f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)


class SessionActivityMiddleware:
    """Keep the signed-in browser's row (accounts.models.UserSession) up to date: created for a
    session that has none (one signed in before the rows existed), its last request noted at
    most once a minute, so that a page view costs no write. A row ended elsewhere (the user's
    other browser, an administrator) signs this browser out."""

    TOUCH_SECONDS = 60
    SEEN_SESSION_KEY = "portal_session_seen_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and request.session.session_key:
            import time

            seen = request.session.get(self.SEEN_SESSION_KEY)
            now = time.time()
            if seen is None or now - seen >= self.TOUCH_SECONDS:
                from . import services

                if not services.user_session_touch(request=request):
                    from django.contrib.auth import logout

                    logout(request)
                    return redirect("login")
                request.session[self.SEEN_SESSION_KEY] = now
        return self.get_response(request)
