"""管理者: register, edit, disable customer admins; the set-password e-mail."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from conftest import PASSWORD
from customer_portal.models import CustomerAdmin

pytestmark = pytest.mark.django_db

NEW_ADMIN = {"name": "山田 花子", "email": "Hanako@Customer.example", "language": "ja"}


def _url(name, customer, *args):
    return reverse(f"customer_portal:{name}", args=[customer.account_code, *args])


def _register(client, customer, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(_url("admin_add", customer), data)


def test_the_admin_list_shows_the_customers_admins_only(client_for, customer_admin, portal_customer, msp_org):
    from customer_portal.tests.factories import CustomerAdminFactory
    from customers.tests.factories import CustomerAccountFactory

    stranger = CustomerAdminFactory(customer=CustomerAccountFactory(organization=msp_org))
    page = client_for(customer_admin).get(_url("admins", portal_customer)).content.decode()
    assert customer_admin.email in page
    assert stranger.user.email not in page


def test_staff_register_an_admin_who_gets_a_set_password_link_and_no_password(
    client_for, msp_admin, portal_customer, django_capture_on_commit_callbacks
):
    client = client_for(msp_admin)
    assert client.get(_url("admin_add", portal_customer)).status_code == 200
    response = _register(client, portal_customer, NEW_ADMIN, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    admin = CustomerAdmin.objects.get(customer=portal_customer)
    assert admin.user.email == "hanako@customer.example"
    assert admin.created_by == msp_admin
    assert not admin.user.has_usable_password()
    assert not hasattr(admin.user, "membership") or admin.user.membership is None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["hanako@customer.example"]
    assert portal_customer.company_name in message.subject
    link = re.search(r"https?://\S+/c/password/set/\S+/", message.body).group(0)
    assert "パスワード" in message.body
    assert PASSWORD not in message.body
    event = AuditEvent.objects.get(action="customer_admin.register")
    assert event.actor == msp_admin
    assert event.acting_as_customer == portal_customer

    # The link sets the password once; the admin then signs in and lands in the portal.
    path = link.split("://", 1)[1].split("/", 1)[1]
    anonymous = Client()
    form_page = anonymous.get("/" + path, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    new_password = "a-Long-new-passw0rd-2026"
    done = anonymous.post(set_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert anonymous.get("/" + path, follow=True).context["validlink"] is False
    signed_in = anonymous.post(reverse("login"), {"username": admin.user.email, "password": new_password}, follow=True)
    assert signed_in.redirect_chain[-1][0] == _url("info", portal_customer)


def test_the_set_password_e_mail_follows_the_admins_language(
    client_for, customer_admin, portal_customer, django_capture_on_commit_callbacks
):
    _register(
        client_for(customer_admin), portal_customer, {**NEW_ADMIN, "language": "en"}, django_capture_on_commit_callbacks
    )
    assert "Set your administrator password" in mail.outbox[0].subject


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**NEW_ADMIN, "email": "not-an-email"}, "email"),
        ({**NEW_ADMIN, "name": "<script>alert(1)</script>"}, "name"),
        ({**NEW_ADMIN, "name": "長" * 101}, "name"),
        ({**NEW_ADMIN, "name": ""}, "name"),
        ({**NEW_ADMIN, "language": "xx"}, "language"),
    ],
)
def test_bad_admin_input_is_refused_with_a_message_and_nothing_changes(
    client_for, customer_admin, portal_customer, data, field
):
    response = client_for(customer_admin).post(_url("admin_add", portal_customer), data)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert CustomerAdmin.objects.count() == 1
    assert len(mail.outbox) == 0


def test_an_e_mail_address_already_in_use_is_refused(client_for, customer_admin, msp_admin, portal_customer):
    response = client_for(customer_admin).post(
        _url("admin_add", portal_customer), {**NEW_ADMIN, "email": msp_admin.email}
    )
    assert response.status_code == 200
    assert "既に存在します" in response.content.decode() or "already exists" in response.content.decode()
    assert CustomerAdmin.objects.count() == 1


def test_an_admin_is_edited(client_for, customer_admin, portal_customer):
    admin = customer_admin.customer_admin
    response = client_for(customer_admin).post(
        _url("admin_edit", portal_customer, admin.pk),
        {"name": "新しい 名前", "email": "new@test.example", "language": "en"},
    )
    assert response.status_code == 302
    customer_admin.refresh_from_db()
    assert (customer_admin.name, customer_admin.email, customer_admin.language) == (
        "新しい 名前",
        "new@test.example",
        "en",
    )
    event = AuditEvent.objects.get(action="customer_admin.update")
    assert event.before["email"] == "customer-admin@test.example"


def test_an_admin_is_disabled_and_can_no_longer_sign_in_then_enabled(
    client_for, customer_admin, msp_admin, portal_customer
):
    admin = customer_admin.customer_admin
    client = client_for(msp_admin)
    assert client.get(_url("admin_disable", portal_customer, admin.pk)).status_code == 200
    assert client.post(_url("admin_disable", portal_customer, admin.pk)).status_code == 302
    customer_admin.refresh_from_db()
    assert not customer_admin.is_active
    assert not CustomerAdmin.objects.get(pk=admin.pk).is_active
    refused = client.__class__().post(reverse("login"), {"username": customer_admin.email, "password": PASSWORD})
    assert refused.status_code == 200
    assert "_auth_user_id" not in refused.wsgi_request.session
    assert client.post(_url("admin_enable", portal_customer, admin.pk)).status_code == 302
    customer_admin.refresh_from_db()
    assert customer_admin.is_active
    assert list(AuditEvent.objects.filter(action__startswith="customer_admin.").values_list("action", flat=True)) == [
        "customer_admin.enable",
        "customer_admin.disable",
    ]


def test_an_admin_cannot_disable_themselves(client_for, customer_admin, portal_customer):
    admin = customer_admin.customer_admin
    response = client_for(customer_admin).post(_url("admin_disable", portal_customer, admin.pk))
    assert response.status_code == 200
    assert CustomerAdmin.objects.get(pk=admin.pk).is_active


def test_a_new_password_e_mail_can_be_sent(
    client_for, customer_admin, msp_admin, portal_customer, django_capture_on_commit_callbacks
):
    admin = customer_admin.customer_admin
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(msp_admin).post(_url("admin_password_mail", portal_customer, admin.pk))
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/c/password/set/" in mail.outbox[0].body


def test_another_customers_admin_is_404(client_for, customer_admin, portal_customer, msp_org):
    from customer_portal.tests.factories import CustomerAdminFactory
    from customers.tests.factories import CustomerAccountFactory

    stranger = CustomerAdminFactory(customer=CustomerAccountFactory(organization=msp_org))
    client = client_for(customer_admin)
    assert client.post(_url("admin_disable", portal_customer, stranger.pk)).status_code == 404
    assert client.get(_url("admin_edit", portal_customer, stranger.pk)).status_code == 404
    assert CustomerAdmin.objects.get(pk=stranger.pk).is_active


def test_wrong_methods_are_rejected(client_for, customer_admin, portal_customer):
    client = client_for(customer_admin)
    assert client.post(_url("admins", portal_customer)).status_code == 405
    assert client.delete(_url("admin_add", portal_customer)).status_code == 405


def test_read_only_staff_cannot_register_admins(client_for, msp_viewer, portal_customer):
    response = client_for(msp_viewer).post(_url("admin_add", portal_customer), NEW_ADMIN)
    assert response.status_code == 403
    assert not User.objects.filter(email="hanako@customer.example").exists()


def test_the_register_popup_renders_as_an_htmx_fragment(client_for, customer_admin, portal_customer):
    response = client_for(customer_admin).get(_url("admin_add", portal_customer), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert 'hx-post="' in body
