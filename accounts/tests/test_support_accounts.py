"""Support accounts: an MSP admin creates them, lists them and manages their members."""

from django.urls import reverse

from accounts.models import Organization, User
from accounts.tests.factories import OrganizationFactory
from audit.models import AuditEvent
from msp_portal.permissions import OrganizationKind


def test_an_msp_admin_creates_a_support_account_for_their_msp(client_for, msp_admin, msp_org):
    response = client_for(msp_admin).post(reverse("support_account_create"), {"name": "ヘルプデスク東京"})
    support = Organization.objects.get(name="ヘルプデスク東京")
    assert support.kind == OrganizationKind.SUPPORT and support.parent == msp_org
    assert response["Location"] == reverse("support_account_detail", args=[support.pk])
    event = AuditEvent.objects.get(action="organization.create")
    assert event.organization == msp_org and event.actor == msp_admin


def test_bad_support_account_names_are_refused(client_for, msp_admin, support_org):
    client = client_for(msp_admin)
    for name in ("", "   ", "x" * 201, support_org.name):
        response = client.post(reverse("support_account_create"), {"name": name})
        assert response.status_code == 200
        assert "invalid-feedback" in response.content.decode() or "alert-danger" in response.content.decode()
    assert Organization.objects.filter(kind=OrganizationKind.SUPPORT).count() == 1
    assert not AuditEvent.objects.exists()


def test_the_list_shows_only_the_msps_own_support_accounts(client_for, msp_admin, support_org, other_msp_org):
    foreign = OrganizationFactory(name="他社サポート", kind=OrganizationKind.SUPPORT, parent=other_msp_org)
    page = client_for(msp_admin).get(reverse("support_account_list")).content.decode()
    assert support_org.name in page and foreign.name not in page


def test_an_admin_adds_a_member_to_a_support_account(client_for, msp_admin, support_org):
    client = client_for(msp_admin)
    response = client.post(
        reverse("support_staff_invite", args=[support_org.pk]),
        {"name": "窓口 花子", "email": "desk@test.example", "language": "ja", "role": "admin"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="desk@test.example")
    assert user.membership.organization == support_org and user.membership.role == "support_staff"
    page = client.get(reverse("support_account_detail", args=[support_org.pk])).content.decode()
    assert "desk@test.example" in page


def test_an_admin_deactivates_a_support_member(client_for, msp_admin, support_user):
    response = client_for(msp_admin).post(reverse("staff_deactivate", args=[support_user.pk]))
    assert response["Location"] == reverse("support_account_detail", args=[support_user.organization.pk])
    support_user.refresh_from_db()
    assert not support_user.is_active


def test_another_msps_support_account_is_not_found(client_for, other_msp_admin, support_org, support_user):
    client = client_for(other_msp_admin)
    assert client.get(reverse("support_account_detail", args=[support_org.pk])).status_code == 404
    assert client.post(reverse("support_staff_invite", args=[support_org.pk]), {}).status_code == 404
    assert client.post(reverse("staff_deactivate", args=[support_user.pk])).status_code == 404
    support_user.refresh_from_db()
    assert support_user.is_active


def test_roles_without_the_capability_are_refused(client_for, msp_sales, msp_viewer, support_user, support_org):
    for user in (msp_sales, msp_viewer, support_user):
        client = client_for(user)
        assert client.get(reverse("support_account_list")).status_code == 403
        assert client.post(reverse("support_account_create"), {"name": "X"}).status_code == 403
    assert Organization.objects.filter(kind=OrganizationKind.SUPPORT).count() == 1


def test_support_account_pages_reject_wrong_methods(client_for, msp_admin, support_org):
    client = client_for(msp_admin)
    assert client.post(reverse("support_account_list")).status_code == 405
    assert client.post(reverse("support_account_detail", args=[support_org.pk])).status_code == 405


def test_the_operator_creates_a_support_account_for_a_chosen_msp(client_for, operator_user, other_msp_org):
    client_for(operator_user).post(reverse("support_account_create"), {"msp": other_msp_org.pk, "name": "北海道デスク"})
    assert Organization.objects.get(name="北海道デスク").parent == other_msp_org
