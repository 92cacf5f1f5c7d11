"""Two-factor sign-in: forced enrolment, the token step, optional enrolment, the middleware."""

import datetime as dt
import re
import time
from base64 import b32decode
from binascii import hexlify

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import organization_set_two_factor
from audit.models import AuditEvent
from conftest import PASSWORD, totp_token, two_factor_device

LOGIN = "/accounts/login/"


def _password_step(client, user):
    return client.post(LOGIN, {"username": user.email, "password": PASSWORD})


def _secret_from(page_html: str) -> bytes:
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page_html).group(1)
    return b32decode(secret)


def _code(key: bytes) -> str:
    totp = TOTP(key)
    totp.time = time.time()
    return f"{totp.token():06d}"


def test_an_operator_without_a_device_is_sent_to_enrolment_after_the_password(client, operator_user):
    response = _password_step(client, operator_user)
    assert response["Location"].startswith(reverse("two_factor_enrol"))
    # Every other page holds them there, too.
    blocked = client.get(reverse("dashboard"))
    assert blocked["Location"].startswith(reverse("two_factor_enrol"))


def test_an_unverified_session_may_still_sign_out_switch_language_and_reach_the_health_check(client, operator_user):
    _password_step(client, operator_user)
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 302
    assert client.get(reverse("healthz")).status_code in (200, 503)
    assert client.post(reverse("logout")).status_code == 302


def test_htmx_requests_of_an_unverified_session_are_redirected_by_htmx(client, operator_user):
    _password_step(client, operator_user)
    response = client.get(reverse("staff_list"), headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith(reverse("two_factor_enrol"))


def test_enrolment_shows_a_qr_code_and_the_secret_and_confirms_with_a_code(client, operator_user):
    _password_step(client, operator_user)
    page = client.get(reverse("two_factor_enrol")).content.decode()
    assert "<svg" in page
    key = _secret_from(page)
    # A reload shows the same secret until it is confirmed.
    assert _secret_from(client.get(reverse("two_factor_enrol")).content.decode()) == key
    response = client.post(reverse("two_factor_enrol"), {"token": _code(key), "next": "/dashboard/"})
    assert response["Location"] == "/dashboard/"
    device = TOTPDevice.objects.get(user=operator_user)
    assert device.confirmed and device.key == hexlify(key).decode()
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="user.two_factor_enable", actor=operator_user).count() == 1


@pytest.mark.parametrize("token", ["000000", "12345", "abcdef", "1234567", ""])
def test_a_wrong_or_malformed_enrolment_code_is_refused_and_nothing_is_saved(client, operator_user, token):
    _password_step(client, operator_user)
    key = _secret_from(client.get(reverse("two_factor_enrol")).content.decode())
    if token == "000000" and _code(key) == token:
        token = "999999"
    response = client.post(reverse("two_factor_enrol"), {"token": token})
    assert response.status_code == 200
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assert not TOTPDevice.objects.filter(user=operator_user).exists()
    assert client.get(reverse("dashboard")).status_code == 302


def test_with_a_device_sign_in_takes_the_password_then_a_code(client, operator_user, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC))
    device = two_factor_device(operator_user)
    response = _password_step(client, operator_user)
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("two_factor_verify"))
    wrong_code = "000000" if totp_token(device) != "000000" else "111111"
    wrong = client.post(reverse("two_factor_verify"), {"token": wrong_code})
    assert "コードが正しくないか" in wrong.content.decode()
    # Right after a wrong code the device makes the user wait (1 s, then 2 s, 4 s ...).
    throttled = client.post(reverse("two_factor_verify"), {"token": totp_token(device)})
    assert "誤ったコードが多すぎます" in throttled.content.decode()
    time_machine.move_to(dt.datetime(2026, 11, 25, 0, 0, 5, tzinfo=dt.UTC))
    ok = client.post(reverse("two_factor_verify"), {"token": totp_token(device), "next": "/dashboard/"})
    assert ok["Location"] == "/dashboard/"
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_code_cannot_be_used_twice(client, operator_user):
    device = two_factor_device(operator_user)
    _password_step(client, operator_user)
    token = totp_token(device)
    client.post(reverse("two_factor_verify"), {"token": token})
    other = type(client)()
    _password_step(other, operator_user)
    response = other.post(reverse("two_factor_verify"), {"token": token})
    assert response.status_code == 200
    assert other.get(reverse("dashboard")).status_code == 302


