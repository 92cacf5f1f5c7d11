"""Accounts in a known state for the billing tests, built through the ledger primitives."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Sum

from customers.models import ContractChange, CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates
from points import ledger
from points.models import LedgerAccount, LedgerAccountKind, Transfer, TransferKind


def at(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dates.start_of_day(day) + dt.timedelta(hours=hour, minutes=minute)


def active_customer(organization, *, activated: dt.datetime, users: int = 20, points: int = 0, **fields):
    """An active account activated at `activated` with its contract history row, and `points`
    allocated from its MSP's pool (bought from issuance first)."""
    customer = CustomerAccountFactory(
        organization=organization, contracted_users=users, status="active", activated_at=activated, **fields
    )
    ContractChange.objects.create(
        customer=customer, old_users=None, new_users=users, effective_at=activated or customer.registered_at
    )
    if points:
        buy(organization, points)
        move(
            TransferKind.ALLOCATE, ledger.pool_for(organization), ledger.wallet_for(customer), points, customer=customer
        )
    return customer


_counter = iter(range(1, 10**9))


def move(kind, debit, credit, amount, *, idempotency_key: str | None = None, **kwargs):
    """Post one transfer as it is, whatever the services would allow (data as a bug left it)."""
    with transaction.atomic():
        locked = ledger.lock_accounts(debit, credit)
        return ledger.post(
            kind=kind,
            debit=locked[debit.pk],
            credit=locked[credit.pk],
            amount=amount,
            idempotency_key=idempotency_key or f"test:{next(_counter)}",
            **kwargs,
        )


def buy(organization, points: int) -> None:
    move(
        TransferKind.PURCHASE, ledger.system_account(LedgerAccountKind.ISSUANCE), ledger.pool_for(organization), points
    )


def change_users(customer, new_users: int, effective: dt.datetime) -> None:
    ContractChange.objects.create(
        customer=customer, old_users=customer.contracted_users, new_users=new_users, effective_at=effective
    )
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(contracted_users=new_users)
    customer.refresh_from_db()


def consumptions(customer=None, period: str | None = None):
    queryset = Transfer.objects.filter(kind=TransferKind.CONSUMPTION)
    if customer is not None:
        queryset = queryset.filter(customer=customer)
    if period is not None:
        queryset = queryset.filter(period=period)
    return queryset


def balance_of(customer) -> int:
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    return customer.points_balance


def assert_ledger_consistent() -> None:
    """The ledger invariants (DESIGN.md §5.1): stored balances equal their transfers' sums,
    everything sums to zero, the sequences are gap-free, the customer columns follow."""
    for account in LedgerAccount.objects.all():
        credits = Transfer.objects.filter(credit_account=account).aggregate(s=Sum("amount"))["s"] or 0
        debits = Transfer.objects.filter(debit_account=account).aggregate(s=Sum("amount"))["s"] or 0
        assert account.balance == credits - debits, account
        if account.kind in (LedgerAccountKind.POOL, LedgerAccountKind.WALLET):
            seqs = sorted(
                list(Transfer.objects.filter(debit_account=account).values_list("debit_seq", flat=True))
                + list(Transfer.objects.filter(credit_account=account).values_list("credit_seq", flat=True))
            )
            assert seqs == list(range(1, len(seqs) + 1)), account
            assert account.last_seq == len(seqs), account
        if account.kind == LedgerAccountKind.WALLET:
            assert CustomerAccount.objects.with_points().get(pk=account.customer_id).points_balance == account.balance
    assert (LedgerAccount.objects.aggregate(s=Sum("balance"))["s"] or 0) == 0
