"""Sign-in in both languages, lockout, and two-factor enrolment and sign-in, in Chromium."""

import re
import time
from base64 import b32decode

import pytest
from django.conf import settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, totp_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fill_login(page, email, password):
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")


def test_signing_in_in_japanese_and_in_english(page, msp_admin):
    page.goto(page.portal_url("/accounts/login/"))
    assert page.locator("h1").inner_text() == "MSP管理者ポータルにログイン"
    assert page.locator("label[for=id_username]").inner_text() == "メールアドレス"
    page.get_by_test_id("language-en").click()
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").inner_text() == "Sign in to the MSP Portal"
    assert page.locator("label[for=id_username]").inner_text() == "E-mail address"
    _fill_login(page, msp_admin.email, PASSWORD)
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").inner_text() == "Dashboard"
    page.get_by_test_id("language-ja").click()
    page.wait_for_selector("html[lang=ja]")
    assert page.locator("h1").inner_text() == "ダッシュボード"


def test_a_wrong_password_shows_one_clear_message(page, msp_admin):
    page.goto(page.portal_url("/accounts/login/"))
    _fill_login(page, msp_admin.email, "wrong-password")
    assert "メールアドレスまたはパスワードが正しくありません" in page.locator(".alert-danger").inner_text()


def test_repeated_wrong_passwords_lock_the_account(page, msp_admin):
    page.goto(page.portal_url("/accounts/login/"))
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _fill_login(page, msp_admin.email, "wrong-password")
        page.wait_for_load_state()
    assert page.get_by_test_id("locked-out").is_visible()
    assert "ロック" in page.get_by_test_id("locked-out").inner_text()


def test_an_operator_enrols_two_factor_and_signs_in_with_a_code(page, operator_user):
    page.goto(page.portal_url("/accounts/login/"))
    _fill_login(page, operator_user.email, PASSWORD)
    page.wait_for_url(re.compile(r".*/accounts/two-factor/enrol/.*"))
    assert page.get_by_test_id("totp-qr").locator("svg").count() == 1
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    totp = TOTP(b32decode(secret))
    totp.time = time.time()
    page.fill("input[name=token]", f"{totp.token():06d}")
    page.click("#two-factor-submit")
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").inner_text() == "ダッシュボード"

    page.click("#user-menu")
    page.get_by_role("button", name="ログアウト").click()
    page.wait_for_url("**/accounts/login/**")
    _fill_login(page, operator_user.email, PASSWORD)
    page.wait_for_url(re.compile(r".*/accounts/two-factor/\?.*"))
    page.fill("input[name=token]", totp_token(TOTPDevice.objects.get(user=operator_user)))
    page.click("#two-factor-submit")
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").inner_text() == "ダッシュボード"


def test_browser_login_signs_operators_in_through_the_token_page(page, browser_login, operator_user):
    browser_login(page, operator_user.email)
    page.wait_for_url("**/dashboard/")
    assert page.locator("h1").inner_text() == "ダッシュボード"
