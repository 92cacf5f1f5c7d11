"""Concurrent first uses of a new MSP's pool (PostgreSQL, threads with real transactions): the
pool is opened with the organization and the schema holds one live pool per MSP, so every racer
posts to the same pool and no point lands where nothing can find it."""

import threading

import pytest
from django.db import connections

from accounts.services import organization_create
from customers.tests.factories import CustomerAccountFactory
from msp_portal.permissions import OrganizationKind
from points import services
from points.models import LedgerAccount, LedgerAccountKind, Transfer, TransferKind
from points.selectors import ledger_problems, pool_balance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 4
ROUNDS = 20


def test_concurrent_first_uses_of_a_new_msps_pool_find_one_pool_and_account_for_every_point():
    for round_ in range(ROUNDS):
        msp = organization_create(actor=None, name=f"新規MSP{round_}", kind=OrganizationKind.MSP)
        customer = CustomerAccountFactory(organization=msp)
        barrier = threading.Barrier(RACERS)
        errors: list[BaseException] = []

        def first_use(index, msp=msp, customer=customer, barrier=barrier, errors=errors, round_=round_):
            try:
                barrier.wait()
                services.points_purchase(
                    actor=None,
                    organization=msp,
                    amount=100 + index,
                    order_reference=f"PO-{round_}-{index}",
                    idempotency_key=f"race:{round_}:buy:{index}",
                )
                services.points_allocate(
                    actor=None, customer=customer, amount=10, idempotency_key=f"race:{round_}:give:{index}"
                )
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=first_use, args=(i,)) for i in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        pools = LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization=msp)
        assert pools.count() == 1, f"round {round_}: {pools.count()} pools"
        purchased = sum(100 + i for i in range(RACERS))
        assert pool_balance(msp) == pools.get().balance == purchased - 10 * RACERS
        assert Transfer.objects.filter(kind=TransferKind.PURCHASE, credit_account=pools.get()).count() == RACERS
    assert ledger_problems() == []
