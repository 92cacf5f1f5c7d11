"""One pool per MSP organization, opened with it (DESIGN.md §5.1; the schema holds the rule)."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Organization
from accounts.services import organization_create
from accounts.tests.factories import OrganizationFactory
from msp_portal.permissions import OrganizationKind
from points import ledger
from points.models import LedgerAccount, LedgerAccountKind
from points.selectors import ledger_problems, pool_balance

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", [OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP])
def test_an_msp_organization_opens_its_pool_in_the_transaction_that_creates_it(kind):
    organization = organization_create(actor=None, name="新しいMSP", kind=kind)
    pools = LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization=organization)
    assert [(p.balance, p.last_seq, p.retired_into_id) for p in pools] == [(0, 0, None)]
    assert ledger.pool_for(organization) == pools.get()
    assert ledger_problems() == []


def test_the_operator_gets_no_pool():
    organization = organization_create(actor=None, name="運営", kind=OrganizationKind.OPERATOR)
    assert not LedgerAccount.objects.filter(organization=organization).exists()
    with pytest.raises(ledger.NoPool):
        ledger.pool_for(organization)


def test_a_support_account_gets_no_pool(msp_org):
    support = organization_create(actor=None, name="サポート", kind=OrganizationKind.SUPPORT, parent=msp_org)
    assert not LedgerAccount.objects.filter(organization=support).exists()


def test_finding_a_pool_never_creates_one(msp_org):
    LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization=msp_org).delete()
    with pytest.raises(ledger.NoPool):
        ledger.pool_for(msp_org)
    assert not LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization=msp_org).exists()


def test_the_database_refuses_a_second_live_pool_for_an_msp(msp_org):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(kind=LedgerAccountKind.POOL, organization=msp_org)
    assert LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization=msp_org).count() == 1


def test_a_retired_pool_is_ignored_by_the_constraint_and_every_look_up(msp_org):
    live = ledger.pool_for(msp_org)
    retired = LedgerAccount.objects.create(kind=LedgerAccountKind.POOL, organization=msp_org, retired_into=live)
    assert ledger.pool_for(msp_org) == live
    assert list(LedgerAccount.objects.pools().filter(organization=msp_org)) == [live]
    assert pool_balance(msp_org) == live.balance
    assert retired.pk != live.pk


def test_the_database_keeps_a_retired_pool_at_zero(msp_org):
    live = ledger.pool_for(msp_org)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(kind=LedgerAccountKind.POOL, organization=msp_org, retired_into=live, balance=5)


def test_only_pools_can_be_retired(msp_org):
    live = ledger.pool_for(msp_org)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.create(kind=LedgerAccountKind.CONSUMED, retired_into=live)


def test_the_factory_opens_the_pool_as_the_service_does():
    organization = OrganizationFactory()
    assert isinstance(organization, Organization)
    assert ledger.pool_for(organization).organization_id == organization.pk
