"""Staff management: list, invite, change role, deactivate/reactivate, two-factor reset."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Membership, User
from accounts.services import staff_deactivate
from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from conftest import two_factor_device
from msp_portal.errors import DomainError


def _invite(client, **data):
    payload = {"name": "新人 太郎", "email": "new@test.example", "role": "sales", "language": "ja"}
    payload.update(data)
    return client.post(reverse("staff_invite"), payload)


# --- List ----------------------------------------------------------------------------------------


def test_the_staff_list_shows_the_own_organization_only(client_for, msp_admin, msp_viewer, other_msp_admin):
    page = client_for(msp_admin).get(reverse("staff_list")).content.decode()
    assert msp_viewer.email in page
    assert other_msp_admin.email not in page


def test_the_operator_sees_and_filters_staff_of_any_organization(client_for, operator_user, msp_admin, other_msp_admin):
    client = client_for(operator_user)
    page = client.get(reverse("staff_list")).content.decode()
    assert msp_admin.email in page and other_msp_admin.email in page
    filtered = client.get(reverse("staff_list"), {"organization": other_msp_admin.organization.pk}).content.decode()
    assert f">{other_msp_admin.email}<" in filtered and f">{msp_admin.email}<" not in filtered


def test_the_staff_list_filters_by_text_role_and_status(client_for, msp_admin, msp_viewer, msp_sales):
    client = client_for(msp_admin)
    page = client.get(reverse("staff_list"), {"role": "viewer"}).content.decode()
    assert msp_viewer.email in page and msp_sales.email not in page
    page = client.get(reverse("staff_list"), {"q": msp_sales.email[:8]}).content.decode()
    assert msp_sales.email in page and msp_viewer.email not in page


def test_an_invalid_filter_shows_no_rows_rather_than_everyone(client_for, msp_admin, msp_viewer):
    page = client_for(msp_admin).get(reverse("staff_list"), {"role": "superuser"}).content.decode()
    assert msp_viewer.email not in page


def test_the_staff_list_query_count_does_not_grow_with_the_page_size(
    client_for, msp_admin, msp_org, django_assert_num_queries
):
    UserFactory.create_batch(30, membership__organization=msp_org, membership__role="sales")
    client = client_for(msp_admin)
    client.get(reverse("staff_list"))
    # Session, user, the verified second factor, membership, organization; the count of staff
    # without a second factor, the page's count and rows.
    with django_assert_num_queries(8):
        assert client.get(reverse("staff_list"), {"per_page": 25}).status_code == 200
    with django_assert_num_queries(8):
        assert client.get(reverse("staff_list"), {"per_page": 50}).status_code == 200


def test_read_only_and_support_staff_cannot_see_the_staff_pages(client_for, msp_viewer, support_user, msp_sales):
    for user in (msp_viewer, support_user, msp_sales):
        assert client_for(user).get(reverse("staff_list")).status_code == 403


def test_the_operator_viewer_sees_the_list_but_cannot_invite(client_for, operator_viewer):
    client = client_for(operator_viewer)
    assert client.get(reverse("staff_list")).status_code == 200
    assert client.post(reverse("staff_invite"), {}).status_code == 403


def test_the_staff_list_rejects_post(client_for, msp_admin):
    assert client_for(msp_admin).post(reverse("staff_list")).status_code == 405


# --- Invite --------------------------------------------------------------------------------------


def test_an_invited_member_gets_a_set_password_link_and_no_password(
    client_for, msp_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(client_for(msp_admin), email="New@Test.example", language="en")
    assert response.status_code == 302
    user = User.objects.get(email="new@test.example")
    assert user.membership.organization == msp_admin.organization and user.membership.role == "sales"
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@test.example"] and message.subject.startswith("MSP Portal: you are invited")
    link = re.search(r"https?://\S+(/accounts/reset/\S+/)", message.body).group(1)
    assert AuditEvent.objects.filter(action="staff.create", object_id=str(user.pk), actor=msp_admin).count() == 1
    # The link lets them set a password.
    anonymous = type(client_for(msp_admin))()
    set_url = anonymous.get(link, follow=True).redirect_chain[-1][0]
    anonymous.post(set_url, {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"})
    user.refresh_from_db()
    assert user.check_password("a-long-new-passphrase")


def test_an_htmx_invite_closes_the_popup(client_for, msp_admin):
    response = client_for(msp_admin).post(
        reverse("staff_invite"),
        {"name": "新人", "email": "new@test.example", "role": "sales", "language": "ja"},
        headers={"HX-Request": "true"},
    )
    assert response.headers["HX-Redirect"] == reverse("staff_list")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email"}, "有効なメールアドレスを入力してください"),
        ({"email": "x" * 250 + "@test.example"}, "254"),
        ({"name": "名" * 101}, "100"),
        ({"name": "   "}, ""),
        ({"role": "operator_admin"}, ""),
        ({"role": "support_staff"}, ""),
    ],
)
def test_bad_invitations_are_refused_with_a_message_and_change_nothing(client_for, msp_admin, data, message):
    users_before = User.objects.count()
    response = _invite(client_for(msp_admin), **data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "invalid-feedback" in body
    assert message in body
    assert User.objects.count() == users_before
    assert not AuditEvent.objects.exists()
    assert mail.outbox == []


def test_a_duplicate_email_is_refused_whatever_its_case(client_for, msp_admin, other_msp_admin):
    response = _invite(client_for(msp_admin), email=other_msp_admin.email.upper())
    assert "このメールアドレスのユーザーは既に存在します" in response.content.decode()
    assert Membership.objects.filter(user__email=other_msp_admin.email).count() == 1


def test_html_in_a_name_is_shown_escaped(client_for, msp_admin):
    client = client_for(msp_admin)
    _invite(client, name='<script>alert("x")</script>')
    page = client.get(reverse("staff_list")).content.decode()
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_operator_invites_into_a_chosen_organization_with_its_roles(client_for, operator_user, other_msp_org):
    client = client_for(operator_user)
    refused = _invite(client, organization=other_msp_org.pk, role="operator_admin")
    assert refused.status_code == 200
    assert not User.objects.filter(email="new@test.example").exists()
    _invite(client, organization=other_msp_org.pk, role="admin")
    assert User.objects.get(email="new@test.example").membership.organization == other_msp_org


# --- Role, deactivate, reactivate ------------------------------------------------------------------


def test_an_admin_changes_a_members_role(client_for, msp_admin, msp_viewer):
    response = client_for(msp_admin).post(reverse("staff_role", args=[msp_viewer.pk]), {"role": "billing"})
    assert response.status_code == 302
    msp_viewer.membership.refresh_from_db()
    assert msp_viewer.membership.role == "billing"
    event = AuditEvent.objects.get(action="staff.change_role")
    assert event.before == {"role": "viewer"} and event.after == {"role": "billing"}


def test_a_role_of_another_kind_of_organization_is_refused(client_for, msp_admin, msp_viewer):
    response = client_for(msp_admin).post(reverse("staff_role", args=[msp_viewer.pk]), {"role": "operator_admin"})
    assert response.status_code == 200
    msp_viewer.membership.refresh_from_db()
    assert msp_viewer.membership.role == "viewer"


def test_an_admin_cannot_change_their_own_role(client_for, msp_admin):
    response = client_for(msp_admin).post(reverse("staff_role", args=[msp_admin.pk]), {"role": "viewer"})
    assert "自分自身のロールは変更できません" in response.content.decode()
    msp_admin.membership.refresh_from_db()
    assert msp_admin.membership.role == "admin"


def test_staff_of_another_msp_are_not_found(client_for, msp_admin, other_msp_admin):
    client = client_for(msp_admin)
    for name in ("staff_role", "staff_deactivate", "staff_reactivate", "staff_two_factor_reset"):
        assert client.post(reverse(name, args=[other_msp_admin.pk]), {"role": "viewer"}).status_code == 404
    other_msp_admin.refresh_from_db()
    assert other_msp_admin.is_active


def test_deactivation_ends_the_users_sessions_and_is_audited(client_for, msp_admin, msp_sales):
    sales_client = client_for(msp_sales)
    assert sales_client.get(reverse("dashboard")).status_code == 200
    response = client_for(msp_admin).post(reverse("staff_deactivate", args=[msp_sales.pk]))
    assert response.status_code == 302
    msp_sales.refresh_from_db()
    assert not msp_sales.is_active
    assert sales_client.get(reverse("dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action="staff.deactivate", object_id=str(msp_sales.pk)).count() == 1
    client_for(msp_admin).post(reverse("staff_reactivate", args=[msp_sales.pk]))
    msp_sales.refresh_from_db()
    assert msp_sales.is_active


def test_an_admin_cannot_deactivate_themselves(client_for, msp_admin):
    response = client_for(msp_admin).post(reverse("staff_deactivate", args=[msp_admin.pk]))
    assert "自分自身を無効にすることはできません" in response.content.decode()
    msp_admin.refresh_from_db()
    assert msp_admin.is_active


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(operator_user, msp_admin):
    with pytest.raises(DomainError):
        staff_deactivate(actor=operator_user, staff=msp_admin)
    from accounts.services import staff_change_role

    with pytest.raises(DomainError):
        staff_change_role(actor=operator_user, staff=msp_admin, role="viewer")
    msp_admin.refresh_from_db()
    assert msp_admin.is_active and msp_admin.membership.role == "admin"


def test_a_second_admin_may_be_deactivated(client_for, operator_user, msp_admin, msp_org):
    second = UserFactory(membership__organization=msp_org, membership__role="admin")
    client_for(operator_user).post(reverse("staff_deactivate", args=[msp_admin.pk]))
    msp_admin.refresh_from_db()
    assert not msp_admin.is_active
    assert second.is_active


def test_the_confirmation_popup_is_shown_on_get(client_for, msp_admin, msp_sales):
    response = client_for(msp_admin).get(
        reverse("staff_deactivate", args=[msp_sales.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'hx-post="' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_staff_actions_reject_put(client_for, msp_admin, msp_sales):
    client = client_for(msp_admin)
    for name in ("staff_role", "staff_deactivate", "staff_reactivate", "staff_two_factor_reset"):
        assert client.put(reverse(name, args=[msp_sales.pk])).status_code == 405


def test_an_admin_resets_a_lost_two_factor_device(client_for, msp_admin, msp_sales):
    two_factor_device(msp_sales)
    client_for(msp_admin).post(reverse("staff_two_factor_reset", args=[msp_sales.pk]))
    assert AuditEvent.objects.filter(action="staff.two_factor_reset").count() == 1
    from django_otp.plugins.otp_totp.models import TOTPDevice

    assert not TOTPDevice.objects.filter(user=msp_sales).exists()


def test_resetting_without_a_device_says_so(client_for, msp_admin, msp_sales):
    response = client_for(msp_admin).post(reverse("staff_two_factor_reset", args=[msp_sales.pk]))
    assert "2段階認証のデバイスがありません" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_the_invitation_is_resent_only_to_users_without_a_password(
    client_for, msp_admin, msp_sales, django_capture_on_commit_callbacks
):
    client = client_for(msp_admin)
    response = client.post(reverse("staff_invitation_resend", args=[msp_sales.pk]))
    assert response.status_code == 200
    assert mail.outbox == []
    msp_sales.set_unusable_password()
    msp_sales.save()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff_invitation_resend", args=[msp_sales.pk]))
    assert len(mail.outbox) == 1
