"""Where "/" sends a signed-in user: the landing pages apps register, else the dashboard."""

import pytest
from django.urls import reverse

from customer_portal.access import customer_admin_landing_page
from customer_portal.tests.factories import CustomerAdminFactory
from msp_portal.navigation import LANDING_PAGES

pytestmark = pytest.mark.django_db


def test_the_customer_portal_registers_its_landing_page():
    assert customer_admin_landing_page in LANDING_PAGES


def test_a_customer_admin_lands_in_their_customers_portal(client, msp_org):
    admin = CustomerAdminFactory(customer__organization=msp_org)
    client.force_login(admin.user)
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("customer_portal:home", args=[admin.customer.account_code])


def test_staff_land_on_the_dashboard_and_visitors_on_the_sign_in_page(client, client_for, msp_admin):
    assert client_for(msp_admin).get(reverse("home"))["Location"] == reverse("dashboard")
    assert client.get(reverse("home"))["Location"] == reverse("login")
