"""Signed-in browsers (accounts.models.UserSession): recorded at sign-in, listed and ended from the
profile, ended by an administrator, by deactivation and by a password reset; a new browser is
e-mailed about. Every end is audited."""

import datetime as dt
import re

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import UserSession
from accounts.services import BROWSER_COOKIE_NAME
from audit.models import AuditEvent
from conftest import PASSWORD, totp_token, two_factor_device

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def _sign_in(user, *, user_agent=CHROME, ip="203.0.113.7", browser_id=None, client=None):
    """Sign in through the form (password, then the code of the user's device)."""
    client = client or Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    if browser_id:
        client.cookies[BROWSER_COOKIE_NAME] = browser_id
    device = two_factor_device(user)
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    response = client.post(reverse("two_factor_verify"), {"token": totp_token(device)})
    assert response.status_code == 302
    return client


def test_signing_in_records_the_browser_and_the_profile_lists_it(msp_admin):
    client = _sign_in(msp_admin)
    row = UserSession.objects.get(user=msp_admin)
    assert row.session_key == client.session.session_key
    assert row.ip_address == "203.0.113.7" and row.user_agent == CHROME
    html = client.get(reverse("profile")).content.decode()
    assert "Chrome 126（Windows）" in html and "203.0.113.7" in html
    assert "このブラウザ" in html


