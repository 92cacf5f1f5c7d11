"""Who may open which customer's admin portal, and what they may do there."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from customer_portal.models import ServiceUser
from customer_portal.tests.factories import CustomerAdminFactory
from customers.tests.factories import CustomerAccountFactory

pytestmark = pytest.mark.django_db

USER_DATA = {"user_name": "taro", "email": "taro@customer.example", "display_name": "太郎", "department": ""}


def _users_url(customer):
    return reverse("customer_portal:users", args=[customer.account_code])


def _add_url(customer):
    return reverse("customer_portal:user_add", args=[customer.account_code])


def test_a_customer_admin_opens_their_own_portal(client_for, customer_admin, portal_customer):
    response = client_for(customer_admin).get(_users_url(portal_customer))
    assert response.status_code == 200
    assert portal_customer.company_name in response.content.decode()
    assert 'data-testid="acting-banner"' not in response.content.decode()


def test_a_customer_admin_gets_404_for_another_customer(client_for, customer_admin, msp_org):
    other = CustomerAccountFactory(organization=msp_org)
    assert client_for(customer_admin).get(_users_url(other)).status_code == 404
    assert client_for(customer_admin).post(_add_url(other), USER_DATA).status_code == 404
    assert not ServiceUser.objects.exists()


def test_a_customer_admin_gets_403_on_staff_pages(client_for, customer_admin):
    client = client_for(customer_admin)
    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("customer_portal:switcher")).status_code == 403


def test_a_customer_admin_lands_in_their_portal_after_signing_in(client, customer_admin, portal_customer):
    from conftest import PASSWORD

    response = client.post(reverse("login"), {"username": customer_admin.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("customer_portal:info", args=[portal_customer.account_code])


def test_a_disabled_customer_admin_is_refused(client_for, customer_admin, portal_customer):
    customer_admin.customer_admin.is_active = False
    customer_admin.customer_admin.save()
    assert client_for(customer_admin).get(_users_url(portal_customer)).status_code == 404


def test_anonymous_users_are_sent_to_the_login_page(client, portal_customer):
    response = client.get(_users_url(portal_customer))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["msp_admin", "msp_sales", "pmsp_admin", "operator_user"])
def test_managing_staff_with_the_customer_screen_capability_can_change_things(
    request, client_for, persona, portal_customer
):
    user = request.getfixturevalue(persona)
    client = client_for(user)
    page = client.get(_users_url(portal_customer))
    assert page.status_code == 200
    assert 'data-testid="acting-banner"' in page.content.decode()
    response = client.post(_add_url(portal_customer), USER_DATA)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="service_user.add")
    assert event.actor == user
    assert event.acting_as_customer == portal_customer
    assert event.customer == portal_customer


def test_entering_a_customer_portal_is_audited_once_per_switch(client_for, msp_admin, portal_customer, msp_org):
    client = client_for(msp_admin)
    client.get(_users_url(portal_customer))
    client.get(reverse("customer_portal:info", args=[portal_customer.account_code]))
    entries = AuditEvent.objects.filter(action="customer_portal.enter")
    assert entries.count() == 1
    assert entries.get().acting_as_customer == portal_customer
    other = CustomerAccountFactory(organization=msp_org)
    client.get(_users_url(other))
    assert AuditEvent.objects.filter(action="customer_portal.enter").count() == 2


def test_leaving_returns_to_the_msp_portal_and_is_audited(client_for, msp_admin, portal_customer):
    client = client_for(msp_admin)
    client.get(_users_url(portal_customer))
    response = client.post(reverse("customer_portal:leave"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="customer_portal.leave", customer=portal_customer).exists()
    assert client.get(reverse("customer_portal:leave")).status_code == 405


@pytest.mark.parametrize("persona", ["msp_viewer", "msp_billing", "operator_viewer"])
def test_managing_staff_without_the_capability_are_read_only(request, client_for, persona, portal_customer):
    client = client_for(request.getfixturevalue(persona))
    page = client.get(_users_url(portal_customer))
    assert page.status_code == 200
    assert 'data-testid="add-user"' not in page.content.decode()
    assert client.post(_add_url(portal_customer), USER_DATA).status_code == 403
    assert not ServiceUser.objects.exists()


def test_support_staff_see_their_assigned_customers_read_only(client_for, support_user, support_org, portal_customer):
    client = client_for(support_user)
    assert client.get(_users_url(portal_customer)).status_code == 404
    portal_customer.support_account = support_org
    portal_customer.save()
    page = client.get(_users_url(portal_customer))
    assert page.status_code == 200
    assert "read-only" in page.content.decode() or "閲覧のみ" in page.content.decode()
    assert client.post(_add_url(portal_customer), USER_DATA).status_code == 403
    info_edit = reverse("customer_portal:info_edit", args=[portal_customer.account_code])
    assert client.post(info_edit, {"company_name": "乗っ取り"}).status_code == 403
    portal_customer.refresh_from_db()
    assert portal_customer.company_name == "株式会社ポータル顧客"
    assert not ServiceUser.objects.exists()


def test_staff_of_another_msp_cannot_switch_into_the_customer(client_for, other_msp_admin, portal_customer):
    client = client_for(other_msp_admin)
    assert client.get(_users_url(portal_customer)).status_code == 404
    assert client.get(reverse("customer_portal:home", args=[portal_customer.account_code])).status_code == 404
    assert client.post(_add_url(portal_customer), USER_DATA).status_code == 404
    assert not AuditEvent.objects.filter(action="customer_portal.enter").exists()


def test_an_unknown_account_code_is_404(client_for, msp_admin):
    assert client_for(msp_admin).get("/c/no-such-customer/users/").status_code == 404


def test_a_customer_that_was_never_activated_has_no_portal(client_for, msp_admin, msp_org):
    pending = CustomerAccountFactory(organization=msp_org, status="pending_approval")
    assert client_for(msp_admin).get(_users_url(pending)).status_code == 404


def test_a_cancelled_customers_portal_is_read_only_for_everyone(client_for, msp_admin, customer_admin, portal_customer):
    portal_customer.status = "cancelled"
    portal_customer.save()
    for user in (msp_admin, customer_admin):
        client = client_for(user)
        assert client.get(_users_url(portal_customer)).status_code == 200
        assert client.post(_add_url(portal_customer), USER_DATA).status_code == 403
    assert not ServiceUser.objects.exists()


class TestHiddenMenus:
    @pytest.fixture
    def hidden(self, portal_customer):
        portal_customer.hidden_menus = ["users", "user_bulk"]
        portal_customer.save()
        return portal_customer

    def test_hidden_menus_disappear_and_answer_404_for_the_customers_admins(self, client_for, customer_admin, hidden):
        client = client_for(customer_admin)
        page = client.get(reverse("customer_portal:info", args=[hidden.account_code])).content.decode()
        assert 'data-menu="basic_info"' in page
        assert 'data-menu="admins"' in page
        assert 'data-menu="users"' not in page
        assert 'data-menu="user_bulk"' not in page
        for name in ("users", "user_add", "user_bulk", "user_export"):
            assert client.get(reverse(f"customer_portal:{name}", args=[hidden.account_code])).status_code == 404
        assert client.post(_add_url(hidden), USER_DATA).status_code == 404
        assert not ServiceUser.objects.exists()

    def test_staff_still_see_hidden_menus_marked_as_hidden(self, client_for, msp_admin, hidden):
        client = client_for(msp_admin)
        page = client.get(reverse("customer_portal:info", args=[hidden.account_code])).content.decode()
        assert 'data-menu="users"' in page
        assert client.get(_users_url(hidden)).status_code == 200

    def test_another_customers_admins_are_not_affected(self, client_for, hidden, msp_org):
        other_admin = CustomerAdminFactory(customer=CustomerAccountFactory(organization=msp_org))
        client = client_for(other_admin.user)
        assert client.get(_users_url(other_admin.customer)).status_code == 200

    def test_the_portal_home_goes_to_the_first_visible_menu(self, client_for, customer_admin, portal_customer):
        portal_customer.hidden_menus = ["basic_info"]
        portal_customer.save()
        response = client_for(customer_admin).get(reverse("customer_portal:home", args=[portal_customer.account_code]))
        assert response["Location"] == reverse("customer_portal:admins", args=[portal_customer.account_code])


def test_every_customer_portal_view_declares_its_access_rule():
    from django.urls import get_resolver

    patterns = get_resolver().url_patterns
    portal = next(p for p in patterns if getattr(p, "namespace", None) == "customer_portal")
    for pattern in portal.url_patterns:
        view = pattern.callback
        assert hasattr(view, "capability"), pattern.name
        assert view.capability is not None or getattr(view, "customer_portal", False) or getattr(view, "public", False)
