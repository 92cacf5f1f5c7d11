"""Every kind of e-mail: its subject is plain text (a header is never HTML), its text body too,
and only an HTML body escapes."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse

from accounts.services import staff_invite
from accounts.tests.factories import OrganizationFactory, UserFactory
from billing_jobs.emails import send_shortage_reminder
from billing_jobs.models import ShortageReminder
from customer_portal.services import customer_admin_send_password_mail
from customer_portal.tests.factories import CustomerAdminFactory
from customers.services import customer_delivery_notice_send, send_registrant_email
from customers.tests.factories import CustomerAccountFactory
from msp_portal.permissions import OrganizationKind

pytestmark = pytest.mark.django_db

NAME = "A&B <x>"
ESCAPED = "A&amp;B &lt;x&gt;"


@pytest.fixture
def organization():
    return OrganizationFactory(name=NAME, kind=OrganizationKind.MSP)


@pytest.fixture
def customer(organization):
    registrant = UserFactory(membership__organization=organization, membership__role="sales")
    return CustomerAccountFactory(
        organization=organization,
        company_name=NAME,
        registered_by=registrant,
        contact_name="顧客 担当",
        contact_email="contact@customer.example",
        reseller_name="販売店",
        reseller_contact_name="販売 担当",
        reseller_contact_email="sales@reseller.example",
        estimated_balance=-10,
    )


def _only_message():
    assert len(mail.outbox) == 1
    return mail.outbox[0]


def test_the_invitation(organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff_invite(actor=None, organization=organization, email="new@test.example", name="新人", role="sales")
    message = _only_message()
    assert message.subject == f"MSP管理者ポータル: {NAME} への招待"
    assert NAME in message.body


@pytest.mark.parametrize(
    ("kind", "extra", "subject"),
    [
        ("provisioned", {}, f"[MSPポータル] {NAME} の利用準備が完了しました"),
        ("rejected", {"reason": "<b>不備</b>"}, f"[MSPポータル] {NAME} の申請が差し戻されました"),
    ],
)
def test_the_registrant_notices(customer, kind, extra, subject):
    send_registrant_email(customer_id=customer.pk, kind=kind, **extra)
    message = _only_message()
    assert message.subject == subject
    assert NAME in message.body and ESCAPED not in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert ESCAPED in html and NAME not in html
    if extra:
        assert "&lt;b&gt;不備&lt;/b&gt;" in html and "<b>" not in html


def test_the_customer_admins_set_password_mail(customer, msp_admin, django_capture_on_commit_callbacks):
    admin = CustomerAdminFactory(customer=customer, user__email="admin@customer.example")
    with django_capture_on_commit_callbacks(execute=True):
        customer_admin_send_password_mail(actor=msp_admin, admin=admin)
    message = _only_message()
    assert message.subject == f"【SingleID 管理者ポータル】{NAME} 管理者パスワードの設定"
    assert NAME in message.body and ESCAPED not in message.body


def test_the_delivery_notice(customer, msp_admin):
    CustomerAdminFactory(customer=customer, user__email="admin@customer.example", user__name="管理 一郎")
    customer_delivery_notice_send(actor=msp_admin, customers=[customer], language="ja")
    message = _only_message()
    assert message.subject == f"【納品通知】{NAME} 様の顧客アカウントのご案内"
    assert NAME in message.body and ESCAPED not in message.body


def test_the_shortage_reminder(customer, organization):
    UserFactory(membership__organization=organization, membership__role="billing", email="billing@msp.example")
    reminder = ShortageReminder.objects.create(organization=organization, reminder_date=dt.date(2026, 11, 20))
    assert send_shortage_reminder(reminder.pk) == 1
    message = _only_message()
    assert message.subject == "[MSPポータル] 11/25 にポイントが不足する顧客アカウントが 1 件あります"
    assert NAME in message.body and ESCAPED not in message.body


def test_the_password_reset(client, organization):
    user = UserFactory(membership__organization=organization, email="reset@msp.example")
    client.post(reverse("password_reset"), {"email": user.email})
    message = _only_message()
    assert message.subject == "MSP管理者ポータル: パスワードの再設定"
