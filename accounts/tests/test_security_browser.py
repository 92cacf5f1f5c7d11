"""In Chromium: a passkey enrolled with a virtual authenticator (WebAuthn through the Chrome
DevTools Protocol) signs in without a password; a sensitive action asks again and completes with
its data."""

import re
import time
from importlib import import_module

import pytest
from django.conf import settings

from accounts.models import User
from audit.models import AuditEvent
from conftest import PASSWORD, totp_token, two_factor_device
from msp_portal.permissions import REAUTHENTICATED_AT_SESSION_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def authenticator(page, live_server, settings):
    """A platform authenticator that holds passkeys and verifies its user, in this page's
    browser; the relying party is the live server (http://localhost:<port>, a secure context)."""
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    result = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, result["authenticatorId"]


def test_a_passkey_is_enrolled_and_then_signs_in_without_a_password(page, authenticator, browser_login, msp_admin):
    from django_otp_webauthn.models import WebAuthnCredential

    cdp, authenticator_id = authenticator
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    page.goto(page.portal_url("/accounts/profile/"))
    page.click("#passkey-register-button")
    page.wait_for_selector("[data-testid=passkey-list] [data-passkey]")
    passkey = WebAuthnCredential.objects.get(user=msp_admin)
    assert passkey.confirmed and passkey.discoverable
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]) == 1
    assert AuditEvent.objects.filter(action="user.passkey_add", actor=msp_admin).count() == 1
    # Named, and renamed.
    field = page.locator(f"#passkey-name-{passkey.pk}")
    assert field.input_value() == "パスキー 1"
    field.fill("仕事用ノートPC")
    page.locator(f"[data-passkey='{passkey.pk}'] button[type=submit]").click()
    page.wait_for_selector("text=パスキーの名前を変更しました")
    passkey.refresh_from_db()
    assert passkey.name == "仕事用ノートPC"

    page.click("#user-menu")
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_url("**/accounts/login/**")
    page.click("#passkey-verification-button")
    page.wait_for_url("**/dashboard/")
    assert page.locator("[data-testid=header-organization]").inner_text() == msp_admin.organization.name
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    # The browser is listed on the profile, signed in by the passkey.
    page.goto(page.portal_url("/accounts/profile/"))
    assert page.locator("[data-testid=sessions-card] tbody tr").count() == 1

    # After the password, the passkey also serves as the second factor.
    page.click("#user-menu")
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", msp_admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/accounts/two-factor/**")
    page.click("#passkey-verification-button")
    page.wait_for_url("**/dashboard/")


def test_a_sensitive_action_asks_again_and_completes_with_its_data(page, browser_login, msp_admin):
    device = two_factor_device(msp_admin)
    browser_login(page, msp_admin.email)
    page.wait_for_url("**/dashboard/")
    # The last check was eleven minutes ago.
    session_key = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "sessionid")
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    store[REAUTHENTICATED_AT_SESSION_KEY] = time.time() - 11 * 60
    store.save()

    page.goto(page.portal_url("/accounts/staff/"))
    page.get_by_role("link", name="スタッフを招待").click()
    popup = page.locator("#portal-modal")
    popup.locator("input[name=name]").fill("新人 花子")
    popup.locator("input[name=email]").fill("hanako@test.example")
    popup.locator("select[name=role]").select_option("billing")
    popup.get_by_role("button", name="招待").click()
    # The popup now asks for a code, and nobody is invited yet.
    popup.locator("[data-testid=reauthenticate-form] input[name=token]").fill(totp_token(device))
    assert not User.objects.filter(email="hanako@test.example").exists()
    popup.locator("#reauthenticate-submit").click()
    popup.locator("#reauthenticate-continue").click()
    page.wait_for_selector("text=hanako@test.example を招待しました")
    invited = User.objects.get(email="hanako@test.example")
    assert invited.name == "新人 花子" and invited.membership.role == "billing"
    assert AuditEvent.objects.filter(action="staff.create", actor=msp_admin).count() == 1
    assert re.search(r"/accounts/staff/", page.url)
