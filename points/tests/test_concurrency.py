"""Real concurrency on PostgreSQL: threads, each with its own database connection, hammer one
pool and the same wallets at once. Row locks must serialise them exactly."""

import threading
from collections import Counter

import pytest
from django.db import connections

from customers.models import CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from points import services
from points.models import LedgerAccount, LedgerAccountKind, Transfer
from points.selectors import ledger_problems, pool_balance

from .helpers import fund, give

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
ROUNDS = 12


def run_threads(target) -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(index):
        try:
            barrier.wait()
            target(index)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_allocations_and_withdrawals_at_once_end_with_exact_balances_and_a_pool_never_below_zero(msp_org):
    fund(msp_org, 400)
    customers = [CustomerAccountFactory(organization=msp_org) for _ in range(3)]
    for customer in customers:
        give(customer, 20)
    outcomes = Counter()
    lock = threading.Lock()

    def work(index):
        for round_ in range(ROUNDS):
            customer = customers[(index + round_) % len(customers)]
            key = f"t{index}:{round_}"
            if (index + round_) % 3:
                try:
                    services.points_allocate(actor=None, customer=customer, amount=37, idempotency_key=key)
                    result = ("allocate", customer.pk)
                except services.PoolShortage:
                    result = ("refused", customer.pk)
            else:
                services.points_withdraw(
                    actor=None, customer=customer, amount=23, idempotency_key=key, allow_negative=True
                )
                result = ("withdraw", customer.pk)
            with lock:
                outcomes[result] += 1

    assert run_threads(work) == []
    allocated = sum(n for (kind, _pk), n in outcomes.items() if kind == "allocate")
    withdrawn = sum(n for (kind, _pk), n in outcomes.items() if kind == "withdraw")
    assert outcomes.total() == THREADS * ROUNDS
    assert sum(n for (kind, _pk), n in outcomes.items() if kind == "refused") > 0  # the pool ran dry
    assert pool_balance(msp_org) == 400 - 60 - 37 * allocated + 23 * withdrawn
    for customer in customers:
        expected = 20 + 37 * outcomes[("allocate", customer.pk)] - 23 * outcomes[("withdraw", customer.pk)]
        assert CustomerAccount.objects.with_points().get(pk=customer.pk).points_balance == expected
    pool = LedgerAccount.objects.get(kind=LedgerAccountKind.POOL, organization=msp_org)
    assert not Transfer.objects.filter(debit_account=pool, debit_balance_after__lt=0).exists()
    assert not Transfer.objects.filter(credit_account=pool, credit_balance_after__lt=0).exists()
    assert ledger_problems() == []


def test_the_same_form_key_submitted_by_many_threads_at_once_moves_points_once(msp_org):
    fund(msp_org, 1000)
    customer = CustomerAccountFactory(organization=msp_org)
    transfer_ids = []

    def work(index):
        transfer = services.points_allocate(actor=None, customer=customer, amount=50, idempotency_key="form:same")
        transfer_ids.append(transfer.pk)

    assert run_threads(work) == []
    assert len(set(transfer_ids)) == 1 and len(transfer_ids) == THREADS
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).points_balance == 50
    assert pool_balance(msp_org) == 950
    assert ledger_problems() == []


def test_concurrent_replenish_batches_never_overdraw_the_pool(msp_org):
    fund(msp_org, 100)
    customers = [CustomerAccountFactory(organization=msp_org, contracted_users=30) for _ in range(THREADS)]
    LedgerAccount.objects.filter(customer__in=customers).update(estimated_balance=-30)
    succeeded = []

    def work(index):
        try:
            services.points_replenish(actor=None, customers=[customers[index]], batch_key=f"b{index}")
            succeeded.append(index)
        except services.PoolShortage:
            pass

    assert run_threads(work) == []
    assert len(succeeded) == 3  # 3 × 30 ≤ 100 < 4 × 30
    assert pool_balance(msp_org) == 10
    assert ledger_problems() == []
