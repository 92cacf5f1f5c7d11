import io

import pytest
from django.core.management import call_command

from accounts.models import Organization
from msp_portal import dates
from points import demo
from points.models import LedgerAccount, PurchaseRequest, PurchaseRequestStatus
from points.rules import consumption, rule_at

pytestmark = pytest.mark.django_db


def test_the_demo_pools_cover_a_new_customers_points_and_the_operator_has_a_request_waiting():
    call_command("seed_demo", "--force", "--customers", "40", stdout=io.StringIO())
    # Step 5 of the seed for a new customer, at its most generous: five years of 100 users.
    assert 60 * consumption(rule_at(dates.today()), 100) == demo.NEW_CUSTOMER_POINTS
    pools = dict(LedgerAccount.objects.pools().values_list("organization__name", "balance"))
    msps = Organization.objects.filter(kind__in=("msp", "privileged_msp"))
    assert set(pools) == set(msps.values_list("name", flat=True))
    assert all(balance >= demo.NEW_CUSTOMER_POINTS for balance in pools.values()), pools
    request = PurchaseRequest.objects.get()
    assert request.status == PurchaseRequestStatus.OPEN and request.requested_by.email == "msp-admin@example.com"

    call_command("seed_demo", "--force", "--customers", "40", stdout=io.StringIO())
    balances = LedgerAccount.objects.pools().values_list("balance", flat=True)
    assert all(balance >= demo.NEW_CUSTOMER_POINTS for balance in balances)
    assert PurchaseRequest.objects.count() == 1
