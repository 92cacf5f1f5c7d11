"""What every way of signing in does once the user is known (password, passkey without a
password): remember the second-factor state, start the re-authentication window, record the
browser (accounts.models.UserSession) and set the browser's cookies."""

from __future__ import annotations

from django.conf import settings

from msp_portal.permissions import mark_reauthenticated

from . import services
from .selectors import user_has_two_factor_device

# The session remembers whether the signed-in user has a confirmed second factor, so the
# two-factor middleware need not query for it on every request. Set at sign-in, updated on
# (un)enrolment.
HAS_DEVICE_SESSION_KEY = "portal_has_otp_device"
BROWSER_COOKIE_AGE = 2 * 365 * 24 * 60 * 60


def remember_two_factor_state(request, user) -> None:
    request.session[HAS_DEVICE_SESSION_KEY] = user_has_two_factor_device(user)


def password_signed_in(request, response, user) -> None:
    """After django.contrib.auth.login with the password."""
    remember_two_factor_state(request, user)
    mark_reauthenticated(request)
    _row, browser_id = services.user_session_start(request=request, user=user)
    set_browser_cookies(request, response, user, browser_id)


def set_browser_cookies(request, response, user, browser_id: str) -> None:
    """The browser's id (which tells a new browser from a known one), and the user's saved
    language for a new browser: an explicit choice made with the language switch (the cookie)
    wins."""
    response.set_cookie(
        services.BROWSER_COOKIE_NAME,
        browser_id,
        max_age=BROWSER_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
