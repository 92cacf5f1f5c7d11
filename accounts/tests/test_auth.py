"""Sign-in, lockout, sign-out, session expiry and password reset through the real views."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from audit.models import AuditEvent
from conftest import PASSWORD

LOGIN = "/accounts/login/"
WRONG = "The e-mail address or password is incorrect."
WRONG_JA = "メールアドレスまたはパスワードが正しくありません"


def _login(client, email, password, language=None):
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.post(LOGIN, {"username": email, "password": password})


def test_an_unknown_email_gets_the_same_message_as_a_wrong_password(client, msp_admin):
    wrong_password = _login(client, msp_admin.email, "not-the-password").content.decode()
    unknown = _login(client, "nobody@test.example", "not-the-password").content.decode()
    assert WRONG_JA in wrong_password
    assert WRONG_JA in unknown
    assert "_auth_user_id" not in client.session


def test_the_message_is_english_when_english_is_chosen(client, msp_admin):
    response = _login(client, msp_admin.email, "not-the-password", language="en")
    assert WRONG in response.content.decode()


def test_a_deactivated_user_cannot_sign_in_and_learns_nothing_more(client, msp_admin):
    msp_admin.is_active = False
    msp_admin.save()
    response = _login(client, msp_admin.email, PASSWORD)
    assert WRONG_JA in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("value", ["not-an-email", "a" * 250 + "@test.example", "<script>@x"])
def test_malformed_or_overlong_emails_are_refused_with_a_message(client, db, value):
    response = _login(client, value, "whatever")
    assert response.status_code == 200
    assert 'class="form-control is-invalid"' in response.content.decode()
    assert "<script>@x" not in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(("language", "text"), [("ja", "アカウントがロックされました"), ("en", "Account locked")])
def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_one(client, msp_admin, language, text):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, msp_admin.email, "wrong-password", language=language)
    response = _login(client, msp_admin.email, PASSWORD, language=language)
    assert response.status_code == 429
    assert text in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_follows_the_account_to_other_addresses_but_spares_other_users(client, msp_admin, msp_viewer):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, msp_admin.email, "wrong-password")
    other_address = {"REMOTE_ADDR": "192.0.2.20"}
    locked = client.post(LOGIN, {"username": msp_admin.email, "password": PASSWORD}, **other_address)
    assert locked.status_code == 429
    other_user = client.post(LOGIN, {"username": msp_viewer.email, "password": PASSWORD}, **other_address)
    assert other_user.status_code == 302


def test_fewer_failures_than_the_limit_do_not_lock(client, msp_admin):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, msp_admin.email, "wrong-password")
    assert _login(client, msp_admin.email, PASSWORD).status_code == 302


def test_signing_in_sets_the_users_language_when_none_was_chosen(client, msp_admin):
    msp_admin.language = "en"
    msp_admin.save()
    response = _login(client, msp_admin.email, PASSWORD)
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_a_language_chosen_on_the_login_page_wins(client, msp_admin):
    response = _login(client, msp_admin.email, PASSWORD, language="en")
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_sign_out_needs_a_post(client_for, msp_admin):
    client = client_for(msp_admin)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard"))["Location"].startswith(LOGIN)


def test_an_expired_session_is_sent_to_the_login_page(client, msp_admin, time_machine):
    _two_factor_optional(msp_admin.organization)
    time_machine.move_to(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC), tick=False)
    _login(client, msp_admin.email, PASSWORD)
    assert client.get(reverse("dashboard")).status_code == 200
    time_machine.move_to(
        dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    )
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


# --- Password reset ---------------------------------------------------------------------------


def _reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


def test_password_reset_sends_a_link_in_the_users_language(client, msp_admin):
    msp_admin.language = "en"
    msp_admin.save()
    response = client.post(reverse("password_reset"), {"email": msp_admin.email.upper()})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [msp_admin.email]
    assert mail.outbox[0].subject == "MSP Portal: reset your password"
    assert "/accounts/reset/" in mail.outbox[0].body


def test_password_reset_mail_is_japanese_for_japanese_users(client, msp_admin):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.post(reverse("password_reset"), {"email": msp_admin.email})
    assert "パスワード" in mail.outbox[0].subject


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@test.example"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_link_sets_a_new_password_once_and_is_audited(client, msp_admin):
    client.post(reverse("password_reset"), {"email": msp_admin.email})
    link = _reset_link(mail.outbox[0])
    form_page = client.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0]
    new_password = "a-brand-new-passphrase-2026"
    response = client.post(set_url, {"new_password1": new_password, "new_password2": new_password})
    assert response["Location"] == reverse("password_reset_complete")
    msp_admin.refresh_from_db()
    assert msp_admin.check_password(new_password)
    assert AuditEvent.objects.filter(action="user.password_reset", object_id=str(msp_admin.pk)).count() == 1
    again = client.get(link, follow=True)
    assert 'data-testid="invalid-link"' in again.content.decode()


def test_a_weak_new_password_is_refused_and_nothing_changes(client, msp_admin):
    client.post(reverse("password_reset"), {"email": msp_admin.email})
    set_url = client.get(_reset_link(mail.outbox[0]), follow=True).redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 200
    msp_admin.refresh_from_db()
    assert msp_admin.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="user.password_reset").exists()


def test_an_invited_user_without_a_password_can_still_ask_for_a_reset(client, msp_org):
    user = get_user_model().objects.create_user(email="invited@test.example", name="招待")
    from accounts.models import Membership

    Membership.objects.create(user=user, organization=msp_org, role="sales")
    client.post(reverse("password_reset"), {"email": user.email})
    assert len(mail.outbox) == 1


def _two_factor_optional(organization):
    """An organization whose admin turned the (default) two-factor requirement off."""
    organization.require_two_factor = False
    organization.save(update_fields=["require_two_factor"])
