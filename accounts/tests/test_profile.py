"""The signed-in user's profile and password change."""

from django.conf import settings
from django.urls import reverse

from audit.models import AuditEvent
from conftest import PASSWORD


def test_a_user_changes_their_name_and_language(client_for, support_user):
    client = client_for(support_user)
    assert client.get(reverse("profile")).status_code == 200
    response = client.post(reverse("profile"), {"name": "  山田   太郎 ", "language": "en"})
    assert response["Location"] == reverse("profile")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    support_user.refresh_from_db()
    assert support_user.name == "山田 太郎" and support_user.language == "en"
    event = AuditEvent.objects.get(action="user.profile_update")
    assert event.after == {"name": "山田 太郎", "language": "en"}


def test_bad_profile_input_is_refused_and_nothing_changes(client_for, msp_viewer):
    client = client_for(msp_viewer)
    name = msp_viewer.name
    for data in (
        {"name": "名" * 101, "language": "ja"},
        {"name": "", "language": "ja"},
        {"name": "x", "language": "fr"},
    ):
        response = client.post(reverse("profile"), data)
        assert response.status_code == 200
        assert "invalid-feedback" in response.content.decode()
    msp_viewer.refresh_from_db()
    assert msp_viewer.name == name and msp_viewer.language == "ja"
    assert not AuditEvent.objects.exists()


def test_html_in_the_own_name_is_shown_escaped(client_for, msp_viewer):
    client = client_for(msp_viewer)
    client.post(reverse("profile"), {"name": "<img src=x onerror=alert(1)>", "language": "ja"})
    page = client.get(reverse("profile")).content.decode()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_user_changes_their_password_and_stays_signed_in(client_for, msp_viewer):
    client = client_for(msp_viewer)
    new = "another-long-passphrase-2026"
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response["Location"] == reverse("profile")
    msp_viewer.refresh_from_db()
    assert msp_viewer.check_password(new)
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="user.password_change").count() == 1


def test_a_wrong_current_password_changes_nothing(client_for, msp_viewer):
    client = client_for(msp_viewer)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "wrong",
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert "元のパスワードが間違っています" in response.content.decode()
    msp_viewer.refresh_from_db()
    assert msp_viewer.check_password(PASSWORD)


def test_the_profile_needs_a_signed_in_user_and_rejects_put(client, client_for, msp_viewer):
    assert client.get(reverse("profile"))["Location"].startswith("/accounts/login/")
    assert client_for(msp_viewer).put(reverse("profile")).status_code == 405
