import io
import itertools

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import ContractChange, CustomerAccount, CustomerStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_spreads_customers_over_msps_and_states_with_consistent_history():
    call_command("seed_demo", "--force", "--customers", "120", stdout=io.StringIO())
    assert CustomerAccount.objects.count() == 120
    assert CustomerAccount.objects.values("organization").distinct().count() == 3
    statuses = set(CustomerAccount.objects.values_list("status", flat=True))
    assert {CustomerStatus.ACTIVE, CustomerStatus.PENDING_APPROVAL, CustomerStatus.CANCELLED} <= statuses
    for customer in CustomerAccount.objects.prefetch_related("status_changes", "contract_changes"):
        changes = list(customer.status_changes.all())
        assert changes[0].from_status == "" and changes[-1].to_status == customer.status
        assert all(a.to_status == b.from_status for a, b in itertools.pairwise(changes))
        contracts = list(customer.contract_changes.all())
        assert contracts[0].old_users is None and contracts[-1].new_users == customer.contracted_users
        assert customer.search_text
    assert not ContractChange.objects.values("customer").annotate(n=Count("id")).filter(n__gt=2).exists()

    call_command("seed_demo", "--force", "--customers", "120", stdout=io.StringIO())
    assert CustomerAccount.objects.count() == 120
