"""The demo data: a merge suggestion in each demo MSP and one pending request each way."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Organization, User
from merges.models import AccountRequest, RequestStatus
from merges.selectors import suggestion_pairs

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_suggestion_per_msp_and_a_pending_request_each_way():
    for _ in range(2):  # idempotent
        call_command("seed_demo", "--force", "--customers", "60", stdout=io.StringIO())
    for email in ("pmsp-admin@example.com", "msp-admin@example.com", "other-msp-admin@example.com"):
        assert suggestion_pairs(User.objects.get(email=email)), email
    osaka = Organization.objects.get(name="大阪ITサービス株式会社")
    hokkaido = Organization.objects.get(name="北海道ネットワークス株式会社")
    pending = AccountRequest.objects.filter(status=RequestStatus.PENDING)
    assert pending.count() == 2
    assert pending.get(kind="merge").deciding_organization == hokkaido
    assert pending.get(kind="transfer").deciding_organization == osaka
