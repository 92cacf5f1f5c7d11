"""基本情報: the customer edits its own customer information."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from customers import services as customer_services
from customers.selectors import customer_search, customers_visible_to
from msp_portal.errors import DomainError

pytestmark = pytest.mark.django_db

DATA = {
    "company_name": "株式会社ポータル顧客ホールディングス",
    "company_name_kana": "カブシキガイシャポータルコキャク",
    "email_domain": "Portal.Example.JP",
    "country": "日本",
    "address": "東京都千代田区",
    "industry": "it",
    "company_size": "50-299",
    "contact_name": "顧客 担当",
    "contact_email": "Contact@Portal.example.jp",
    "phone": "03-1234-5678",
}


def _url(name, customer):
    return reverse(f"customer_portal:{name}", args=[customer.account_code])


def test_the_basic_information_page_works(client_for, customer_admin, portal_customer):
    response = client_for(customer_admin).get(_url("info", portal_customer))
    assert response.status_code == 200
    assert portal_customer.account_code in response.content.decode()
    assert client_for(customer_admin).get(_url("info_edit", portal_customer), HTTP_HX_REQUEST="true").status_code == 200


def test_the_customer_edits_its_info_and_the_msp_sees_and_finds_the_change(
    client_for, customer_admin, msp_admin, portal_customer
):
    response = client_for(customer_admin).post(_url("info_edit", portal_customer), DATA, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == _url("info", portal_customer)
    portal_customer.refresh_from_db()
    assert portal_customer.company_name == "株式会社ポータル顧客ホールディングス"
    assert portal_customer.email_domain == "portal.example.jp"
    assert portal_customer.contact_email == "contact@portal.example.jp"
    assert customer_search(customers_visible_to(msp_admin), "ホールディングス").get() == portal_customer
    event = AuditEvent.objects.get(action="customer.info_update")
    assert event.actor == customer_admin
    assert event.organization == portal_customer.organization
    assert event.before["company_name"] == "株式会社ポータル顧客"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"company_name": ""}, "company_name"),
        ({"company_name": "<img src=x onerror=alert(1)>"}, "company_name"),
        ({"company_name": "社" * 201}, "company_name"),
        ({"email_domain": "user@portal.example.jp"}, "email_domain"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"industry": "piracy"}, "industry"),
    ],
)
def test_bad_info_is_refused_and_nothing_changes(client_for, customer_admin, portal_customer, changes, field):
    response = client_for(customer_admin).post(_url("info_edit", portal_customer), {**DATA, **changes})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    portal_customer.refresh_from_db()
    assert portal_customer.company_name == "株式会社ポータル顧客"
    assert not AuditEvent.objects.filter(action="customer.info_update").exists()


def test_the_account_code_and_contract_cannot_be_changed_here(client_for, customer_admin, portal_customer):
    client_for(customer_admin).post(
        _url("info_edit", portal_customer),
        {**DATA, "account_code": "hijack", "contracted_users": 999, "hidden_menus": "[]"},
    )
    portal_customer.refresh_from_db()
    assert (portal_customer.account_code, portal_customer.contracted_users) == ("portal-customer", 5)


def test_wrong_method_is_rejected(client_for, customer_admin, portal_customer):
    assert client_for(customer_admin).post(_url("info", portal_customer)).status_code == 405


@pytest.mark.parametrize("changes", [{"company_name": "   "}, {"email_domain": ""}])
def test_the_portal_edit_refuses_what_the_msp_side_edit_refuses(customer_admin, msp_admin, portal_customer, changes):
    """One writer of the customer information: the portal's edit (customers.services.
    customer_info_update) runs the checks of the MSP's (customer_update)."""
    with pytest.raises(DomainError):
        customer_services.customer_update(actor=msp_admin, customer=portal_customer, changes=changes)
    with pytest.raises(DomainError):
        customer_services.customer_info_update(actor=customer_admin, customer=portal_customer, data=changes)
    portal_customer.refresh_from_db()
    assert portal_customer.company_name == "株式会社ポータル顧客"
    assert not AuditEvent.objects.filter(action__in=["customer.update", "customer.info_update"]).exists()


@pytest.mark.parametrize("changes", [{"account_code": "hijack"}, {"contracted_users": 999}, {"reseller_name": "別"}])
def test_the_portal_edit_refuses_what_only_the_msp_changes(customer_admin, portal_customer, changes):
    with pytest.raises(DomainError):
        customer_services.customer_info_update(actor=customer_admin, customer=portal_customer, data=changes)
    portal_customer.refresh_from_db()
    assert (portal_customer.account_code, portal_customer.contracted_users) == ("portal-customer", 5)
    assert not AuditEvent.objects.filter(action="customer.info_update").exists()


def test_a_cancelled_customers_portal_edit_is_refused(customer_admin, portal_customer):
    portal_customer.status = "cancelled"
    portal_customer.save(update_fields=["status"])
    with pytest.raises(DomainError):
        customer_services.customer_info_update(
            actor=customer_admin, customer=portal_customer, data={"company_name": "株式会社変更後"}
        )
