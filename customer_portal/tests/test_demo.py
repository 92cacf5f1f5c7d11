import io

import pytest
from django.core.management import call_command

from accounts.models import User
from customer_portal.models import CustomerAdmin, ServiceUser

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_a_demo_customer_admin_users_and_is_idempotent(client):
    from accounts.management.commands.seed_demo import DEMO_PASSWORD

    for _ in range(2):
        call_command("seed_demo", "--force", stdout=io.StringIO())
    admin = CustomerAdmin.objects.select_related("customer").get(user__email="customer-admin@example.com")
    assert admin.customer.status == "active"
    assert admin.customer.organization.name == "大阪ITサービス株式会社"
    assert ServiceUser.objects.filter(customer=admin.customer, is_active=True).count() == 8
    assert User.objects.filter(email="customer-admin@example.com").count() == 1
    signed_in = client.post("/accounts/login/", {"username": "customer-admin@example.com", "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302
    assert client.get("/", follow=True).redirect_chain[-1][0] == f"/c/{admin.customer.account_code}/info/"
