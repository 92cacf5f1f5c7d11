"""納品通知: the delivery notice bulk action (service, confirmation popup, result popup)."""

import pytest
from django.core import mail
from django.urls import reverse

from audit.models import AuditEvent
from conftest import PASSWORD
from customer_portal.tests.factories import CustomerAdminFactory
from customers.services import customer_delivery_notice_send
from customers.tests.factories import CustomerAccountFactory

pytestmark = pytest.mark.django_db

URL = reverse("customer_portal:delivery_notice")
CONTACTS = {
    "contact_name": "顧客 担当",
    "contact_email": "contact@customer.example",
    "reseller_name": "販売店株式会社",
    "reseller_contact_name": "販売 担当",
    "reseller_contact_email": "sales@reseller.example",
}


@pytest.fixture
def ready(msp_org):
    customer = CustomerAccountFactory(
        organization=msp_org, account_code="ready-co", company_name="準備完了株式会社", **CONTACTS
    )
    CustomerAdminFactory(customer=customer, user__email="admin1@ready.example", user__name="管理 一郎")
    CustomerAdminFactory(customer=customer, user__email="gone@ready.example", is_active=False)
    return customer


def test_the_notice_goes_to_the_customer_cc_the_reseller_with_the_account_and_admins_and_no_password(msp_admin, ready):
    result = customer_delivery_notice_send(actor=msp_admin, customers=[ready], language="ja")
    assert [customer for customer, _ in result.sent] == [ready]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["contact@customer.example"]
    assert message.cc == ["sales@reseller.example"]
    assert message.recipients() == ["contact@customer.example", "sales@reseller.example"]
    assert message.body.startswith("顧客 担当 様\ncc: 販売 担当 様（販売店株式会社）\n")
    assert "納品通知" in message.subject
    for expected in ("ready-co", "準備完了株式会社", "/accounts/login/", "管理 一郎", "admin1@ready.example"):
        assert expected in message.body
    assert "gone@ready.example" not in message.body
    assert PASSWORD not in message.body
    ready.refresh_from_db()
    assert ready.last_delivery_notice_at is not None
    event = AuditEvent.objects.get(action="customer.delivery_notice")
    assert event.actor == msp_admin and event.customer == ready
    assert event.after["recipients"] == ["contact@customer.example", "sales@reseller.example"]


def test_a_contact_who_is_also_the_reseller_contact_gets_the_notice_once(msp_admin, ready):
    ready.reseller_contact_email = "Contact@Customer.example"
    ready.save()
    customer_delivery_notice_send(actor=msp_admin, customers=[ready])
    (message,) = mail.outbox
    assert (message.to, message.cc) == (["contact@customer.example"], [])


def test_the_notice_can_be_sent_in_english(msp_admin, ready):
    customer_delivery_notice_send(actor=msp_admin, customers=[ready], language="en")
    assert mail.outbox[0].subject.startswith("[Delivery notice]")
    assert "Account code: ready-co" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"contact_email": ""}, "基本情報に担当者名または担当者Eメールが設定されていません"),
        ({"contact_name": ""}, "基本情報に担当者名または担当者Eメールが設定されていません"),
        ({"reseller_contact_email": ""}, "販売店情報に担当者名または担当者Eメールが設定されていません"),
        ({"status": "cancelled"}, "アカウントが利用中ではありません"),
    ],
)
def test_accounts_missing_contacts_or_not_active_are_skipped_with_the_reason(msp_admin, ready, changes, reason):
    for name, value in changes.items():
        setattr(ready, name, value)
    ready.save()
    result = customer_delivery_notice_send(actor=msp_admin, customers=[ready])
    assert result.sent == []
    assert result.skipped == [(ready, reason + "。")]
    assert mail.outbox == []
    ready.refresh_from_db()
    assert ready.last_delivery_notice_at is None


def test_accounts_without_an_administrator_are_skipped(msp_admin, msp_org):
    customer = CustomerAccountFactory(organization=msp_org, **CONTACTS)
    result = customer_delivery_notice_send(actor=msp_admin, customers=[customer])
    assert result.skipped == [(customer, "管理者がまだ登録されていません。")]


def test_the_popup_confirms_then_reports_sent_and_skipped_accounts(client_for, msp_sales, ready, msp_org):
    incomplete = CustomerAccountFactory(organization=msp_org, account_code="incomplete-co")
    client = client_for(msp_sales)
    confirm = client.post(URL, {"ids": [ready.pk, incomplete.pk]}, HTTP_HX_REQUEST="true")
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "ready-co" in body and "incomplete-co" in body and 'name="language"' in body
    assert mail.outbox == []
    result = client.post(URL, {"ids": [ready.pk, incomplete.pk], "language": "ja", "send": "1"}, HTTP_HX_REQUEST="true")
    body = result.content.decode()
    assert 'data-testid="notice-sent"' in body and "ready-co" in body
    assert "incomplete-co" in body and "基本情報に担当者名" in body
    assert len(mail.outbox) == 1


def test_ids_outside_the_users_scope_are_ignored_or_404(client_for, msp_admin, other_msp_admin, ready):
    other = CustomerAccountFactory(organization=other_msp_admin.organization, **CONTACTS)
    CustomerAdminFactory(customer=other)
    assert client_for(msp_admin).post(URL, {"ids": [other.pk], "send": "1", "language": "ja"}).status_code == 404
    response = client_for(msp_admin).post(URL, {"ids": [other.pk, ready.pk], "send": "1", "language": "ja"})
    assert response.status_code == 200
    assert [message.to[0] for message in mail.outbox] == ["contact@customer.example"]
    other.refresh_from_db()
    assert other.last_delivery_notice_at is None


def test_a_bad_language_is_refused_and_nothing_is_sent(client_for, msp_admin, ready):
    response = client_for(msp_admin).post(URL, {"ids": [ready.pk], "send": "1", "language": "fr"})
    assert response.status_code == 200
    assert 'name="language"' in response.content.decode()
    assert mail.outbox == []


@pytest.mark.parametrize("persona", ["msp_viewer", "msp_billing", "support_user"])
def test_roles_without_the_capability_get_403_and_nothing_is_sent(request, client_for, persona, ready):
    response = client_for(request.getfixturevalue(persona)).post(
        URL, {"ids": [ready.pk], "send": "1", "language": "ja"}
    )
    assert response.status_code == 403
    assert mail.outbox == []


def test_get_is_rejected(client_for, msp_admin):
    assert client_for(msp_admin).get(URL).status_code == 405
