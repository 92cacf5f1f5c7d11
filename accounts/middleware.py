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

    ALLOWED_URL_NAMES = frozenset({"logout", "two_factor_verify", "two_factor_enrol", "set_language", "healthz"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if (match is not None and match.url_name in self.ALLOWED_URL_NAMES) or getattr(view_func, "public", False):
            return None
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        from .selectors import user_has_two_factor_device, user_requires_two_factor
        from .views import HAS_DEVICE_SESSION_KEY

        has_device = request.session.get(HAS_DEVICE_SESSION_KEY)
        if has_device is None:
            has_device = user_has_two_factor_device(user)
            request.session[HAS_DEVICE_SESSION_KEY] = has_device
        if has_device:
            target = "two_factor_verify"
        elif user_requires_two_factor(user):
            target = "two_factor_enrol"
        else:
            return None
        url = f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)
