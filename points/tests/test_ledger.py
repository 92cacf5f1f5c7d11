import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from customers.models import CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates
from points import ledger
from points.estimates import refresh_estimates
from points.models import LedgerAccountKind, Transfer, TransferKind
from points.rules import consumption_for

pytestmark = pytest.mark.django_db


def _move(kind, debit, credit, amount, key, **kwargs):
    with transaction.atomic():
        locked = ledger.lock_accounts(debit, credit)
        return ledger.post(
            kind=kind, debit=locked[debit.pk], credit=locked[credit.pk], amount=amount, idempotency_key=key, **kwargs
        )


def test_the_default_rule_charges_base_points_and_one_point_per_user_beyond_ten():
    day = dt.date(2026, 11, 25)
    assert consumption_for(1, day) == 10
    assert consumption_for(10, day) == 10
    assert consumption_for(11, day) == 11
    assert consumption_for(250, day) == 250


def test_a_transfer_moves_points_and_records_sequence_and_balance_after(msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    pool, wallet = ledger.pool_for(msp_org), ledger.wallet_for(customer)
    issuance = ledger.system_account(LedgerAccountKind.ISSUANCE)
    _move(TransferKind.PURCHASE, issuance, pool, 1000, "t1")
    transfer = _move(TransferKind.ALLOCATE, pool, wallet, 300, "t2", customer=customer)
    pool.refresh_from_db()
    wallet.refresh_from_db()
    issuance.refresh_from_db()
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert (issuance.balance, pool.balance, wallet.balance) == (-1000, 700, 300)
    assert (transfer.debit_seq, transfer.debit_balance_after) == (2, 700)
    assert (transfer.credit_seq, transfer.credit_balance_after) == (1, 300)
    assert customer.points_balance == 300


def test_transfers_cannot_be_changed_or_deleted(msp_org):
    pool = ledger.pool_for(msp_org)
    transfer = _move(TransferKind.PURCHASE, ledger.system_account("issuance"), pool, 5, "t1")
    with pytest.raises(TypeError):
        transfer.save()
    with pytest.raises(TypeError):
        Transfer.objects.filter(pk=transfer.pk).update(amount=6)
    with pytest.raises(TypeError):
        transfer.delete()


def test_the_database_refuses_a_second_consumption_for_the_same_wallet_and_month(msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    wallet, consumed = ledger.wallet_for(customer), ledger.system_account("consumed")
    _move(TransferKind.CONSUMPTION, wallet, consumed, 20, "consume:a", customer=customer, period="2026-11")
    with pytest.raises(IntegrityError), transaction.atomic():
        _move(TransferKind.CONSUMPTION, wallet, consumed, 20, "consume:b", customer=customer, period="2026-11")


def test_a_repeated_idempotency_key_is_refused_by_the_database(msp_org):
    pool = ledger.pool_for(msp_org)
    issuance = ledger.system_account("issuance")
    _move(TransferKind.PURCHASE, issuance, pool, 5, "same")
    with pytest.raises(IntegrityError), transaction.atomic():
        _move(TransferKind.PURCHASE, issuance, pool, 5, "same")


@pytest.mark.parametrize(
    ("today", "charged", "expected"),
    [
        (dt.date(2026, 11, 24), False, 100 - 20),  # the 25th ahead
        (dt.date(2026, 11, 25), False, 100 - 20),  # the 25th, not yet charged
        (dt.date(2026, 11, 25), True, 80 - 20),  # charged: next month's 25th
        (dt.date(2026, 11, 26), True, 80 - 20),
    ],
)
def test_the_estimate_subtracts_the_next_charge(msp_org, today, charged, expected):
    with time_machine.travel(dt.datetime(2026, 10, 1, tzinfo=dates.TOKYO), tick=False):
        customer = CustomerAccountFactory(
            organization=msp_org, contracted_users=20, activated_at=dates.start_of_day(dt.date(2026, 10, 1))
        )
    pool, wallet = ledger.pool_for(msp_org), ledger.wallet_for(customer)
    _move(TransferKind.ALLOCATE, pool, wallet, 100, "alloc", customer=customer)
    if charged:
        _move(
            TransferKind.CONSUMPTION,
            wallet,
            ledger.system_account("consumed"),
            20,
            "c",
            customer=customer,
            period="2026-11",
        )
    refresh_estimates(today=today)
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).estimated_balance == expected


def test_an_account_cancelled_before_the_next_25th_is_estimated_at_its_balance(msp_org):
    customer = CustomerAccountFactory(
        organization=msp_org,
        contracted_users=20,
        activated_at=dates.start_of_day(dt.date(2026, 10, 1)),
        cancellation_date=dt.date(2026, 11, 25),
    )
    refresh_estimates(today=dt.date(2026, 11, 20))
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert customer.estimated_balance == customer.points_balance == 0
