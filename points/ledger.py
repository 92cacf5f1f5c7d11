"""The ledger's one write primitive, its account look-ups, and the one lock order.

Services (points/services.py, points/settlement.py, billing_jobs, and customers.services through
customers.hooks) open a transaction, lock what they touch, compute amounts from the locked
balances — never from what a user saw — and write each movement with `post`. `post` updates
both balances, the per-account sequence and balance-after columns, and a wallet's stored
estimate (the list's 「M/25の推定残ポイント数」).

The lock order, for every write that touches a customer and its ledger accounts (DESIGN.md §5.1):

1. the customer rows (SELECT … FOR UPDATE, in id order: customers.services.lock_customers);
2. the pools and wallets, in id order;
3. the system accounts (issuance, consumed), last.

`lock_customer_and_accounts` takes 1 and 2 in that order, and `lock_accounts` alone takes 2
then 3, so two writers never wait for each other in opposite orders. A status check that
decides whether points may move is made on the customer row returned by the lock, never on a
copy read before it. The monthly run's chunks (billing_jobs.charging, set-based through
`points.charges`) lock only wallets (in id order) and then `consumed`, and never wait for a
customer row: they cannot close a cycle with a writer that holds one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils.translation import gettext as _

from accounts.models import Organization
from customers.models import CustomerAccount
from customers.services import lock_customers
from msp_portal.errors import DomainError
from msp_portal.permissions import OrganizationKind

from .models import SYSTEM_KINDS, LedgerAccount, LedgerAccountKind, Transfer

TRACKED_KINDS = (LedgerAccountKind.POOL, LedgerAccountKind.WALLET)


def _get_or_create(**lookup) -> LedgerAccount:
    account = LedgerAccount.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        # A savepoint, so a concurrent creator's win does not break the caller's transaction.
        with transaction.atomic():
            return LedgerAccount.objects.create(**lookup)
    except IntegrityError:
        return LedgerAccount.objects.get(**lookup)


POOL_KINDS = (OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP)


class NoPool(LookupError):
    """An organization without a live pool: it is not an MSP, or its pool was never opened (a
    broken invariant that `verify_ledger` reports)."""


def open_pool(organization: Organization) -> LedgerAccount | None:
    """Open the point pool of a new MSP organization, in the organization's creating transaction
    (registered with accounts.services.organization_create by PointsConfig.ready). Other kinds
    of organization hold no points."""
    if organization.kind not in POOL_KINDS:
        return None
    return LedgerAccount.objects.create(kind=LedgerAccountKind.POOL, organization_id=organization.pk)


def pool_for(organization: Organization | int) -> LedgerAccount:
    """The MSP's live point pool. It is never created here: a pool created on first use let
    concurrent first uses each create one (the schema's one-pool constraint settles a race
    only where it exists), so it is opened with its organization."""
    organization_id = organization if isinstance(organization, int) else organization.pk
    pool = LedgerAccount.objects.pools().filter(organization_id=organization_id).first()
    if pool is None:
        raise NoPool(f"organization {organization_id} has no point pool")
    return pool


def new_wallet(customer: CustomerAccount, *, balance: int = 0, estimate: int = 0) -> LedgerAccount:
    """An unsaved wallet for `customer`, with the copy of its MSP that the list's points sorts use
    (points.models.LedgerAccount)."""
    return LedgerAccount(
        kind=LedgerAccountKind.WALLET,
        customer_id=customer.pk,
        msp_id=customer.organization_id,
        balance=balance,
        estimated_balance=estimate,
    )


def open_wallet(customer: CustomerAccount) -> LedgerAccount:
    """Open the wallet of a new customer (in the customer's creating transaction): every
    customer has one, since the list reads its points and sorts by them from there."""
    wallet = new_wallet(customer)
    wallet.save()
    return wallet


def open_wallets(customers: list[CustomerAccount]) -> None:
    """`open_wallet` for customers created together (demo data, bulk loads)."""
    LedgerAccount.objects.bulk_create([new_wallet(customer) for customer in customers], batch_size=1000)


def wallet_for(customer: CustomerAccount | int) -> LedgerAccount:
    """The customer's wallet (opened now if the customer somehow has none)."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    wallet = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=customer_id).first()
    if wallet is not None:
        return wallet
    owner = CustomerAccount.objects.only("organization_id").get(pk=customer_id)
    try:
        # A savepoint, so a concurrent opener's win does not break the caller's transaction.
        with transaction.atomic():
            return open_wallet(owner)
    except IntegrityError:
        return LedgerAccount.objects.get(kind=LedgerAccountKind.WALLET, customer_id=customer_id)


def system_account(kind: str) -> LedgerAccount:
    if kind not in SYSTEM_KINDS:
        raise ValueError(kind)
    return _get_or_create(kind=kind)


def lock_accounts(*accounts: LedgerAccount | int) -> dict[int, LedgerAccount]:
    """Lock the ledger accounts (SELECT … FOR UPDATE: pools and wallets in id order, then the
    system accounts) and return fresh copies by id. Must run inside `transaction.atomic()`,
    after any customer row lock (`lock_customer_and_accounts`)."""
    ids = sorted({a if isinstance(a, int) else a.pk for a in accounts})
    system_last = Case(When(kind__in=SYSTEM_KINDS, then=Value(1)), default=Value(0))
    locked = list(LedgerAccount.objects.select_for_update().filter(pk__in=ids).order_by(system_last, "pk"))
    return {account.pk: account for account in locked}


def lock_customer_and_accounts(
    customer_id: int, *accounts: LedgerAccount | int
) -> tuple[CustomerAccount, dict[int, LedgerAccount]]:
    """Lock, in the one order of this module, the customer row and then the given ledger
    accounts; return the customer as locked and fresh copies of the accounts by id. Must run
    inside `transaction.atomic()`. Raises CustomerAccount.DoesNotExist for an unknown id."""
    customer = lock_customers([customer_id]).get(customer_id)
    if customer is None:
        raise CustomerAccount.DoesNotExist(customer_id)
    return customer, lock_accounts(*accounts) if accounts else {}


def lock_for_lifecycle(customer_id: int, *, wallet: bool = False, pool: bool = False) -> CustomerAccount:
    """A customers service's lock (customers.hooks.lock_with_ledger): the account's row, then
    with `wallet` its wallet and with `pool` its wallet and the MSP's pool, in this module's
    order; the row as locked. The wallet for the services that change what the stored estimate
    depends on (status, contracted users, cancellation date), which they then rewrite; the pool
    for an ending that moves the account's points (an application's return, a settlement)."""
    accounts = []
    if wallet or pool:
        accounts.append(wallet_for(customer_id))
    if pool:
        organization_id = CustomerAccount.objects.values_list("organization_id", flat=True).get(pk=customer_id)
        accounts.append(pool_for(organization_id))
    locked, _accounts = lock_customer_and_accounts(customer_id, *accounts)
    return locked


def fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def find_replay(idempotency_key: str, request_hash: str) -> Transfer | None:
    """The transfer already posted under this key, if any. The same key with a different
    request is refused: a form token must never move points for another request."""
    existing = Transfer.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and request_hash and existing.request_hash and existing.request_hash != request_hash:
        raise DomainError(_("This form was already submitted with different values. Reload the page and try again."))
    return existing


def post(
    *,
    kind: str,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: int,
    idempotency_key: str,
    request_hash: str = "",
    actor=None,
    customer: CustomerAccount | int | None = None,
    period: str = "",
    memo: str = "",
    order_reference: str = "",
    snapshot: dict[str, Any] | None = None,
    reverses: Transfer | None = None,
) -> Transfer:
    """Move `amount` points from `debit` to `credit`; both must be locked by `lock_accounts` in
    the caller's transaction. Balance rules (pools not below zero, ...) are the caller's."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("post() must run inside the caller's transaction, after lock_accounts().")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValueError(f"amount must be a positive integer, not {amount!r}")
    if debit.pk == credit.pk:
        raise ValueError("a transfer needs two different accounts")
    fields: dict[str, Any] = {}
    debit.balance -= amount
    credit.balance += amount
    for side, account, delta in (("debit", debit, -amount), ("credit", credit, amount)):
        update: dict[str, Any] = {"balance": account.balance}
        if account.kind in TRACKED_KINDS:
            account.last_seq += 1
            update["last_seq"] = account.last_seq
            fields[f"{side}_seq"] = account.last_seq
            fields[f"{side}_balance_after"] = account.balance
        if account.kind == LedgerAccountKind.WALLET:
            # The estimate is balance minus the next charge, and a balance change does not change
            # the next charge, so it moves by the same delta.
            update["estimated_balance"] = F("estimated_balance") + delta
        LedgerAccount.objects.filter(pk=account.pk).update(**update)
    customer_id = customer if isinstance(customer, int) or customer is None else customer.pk
    transfer = Transfer.objects.create(
        kind=kind,
        debit_account=debit,
        credit_account=credit,
        amount=amount,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        customer_id=customer_id,
        period=period,
        memo=memo,
        order_reference=order_reference,
        snapshot=snapshot,
        reverses=reverses,
        **fields,
    )
    return transfer