def test_an_unverified_session_cannot_replace_the_device_by_enrolling_again(client, operator_user):
    two_factor_device(operator_user)
    _password_step(client, operator_user)
    response = client.get(reverse("two_factor_enrol"))
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert client.post(reverse("two_factor_enrol"), {"token": "123456"})["Location"].startswith(
        reverse("two_factor_verify")
    )


def test_the_next_parameter_cannot_send_users_to_another_site(client, operator_user):
    device = two_factor_device(operator_user)
    _password_step(client, operator_user)
    response = client.post(reverse("two_factor_verify"), {"token": totp_token(device), "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_msp_staff_without_the_requirement_sign_in_with_the_password_alone(client, msp_admin):
    _two_factor_optional(msp_admin.organization)
    response = _password_step(client, msp_admin)
    assert response["Location"] == reverse("home")
    assert client.get(reverse("dashboard")).status_code == 200


def test_when_the_organization_requires_it_members_are_sent_to_enrolment(client_for, msp_admin, msp_viewer):
    _two_factor_optional(msp_admin.organization)
    viewer_client = client_for(msp_viewer)
    assert viewer_client.get(reverse("dashboard")).status_code == 200
    organization_set_two_factor(actor=msp_admin, organization=msp_admin.organization, required=True)
    response = viewer_client.get(reverse("dashboard"))
    assert response["Location"].startswith(reverse("two_factor_enrol"))


def test_an_optional_user_enrols_from_the_profile_and_turns_it_off_with_a_code(client_for, msp_sales):
    _two_factor_optional(msp_sales.organization)
    client = client_for(msp_sales)
    assert "two_factor_enrol" not in client.get(reverse("profile")).content.decode()
    key = _secret_from(client.get(reverse("two_factor_enrol")).content.decode())
    client.post(reverse("two_factor_enrol"), {"token": _code(key)})
    assert TOTPDevice.objects.filter(user=msp_sales, confirmed=True).exists()
    assert client.get(reverse("dashboard")).status_code == 200
    refused = client.post(reverse("two_factor_disable"), {"token": "12"})
    assert refused.status_code == 200
    assert TOTPDevice.objects.filter(user=msp_sales).exists()
    device = TOTPDevice.objects.get(user=msp_sales)
    response = client.post(reverse("two_factor_disable"), {"token": totp_token(device)})
    assert response["Location"] == reverse("profile")
    assert not TOTPDevice.objects.filter(user=msp_sales).exists()
    assert AuditEvent.objects.filter(action="user.two_factor_disable", actor=msp_sales).count() == 1


def test_a_user_who_must_use_two_factor_cannot_turn_it_off(client_for, operator_user):
    client = client_for(operator_user)
    device = TOTPDevice.objects.get(user=operator_user)
    client.post(reverse("two_factor_disable"), {"token": totp_token(device)})
    assert TOTPDevice.objects.filter(user=operator_user).exists()


def test_client_for_gives_operators_a_fully_usable_client(client_for, operator_user, operator_viewer):
    assert client_for(operator_user).get(reverse("staff_list")).status_code == 200
    assert client_for(operator_viewer).get(reverse("dashboard")).status_code == 200


def test_two_factor_pages_reject_other_methods(client_for, msp_sales):
    client = client_for(msp_sales)
    for name in ("two_factor_verify", "two_factor_enrol", "two_factor_disable", "profile"):
        assert client.put(reverse(name)).status_code == 405


def test_a_session_whose_device_was_reset_by_an_admin_is_not_stuck(client_for, msp_admin, msp_sales):
    _two_factor_optional(msp_sales.organization)
    device = two_factor_device(msp_sales)
    client = client_for(msp_sales)
    TOTPDevice.objects.filter(pk=device.pk).delete()
    response = client.get(reverse("dashboard"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("dashboard")


def _two_factor_optional(organization):
    """An organization whose admin turned the (default) two-factor requirement off."""
    organization.require_two_factor = False
    organization.save(update_fields=["require_two_factor"])
