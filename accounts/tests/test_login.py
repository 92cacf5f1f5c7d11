import pytest
from django.urls import reverse

from conftest import PASSWORD


@pytest.mark.django_db
def test_the_login_page_is_japanese_by_default(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert "ログイン" in response.content.decode()
    assert response["Content-Language"] == "ja"


def test_msp_admin_signs_in_and_sees_the_dashboard(client, msp_admin):
    # An MSP that turned the two-factor requirement off: the password alone signs in.
    msp_admin.organization.require_two_factor = False
    msp_admin.organization.save(update_fields=["require_two_factor"])
    response = client.post(reverse("login"), {"username": msp_admin.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert msp_admin.organization.name in response.content.decode()


def test_a_wrong_password_is_refused_with_a_clear_message(client, msp_admin):
    response = client.post(reverse("login"), {"username": msp_admin.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_anonymous_users_are_sent_to_the_login_page(client, db):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