def test_a_first_sign_in_sends_no_mail_but_a_new_browser_does(msp_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _sign_in(msp_admin)
    assert not mail.outbox
    browser_id = first.cookies[BROWSER_COOKIE_NAME].value
    # The same browser again: nothing.
    with django_capture_on_commit_callbacks(execute=True):
        _sign_in(msp_admin, browser_id=browser_id)
    assert not mail.outbox
    # Another browser.
    with django_capture_on_commit_callbacks(execute=True):
        _sign_in(msp_admin, user_agent=SAFARI, ip="198.51.100.9")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [msp_admin.email]
    assert "新しいブラウザ" in message.subject
    assert "Safari 17（iOS）" in message.body and "198.51.100.9" in message.body
    event = AuditEvent.objects.get(action="user.new_browser_sign_in")
    assert event.actor == msp_admin and event.after["ip"] == "198.51.100.9"


def test_the_new_browser_mail_is_in_the_users_language(msp_admin, django_capture_on_commit_callbacks):
    msp_admin.language = "en"
    msp_admin.save(update_fields=["language"])
    _sign_in(msp_admin)
    with django_capture_on_commit_callbacks(execute=True):
        _sign_in(msp_admin, user_agent=SAFARI)
    assert mail.outbox[0].subject == "MSP Portal: a sign-in from a new browser"


def test_a_user_ends_one_other_session_and_then_all_others(msp_admin):
    laptop = _sign_in(msp_admin)
    phone = _sign_in(msp_admin, user_agent=SAFARI)
    tablet = _sign_in(msp_admin, user_agent=SAFARI)
    phone_row = UserSession.objects.get(session_key=phone.session.session_key)
    response = laptop.post(reverse("session_end", args=[phone_row.pk]))
    assert response["Location"] == reverse("profile")
    assert phone.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    phone_row.refresh_from_db()
    assert phone_row.end_reason == UserSession.EndReason.ENDED_BY_USER and phone_row.ended_at
    assert tablet.get(reverse("dashboard")).status_code == 200
    laptop.post(reverse("sessions_end_others"))
    assert tablet.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    assert laptop.get(reverse("dashboard")).status_code == 200
    events = AuditEvent.objects.filter(action="user.sessions_end", actor=msp_admin).order_by("pk")
    assert [event.after for event in events] == [{"sessions_ended": 1}, {"sessions_ended": 1}]
    # Only this browser is listed now.
    html = laptop.get(reverse("profile")).content.decode()
    assert len(re.findall(r"data-session=", html)) == 1


def test_the_current_session_and_another_users_session_cannot_be_ended_there(msp_admin, msp_sales):
    laptop = _sign_in(msp_admin)
    own = UserSession.objects.get(session_key=laptop.session.session_key)
    laptop.post(reverse("session_end", args=[own.pk]))
    assert laptop.get(reverse("dashboard")).status_code == 200
    other = _sign_in(msp_sales)
    other_row = UserSession.objects.get(session_key=other.session.session_key)
    laptop.post(reverse("session_end", args=[other_row.pk]))
    assert other.get(reverse("dashboard")).status_code == 200
    assert not AuditEvent.objects.filter(action="user.sessions_end").exists()


def test_an_admin_ends_every_session_of_a_staff_member(client_for, msp_admin, msp_sales):
    first, second = _sign_in(msp_sales), _sign_in(msp_sales, user_agent=SAFARI)
    admin = client_for(msp_admin)
    url = reverse("staff_sessions_end", args=[msp_sales.pk])
    assert admin.get(url).status_code == 200
    assert admin.post(url)["Location"] == reverse("staff_list")
    for client in (first, second):
        assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    event = AuditEvent.objects.get(action="staff.sessions_end")
    assert event.actor == msp_admin and event.after == {"sessions_ended": 2}
    # Nothing left to end: a clear message, nothing recorded.
    again = admin.post(url)
    assert "どこにもログインしていません" in again.content.decode()
    assert AuditEvent.objects.filter(action="staff.sessions_end").count() == 1


def test_other_roles_cannot_end_a_staff_members_sessions(client_for, msp_sales, msp_viewer, msp_admin):
    target = _sign_in(msp_admin)
    for user in (msp_sales, msp_viewer):
        assert client_for(user).post(reverse("staff_sessions_end", args=[msp_admin.pk])).status_code in (403, 404)
    assert target.get(reverse("dashboard")).status_code == 200


def test_deactivating_a_user_ends_their_sessions(client_for, msp_admin, msp_sales):
    target = _sign_in(msp_sales)
    key = target.session.session_key
    client_for(msp_admin).post(reverse("staff_deactivate", args=[msp_sales.pk]))
    assert not Session.objects.filter(session_key=key).exists()
    assert UserSession.objects.get(session_key=key).end_reason == UserSession.EndReason.DEACTIVATED
    event = AuditEvent.objects.get(action="staff.deactivate")
    assert event.after == {"is_active": False, "sessions_ended": 1}


def test_resetting_the_password_ends_every_session(client, msp_admin):
    signed_in = _sign_in(msp_admin)
    client.post(reverse("password_reset"), {"email": msp_admin.email})
    link = re.search(r"https?://\S+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    new_password = "a-brand-new-passphrase-2026"
    client.post(set_url, {"new_password1": new_password, "new_password2": new_password})
    assert signed_in.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    assert not UserSession.objects.filter(user=msp_admin, ended_at__isnull=True).exists()
    assert AuditEvent.objects.get(action="user.password_reset").after == {"sessions_ended": 1}


def test_changing_the_password_keeps_this_browser_and_ends_the_others(msp_admin):
    laptop = _sign_in(msp_admin)
    phone = _sign_in(msp_admin, user_agent=SAFARI)
    new_password = "a-brand-new-passphrase-2026"
    response = laptop.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response["Location"] == reverse("profile")
    assert laptop.get(reverse("dashboard")).status_code == 200
    assert phone.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    # This browser's row follows its new session key and is still listed.
    assert UserSession.objects.get(session_key=laptop.session.session_key).ended_at is None


def test_signing_out_ends_the_row(msp_admin):
    client = _sign_in(msp_admin)
    key = client.session.session_key
    client.post(reverse("logout"))
    assert UserSession.objects.get(session_key=key).end_reason == UserSession.EndReason.SIGNED_OUT


def test_last_seen_is_written_at_most_once_a_minute(msp_admin, time_machine, django_assert_num_queries):
    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    client = _sign_in(msp_admin)
    row = UserSession.objects.get(user=msp_admin)
    time_machine.move_to(start + dt.timedelta(seconds=30), tick=False)
    client.get(reverse("profile"))
    row.refresh_from_db()
    assert row.last_seen_at == start
    time_machine.move_to(start + dt.timedelta(seconds=61), tick=False)
    client.get(reverse("profile"))
    row.refresh_from_db()
    assert row.last_seen_at == start + dt.timedelta(seconds=61)


def test_a_session_from_before_the_rows_were_kept_gets_one(client_for, msp_admin):
    from accounts.middleware import SessionActivityMiddleware

    client = client_for(msp_admin)
    UserSession.objects.all().delete()
    session = client.session
    del session[SessionActivityMiddleware.SEEN_SESSION_KEY]
    session.save()
    client.get(reverse("profile"))
    assert UserSession.objects.get(user=msp_admin).session_key == client.session.session_key


@pytest.mark.parametrize("name", ["session_end", "sessions_end_others"])
def test_the_session_actions_take_only_post(client_for, msp_admin, name):
    args = [1] if name == "session_end" else []
    assert client_for(msp_admin).get(reverse(name, args=args)).status_code == 405


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_first_requests_of_one_session_at_once_both_answer(msp_admin):
    """A page and its htmx calls can be a session's first requests after the rows began to be
    kept: both record the browser, one row results and neither fails on the unique key."""
    import threading

    from django.db import connection

    from accounts.services import user_session_touch

    class FakeRequest:
        def __init__(self, key):
            self.session = type("S", (), {"session_key": key})()
            self.user = msp_admin
            self.COOKIES = {}
            self.headers = {"User-Agent": CHROME}
            self.META = {"REMOTE_ADDR": "203.0.113.7"}

    failures = []
    for round_ in range(10):
        key = f"race-{round_:02d}".ljust(32, "x")
        barrier = threading.Barrier(2)

        def touch(key=key, barrier=barrier):
            try:
                barrier.wait()
                assert user_session_touch(request=FakeRequest(key)) is True
            except Exception as exc:  # collected and asserted below
                failures.append(repr(exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=touch) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert UserSession.objects.filter(session_key=key).count() == 1
    assert not failures, failures
