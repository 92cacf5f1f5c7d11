"""Passkeys beside the authenticator app: named, several per user, removable, audited; the
ceremony views need a recent check to add one; the package's scripts come from our static files."""

import datetime as dt
import json

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from accounts.services import passkey_registered
from accounts.tests.factories import passkey_for
from audit.models import AuditEvent

START = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def test_the_profile_lists_several_named_passkeys(client_for, msp_admin):
    passkey_for(msp_admin, name="仕事用ノートPC")
    passkey_for(msp_admin, name="セキュリティキー")
    html = client_for(msp_admin).get(reverse("profile")).content.decode()
    assert 'value="仕事用ノートPC"' in html and 'value="セキュリティキー"' in html


def test_a_registered_passkey_is_numbered_and_audited(msp_admin):
    first = passkey_registered(user=msp_admin, passkey=passkey_for(msp_admin, name=""))
    second = passkey_registered(user=msp_admin, passkey=passkey_for(msp_admin, name=""))
    assert (first.name, second.name) == ("パスキー 1", "パスキー 2")
    assert AuditEvent.objects.filter(action="user.passkey_add", actor=msp_admin).count() == 2


def test_a_passkey_is_renamed_with_clear_errors_for_bad_names(client_for, msp_admin):
    passkey = passkey_for(msp_admin, name="古い名前")
    client = client_for(msp_admin)
    url = reverse("passkey_rename", args=[passkey.pk])
    for junk in ("", "   ", "x" * 65):
        response = client.post(url, {"name": junk}, follow=True)
        assert "alert-danger" in response.content.decode()
    passkey.refresh_from_db()
    assert passkey.name == "古い名前"
    client.post(url, {"name": "<b>新しい</b>  名前"})
    passkey.refresh_from_db()
    assert passkey.name == "<b>新しい</b> 名前"
    assert "&lt;b&gt;新しい&lt;/b&gt; 名前" in client.get(reverse("profile")).content.decode()
    event = AuditEvent.objects.get(action="user.passkey_rename")
    assert event.before == {"passkey": "古い名前"} and event.after == {"passkey": "<b>新しい</b> 名前"}


def test_a_passkey_is_removed_and_audited(client_for, msp_admin):
    passkey = passkey_for(msp_admin)
    client = client_for(msp_admin)  # the admin also has an authenticator app
    url = reverse("passkey_remove", args=[passkey.pk])
    assert client.get(url).status_code == 200
    assert client.post(url)["Location"] == reverse("profile")
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert AuditEvent.objects.get(action="user.passkey_remove").before == {"passkey": passkey.name}


def test_the_last_second_factor_of_a_required_user_cannot_be_removed(client_for, msp_admin):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    passkey = passkey_for(msp_admin)
    client = client_for(msp_admin)
    TOTPDevice.objects.filter(user=msp_admin).delete()
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = passkey.persistent_id
    session.save()
    response = client.post(reverse("passkey_remove", args=[passkey.pk]))
    assert response.status_code == 200 and 'data-testid="form-errors"' in response.content.decode()
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert not AuditEvent.objects.filter(action="user.passkey_remove").exists()


def test_another_users_passkey_is_not_found(client_for, msp_admin, msp_sales):
    passkey = passkey_for(msp_sales)
    client = client_for(msp_admin)
    assert client.post(reverse("passkey_remove", args=[passkey.pk])).status_code == 404
    assert client.post(reverse("passkey_rename", args=[passkey.pk]), {"name": "乗っ取り"}).status_code == 404
    assert WebAuthnCredential.objects.filter(pk=passkey.pk, name="テスト用パスキー").exists()


def test_adding_a_passkey_needs_a_recent_check(client_for, msp_admin, time_machine):
    time_machine.move_to(START, tick=False)
    client = client_for(msp_admin)
    begin = reverse("otp_webauthn:credential-registration-begin")
    fresh = client.post(begin, content_type="application/json")
    assert fresh.status_code == 200 and json.loads(fresh.content)["rp"]["id"] == settings.OTP_WEBAUTHN_RP_ID
    time_machine.move_to(START + dt.timedelta(seconds=settings.PORTAL_REAUTHENTICATION_SECONDS + 1), tick=False)
    stale = client.post(begin, content_type="application/json")
    assert stale.status_code == 403 and json.loads(stale.content)["code"] == "reauthentication_needed"
    # The profile then offers the check before the button.
    html = client.get(reverse("profile")).content.decode()
    assert 'data-testid="passkey-reauthenticate"' in html and 'id="passkey-register-button"' not in html


def test_the_token_page_offers_the_passkey(client, msp_admin):
    from conftest import PASSWORD

    passkey_for(msp_admin)
    client.post(reverse("login"), {"username": msp_admin.email, "password": PASSWORD})
    html = client.get(reverse("two_factor_verify")).content.decode()
    assert 'id="passkey-verification-placeholder"' in html
    assert 'name="token"' not in html  # no authenticator app
    # The passkey ceremony is reachable from the unverified session.
    begin = client.post(reverse("otp_webauthn:credential-authentication-begin"), content_type="application/json")
    assert begin.status_code == 200
    assert json.loads(begin.content)["allowCredentials"]


@pytest.mark.parametrize("name", ["otp_webauthn_auth.js", "otp_webauthn_register.js"])
def test_the_passkey_scripts_are_our_static_files(client, db, name):
    assert finders.find(f"django_otp_webauthn/{name}")
    html = client.get(reverse("login")).content.decode()
    assert 'src="/static/django_otp_webauthn/otp_webauthn_auth.js"' in html
    assert "https://" not in "".join(line for line in html.splitlines() if "<script" in line)


@pytest.mark.parametrize(
    ("language", "expected", "english"),
    [("ja", "パスキーを追加", "Register a Passkey"), ("en", "Add a passkey", "Register a Passkey")],
)
def test_the_passkey_scripts_speak_the_users_language_with_the_portals_words(client, language, expected, english):
    """django-otp-webauthn's scripts set their own button labels and status messages from their
    JavaScript catalogue; the portal's catalogue (locale/*/djangojs.po) gives them in Japanese
    and in the portal's English words ("Add a passkey", as the page's button says)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("otp_webauthn:js-i18n-catalog"))
    assert response.status_code == 200
    # The catalogue is JSON inside the script, non-ASCII characters escaped.
    assert f"{json.dumps(english)}: {json.dumps(expected)}" in response.content.decode()
