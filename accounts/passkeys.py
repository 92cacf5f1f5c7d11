"""Passkeys (WebAuthn) through django-otp-webauthn: its ceremony views, made to fit the portal.

Registering a passkey is the user's own two-factor change, so it needs a recent check
(SENSITIVE_VIEWS' window) and is audited; signing in with one (no password) records the browser
like the password sign-in does; using one as the second factor or to re-authenticate refreshes
the re-authentication window. The browser side is the package's own script, served from our
static files.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from msp_portal.permissions import mark_reauthenticated, public, recently_reauthenticated, self_service

from . import services
from .signin import HAS_DEVICE_SESSION_KEY, set_browser_cookies


class ReauthenticationNeeded(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_detail = _("Confirm it is you again (a code or a passkey) before adding a passkey.")
    default_code = "reauthentication_needed"


class RegistrationChecks:
    def check_can_register(self):
        # A user adding a first factor has just signed in; one adding another one must have
        # proved it is them within the re-authentication window.
        if not recently_reauthenticated(self.request):
            raise ReauthenticationNeeded()


class PortalBeginRegistrationView(RegistrationChecks, BeginCredentialRegistrationView):
    pass


class PortalCompleteRegistrationView(RegistrationChecks, CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            passkey = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"], user=self.request.user)
            services.passkey_registered(user=self.request.user, passkey=passkey)
            self.request.session[HAS_DEVICE_SESSION_KEY] = True
        return response


class PortalBeginAuthenticationView(BeginCredentialAuthenticationView):
    pass


class PortalCompleteAuthenticationView(CompleteCredentialAuthenticationView):
    """The second factor (after the password), a re-authentication, or a sign-in without a
    password: in each case the user has just proved who they are."""

    def complete_auth(self, device):
        self.passwordless = not self.request.user.is_authenticated
        super().complete_auth(device)
        mark_reauthenticated(self.request)
        self.request.session[HAS_DEVICE_SESSION_KEY] = True
        self.browser_id = None
        if self.passwordless:
            _row, self.browser_id = services.user_session_start(request=self.request, user=device.user)

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200 and getattr(self, "browser_id", None):
            set_browser_cookies(self.request, response, self.request.user, self.browser_id)
        return response


# Named as the package's template tags and scripts expect them (namespace "otp_webauthn").
ceremony_urlpatterns = [
    path(
        "registration/begin/",
        self_service(login_required(PortalBeginRegistrationView.as_view())),
        name="credential-registration-begin",
    ),
    path(
        "registration/complete/",
        self_service(login_required(PortalCompleteRegistrationView.as_view())),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        public(PortalBeginAuthenticationView.as_view()),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        public(PortalCompleteAuthenticationView.as_view()),
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        public(JavaScriptCatalog.as_view(packages=["django_otp_webauthn"])),
        name="js-i18n-catalog",
    ),
]
