"""Writes that move points (DESIGN.md §5). Each service is one transaction (`retried_atomic`:
run once more if it overlapped with another one), locks what it touches in the one order of
`points.ledger` (the customer row, then the ledger accounts in id order:
`ledger.lock_customer_and_accounts`), decides on the rows as locked — the customer's status,
the balances — posts through `ledger.post`, and audits itself.

Idempotency: every service takes the key of the request that asked for it (a form token minted
when the form was rendered, or a key a job derives). The key is checked again *under the lock*,
so a double click that raced past the first check finds the first transfer once it gets the
lock, and returns it instead of moving points twice. The same key with another payload is
refused (`ledger.find_replay`).

Points move only on accounts in `POINTS_STATUSES` (provisioning, provisioning failed, active):
an application holds none, and a cancelled or merged account's wallet moves only by its
settlement (points.settlement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.services import audit_record
from customers import hooks as customer_hooks
from customers.lifecycle import POINTS_STATUSES
from customers.models import CustomerAccount, CustomerStatus, CustomerStatusChange
from msp_portal import dates
from msp_portal.errors import DomainError, retried_atomic

from . import ledger
from .estimates import refresh_estimates
from .models import ConsumptionRule, LedgerAccount, LedgerAccountKind, Transfer, TransferKind

# The largest amount one operation may move. Far above any real order (a million contracted
# users for five years is 60,000,000 points), so it only catches typing mistakes (extra zeros),
# and it keeps every balance far from the 64-bit limit of the columns however many transfers.
MAX_POINTS = 1_000_000_000
# The most accounts one replenish may touch: every one of them is locked for the transaction.
MAX_REPLENISH_ACCOUNTS = 1000
REASON_MAX_LENGTH = 1000
ORDER_REFERENCE_MAX_LENGTH = 100


class PoolShortage(DomainError):
    """The MSP pool cannot pay; `missing` is how many points it lacks."""

    def __init__(self, *, available: int, needed: int):
        self.available, self.needed, self.missing = available, needed, needed - available
        super().__init__(
            _(
                "The MSP point pool has %(available)s points but %(needed)s are needed: %(missing)s points "
                "are missing. Buy points from your SingleID distributor, then try again."
            )
            % {"available": f"{available:,}", "needed": f"{needed:,}", "missing": f"{self.missing:,}"}
        )


class NegativeBalanceNotConfirmed(DomainError):
    """Removing the points would take the wallet below zero, and the user has not confirmed."""

    def __init__(self, *, balance: int, amount: int):
        self.balance, self.amount, self.result = balance, amount, balance - amount
        super().__init__(
            _(
                "After removing %(amount)s points the current points will be %(result)s, a shortage. "
                "If the points stay negative the customer can no longer use SingleID."
            )
            % {"amount": f"{amount:,}", "result": f"{self.result:,}"}
        )


def validate_amount(amount) -> int:
    """A positive whole number of points, at most MAX_POINTS; else a DomainError."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise DomainError(_("Enter the points as a whole number."))
    if amount <= 0:
        raise DomainError(_("Enter a number of points greater than zero."))
    if amount > MAX_POINTS:
        raise DomainError(_("One operation can move at most %(max)s points.") % {"max": f"{MAX_POINTS:,}"})
    return amount


def _check_changeable(customer: CustomerAccount) -> None:
    """Refuse to move the points of an account outside POINTS_STATUSES; `customer` must be the
    row as locked by this transaction."""
    if customer.status not in POINTS_STATUSES:
        raise DomainError(
            _("The points of a %(status)s account cannot be changed.") % {"status": customer.get_status_display()}
        )


def _change(kind: str, points: int, transfer: Transfer) -> dict:
    """What a points.changed event says of the move (the customer's balance is in the event)."""
    return {"change": {"kind": kind, "points": points, "transfer_id": transfer.pk}}


def _publish_replenished(kind: str, lines) -> None:
    """One points.changed event per replenished account, asked of the webhooks at once."""
    customer_hooks.customer_events(
        "points.changed",
        [
            (
                CustomerAccount(pk=line.customer_id, organization_id=line.organization_id),
                _change(kind, line.points, line.transfer),
            )
            for line in lines
            if line.points and line.transfer is not None
        ],
    )


def _replayed(idempotency_key: str, request_hash: str) -> Transfer | None:
    return ledger.find_replay(idempotency_key, request_hash)


def _audit_transfer(actor, action: str, transfer: Transfer, *, organization=None, customer=None, **extra) -> None:
    after = {
        "transfer": transfer.pk,
        "kind": transfer.kind,
        "amount": transfer.amount,
        "debit": str(transfer.debit_account),
        "credit": str(transfer.credit_account),
        "debit_balance_after": transfer.debit_balance_after,
        "credit_balance_after": transfer.credit_balance_after,
        **extra,
    }
    audit_record(actor=actor, action=action, obj=transfer, organization=organization, customer=customer, after=after)


@retried_atomic
def points_purchase(
    *, actor: User | None, organization: Organization, amount: int, order_reference: str, idempotency_key: str
) -> Transfer:
    """Record points an MSP bought from the distributor: issuance → the MSP's pool, with the
    order reference. Only MSPs and privileged MSPs have pools. Returns the transfer (the first
    one when the key was already used for the same request)."""
    amount = validate_amount(amount)
    order_reference = (order_reference or "").strip()
    if not order_reference:
        raise DomainError(_("Enter the order reference of the purchase."))
    if len(order_reference) > ORDER_REFERENCE_MAX_LENGTH:
        raise DomainError(_("The order reference is too long."))
    if not organization.is_msp or not organization.is_active:
        raise DomainError(_("Points can only be sold to an active MSP."))
    request_hash = ledger.fingerprint(
        {"op": "purchase", "organization": organization.pk, "amount": amount, "order": order_reference}
    )
    issuance, pool = ledger.system_account(LedgerAccountKind.ISSUANCE), ledger.pool_for(organization)
    locked = ledger.lock_accounts(issuance, pool)
    if (replay := _replayed(idempotency_key, request_hash)) is not None:
        return replay
    transfer = ledger.post(
        kind=TransferKind.PURCHASE,
        debit=locked[issuance.pk],
        credit=locked[pool.pk],
        amount=amount,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        actor=actor,
        order_reference=order_reference,
    )
    _audit_transfer(actor, "points.purchase", transfer, organization=organization, order_reference=order_reference)
    return transfer


@retried_atomic
def points_allocate(*, actor: User | None, customer: CustomerAccount, amount: int, idempotency_key: str) -> Transfer:
    """Add points to a customer (追加): the MSP's pool → the customer's wallet. Refused with
    `PoolShortage` (nothing changed) when the pool, read under the lock, cannot pay."""
    amount = validate_amount(amount)
    request_hash = ledger.fingerprint({"op": "allocate", "customer": customer.pk, "amount": amount})
    pool, wallet = ledger.pool_for(customer.organization_id), ledger.wallet_for(customer)
    customer, locked = ledger.lock_customer_and_accounts(customer.pk, pool, wallet)
    if (replay := _replayed(idempotency_key, request_hash)) is not None:
        return replay
    _check_changeable(customer)
    pool, wallet = locked[pool.pk], locked[wallet.pk]
    if pool.balance < amount:
        raise PoolShortage(available=pool.balance, needed=amount)
    before = wallet.balance
    transfer = ledger.post(
        kind=TransferKind.ALLOCATE,
        debit=pool,
        credit=wallet,
        amount=amount,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        actor=actor,
        customer=customer,
    )
    _audit_transfer(
        actor, "points.allocate", transfer, organization=customer.organization, customer=customer, before=before
    )
    customer_hooks.customer_events("points.changed", [(customer, _change("allocate", amount, transfer))])
    return transfer


@retried_atomic
def points_withdraw(
    *, actor: User | None, customer: CustomerAccount, amount: int, idempotency_key: str, allow_negative: bool = False
) -> Transfer:
    """Remove points from a customer (削除): the customer's wallet → the MSP's pool. The wallet
    may go negative (DESIGN.md §5.2), but only with `allow_negative`: without it a result below
    zero — judged on the balance read under the lock — raises `NegativeBalanceNotConfirmed`."""
    amount = validate_amount(amount)
    request_hash = ledger.fingerprint({"op": "withdraw", "customer": customer.pk, "amount": amount})
    pool, wallet = ledger.pool_for(customer.organization_id), ledger.wallet_for(customer)
    customer, locked = ledger.lock_customer_and_accounts(customer.pk, pool, wallet)
    if (replay := _replayed(idempotency_key, request_hash)) is not None:
        return replay
    _check_changeable(customer)
    pool, wallet = locked[pool.pk], locked[wallet.pk]
    if wallet.balance - amount < 0 and not allow_negative:
        raise NegativeBalanceNotConfirmed(balance=wallet.balance, amount=amount)
    before = wallet.balance
    transfer = ledger.post(
        kind=TransferKind.WITHDRAW,
        debit=wallet,
        credit=pool,
        amount=amount,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        actor=actor,
        customer=customer,
    )
    _audit_transfer(
        actor, "points.withdraw", transfer, organization=customer.organization, customer=customer, before=before
    )
    customer_hooks.customer_events("points.changed", [(customer, _change("withdraw", -amount, transfer))])
    return transfer


def refund_key(customer_id: int, status_change_id: int) -> str:
    return f"refund:{customer_id}:{status_change_id}"


def points_return_from_application(
    *, actor: User | None, customer: CustomerAccount, status_change: CustomerStatusChange
) -> Transfer | None:
    """An application that ends (`status_change`: withdrawn, or returned to the MSP) holds no
    points: a positive balance goes back to the MSP's pool (`settlement_refund`), a negative
    one is made good from it (`settlement_topup`), so the wallet ends at 0. Runs in the
    caller's transaction, which has locked the customer row, its wallet and the pool in the
    ledger's order (customers.services). Key `refund:<customer>:<status change>`: once
    per ending. Returns the transfer, or None when the wallet was at 0."""
    wallet, pool = ledger.wallet_for(customer), ledger.pool_for(customer.organization_id)
    locked = ledger.lock_accounts(wallet, pool)
    wallet, pool = locked[wallet.pk], locked[pool.pk]
    if wallet.balance == 0:
        return None
    before = wallet.balance
    debit, credit = (wallet, pool) if before > 0 else (pool, wallet)
    transfer = ledger.post(
        kind=TransferKind.SETTLEMENT_REFUND if before > 0 else TransferKind.SETTLEMENT_TOPUP,
        debit=debit,
        credit=credit,
        amount=abs(before),
        idempotency_key=refund_key(customer.pk, status_change.pk),
        actor=actor,
        customer=customer,
    )
    _audit_transfer(
        actor,
        "points.application_refund",
        transfer,
        organization=customer.organization,
        customer=customer,
        before=before,
        status=status_change.to_status,
    )
    return transfer


@dataclass
class ReplenishLine:
    customer_id: int
    organization_id: int
    balance: int
    estimate: int
    points: int
    transfer: Transfer | None = None


@dataclass
class ReplenishResult:
    """What a replenish did: one line per account (`points` moved, 0 for an account that needed
    nothing or was skipped), and for the auto-replenish the accounts skipped because their
    MSP's pool could not pay (`points_replenish` refuses the whole batch instead)."""

    lines: list[ReplenishLine] = field(default_factory=list)
    replayed: bool = False
    skipped: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.points for line in self.lines)

    @property
    def transfers(self) -> list[Transfer]:
        return [line.transfer for line in self.lines if line.transfer is not None]


def replenish_key(batch_key: str, customer_id: int) -> str:
    return f"replenish:{batch_key}:{customer_id}"


def auto_replenish_key(run_date: dt.date, customer_id: int) -> str:
    return f"auto-replenish:{run_date.isoformat()}:{customer_id}"


def _wallets_for(customer_ids: list[int]) -> dict[int, LedgerAccount]:
    """The wallets of the customers, creating the missing ones in one statement."""
    existing = {w.customer_id: w for w in LedgerAccount.objects.filter(customer_id__in=customer_ids)}
    for pk in customer_ids:
        if pk not in existing:
            existing[pk] = ledger.wallet_for(pk)
    return existing


def replenish_plan(customers: Iterable[CustomerAccount]) -> list[ReplenishLine]:
    """What replenishing the accounts (read `with_points()`) would add now: −estimate for each
    account whose estimate is negative (0 for the others and for accounts whose points cannot
    move). Used for the preview; the service recomputes it under the lock."""
    lines = []
    for customer in customers:
        points = max(0, -customer.estimated_balance) if customer.status in POINTS_STATUSES else 0
        lines.append(
            ReplenishLine(
                customer_id=customer.pk,
                organization_id=customer.organization_id,
                balance=customer.points_balance,
                estimate=customer.estimated_balance,
                points=points,
            )
        )
    return lines


@dataclass
class _ReplenishLocks:
    """The rows a replenish holds, as locked: customers by id, pools by MSP, wallets by customer."""

    customers: dict[int, CustomerAccount]
    pools: dict[int, LedgerAccount]
    wallets: dict[int, LedgerAccount]


def _lock_for_replenish(customer_ids: list[int]) -> _ReplenishLocks:
    """Lock the customers, then their MSPs' pools and their wallets (the lock order of
    points.ledger), opening any missing wallet first."""
    # An account's MSP never changes: read before the locks, to know which pools to lock.
    organization_ids = sorted(
        set(CustomerAccount.objects.filter(pk__in=customer_ids).values_list("organization_id", flat=True))
    )
    pools = {org_id: ledger.pool_for(org_id) for org_id in organization_ids}
    wallets = _wallets_for(customer_ids)
    customers = ledger.lock_customers(customer_ids)
    locked = ledger.lock_accounts(*pools.values(), *wallets.values())
    return _ReplenishLocks(
        customers=customers,
        pools={org_id: locked[pool.pk] for org_id, pool in pools.items()},
        wallets={pk: locked[wallet.pk] for pk, wallet in wallets.items()},
    )


def _needed(locks: _ReplenishLocks, customer_ids: Iterable[int], statuses) -> list[ReplenishLine]:
    """−estimate for each account in `statuses` whose estimate is negative, 0 for the others:
    status, balance and estimate as read under the locks."""
    lines = []
    for pk in customer_ids:
        wallet, row = locks.wallets[pk], locks.customers[pk]
        points = max(0, -wallet.estimated_balance) if row.status in statuses else 0
        lines.append(ReplenishLine(pk, row.organization_id, wallet.balance, wallet.estimated_balance, points))
    return lines


def _post_replenish(
    locks: _ReplenishLocks, line: ReplenishLine, *, idempotency_key: str, request_hash: str, actor, memo: str
) -> None:
    """Allocate the line's points from its MSP's pool to its wallet (both locked), which brings
    the wallet's estimate to 0."""
    line.transfer = ledger.post(
        kind=TransferKind.ALLOCATE,
        debit=locks.pools[line.organization_id],
        credit=locks.wallets[line.customer_id],
        amount=line.points,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        actor=actor,
        customer=line.customer_id,
        memo=memo,
    )


@retried_atomic
def points_replenish(*, actor: User | None, customers: Iterable[CustomerAccount], batch_key: str) -> ReplenishResult:
    """Replenish needed points (必要ポイントの補充, DESIGN.md §5.5): for each account whose
    estimate is negative, allocate exactly −estimate from its MSP's pool so the estimate
    becomes 0. Amounts come from the balances and stored estimates read under the locks of all
    the touched pools and wallets. All or nothing: when any pool cannot pay its accounts'
    total, `PoolShortage` is raised and nothing changes. Keys `replenish:<batch>:<account>`; a
    repeated batch returns the first result."""
    customer_ids = sorted({c.pk for c in customers})
    if not customer_ids:
        raise DomainError(_("Select at least one customer account."))
    if len(customer_ids) > MAX_REPLENISH_ACCOUNTS:
        raise DomainError(
            _("Select at most %(max)s customer accounts at a time.") % {"max": f"{MAX_REPLENISH_ACCOUNTS:,}"}
        )
    request_hash = ledger.fingerprint({"op": "replenish", "customers": customer_ids})
    locks = _lock_for_replenish(customer_ids)

    keys = [replenish_key(batch_key, pk) for pk in customer_ids]
    done = list(Transfer.objects.filter(idempotency_key__in=keys))
    if done:
        if any(t.request_hash != request_hash for t in done):
            raise DomainError(
                _("This form was already submitted with different values. Reload the page and try again.")
            )
        by_customer = {t.customer_id: t for t in done}
        current = CustomerAccount.objects.with_points().filter(pk__in=customer_ids).order_by("pk")
        lines = replenish_plan(current)
        for line in lines:
            line.transfer = by_customer.get(line.customer_id)
            line.points = line.transfer.amount if line.transfer else 0
        return ReplenishResult(lines=lines, replayed=True)

    lines = _needed(locks, customer_ids, POINTS_STATUSES)
    needed_by_pool: dict[int, int] = {}
    for line in lines:
        needed_by_pool[line.organization_id] = needed_by_pool.get(line.organization_id, 0) + line.points
    for org_id, needed in needed_by_pool.items():
        available = locks.pools[org_id].balance
        if needed > available:
            raise PoolShortage(available=available, needed=needed)

    for line in lines:
        if line.points == 0:
            continue
        _post_replenish(
            locks,
            line,
            idempotency_key=replenish_key(batch_key, line.customer_id),
            request_hash=request_hash,
            actor=actor,
            memo="replenish",
        )
        _audit_replenish(actor, line, batch_key)
    _publish_replenished("replenish", lines)
    return ReplenishResult(lines=lines)


def _audit_replenish(actor, line: ReplenishLine, batch_key: str) -> None:
    audit_record(
        actor=actor,
        action="points.replenish",
        obj=line.transfer,
        organization=Organization(pk=line.organization_id),
        customer=CustomerAccount(pk=line.customer_id),
        after={
            "transfer": line.transfer.pk,
            "batch": batch_key,
            "points": line.points,
            "balance_before": line.balance,
            "estimate_before": line.estimate,
        },
    )


@retried_atomic
def points_auto_replenish(*, customer_ids: Iterable[int], run_date: dt.date) -> ReplenishResult:
    """The auto-replenish of the reminder day `run_date` (DESIGN.md §5.6), for a batch of
    accounts (at most MAX_REPLENISH_ACCOUNTS) in one transaction: each active account whose
    estimate, read under the locks, is negative gets exactly −estimate from its MSP's pool if
    the pool can still pay it, taken in (MSP, account) order; the others are skipped
    (`skipped`), not refused. The job's own write: no actor. Keys
    `auto-replenish:<date>:<account>`, checked under the locks: an account is replenished at
    most once a day, however often the day's run is repeated."""
    customer_ids = sorted(set(customer_ids))
    if len(customer_ids) > MAX_REPLENISH_ACCOUNTS:
        raise ValueError(f"at most {MAX_REPLENISH_ACCOUNTS} accounts a batch, not {len(customer_ids)}")
    result = ReplenishResult()
    if not customer_ids:
        return result
    locks = _lock_for_replenish(customer_ids)
    keys = [auto_replenish_key(run_date, pk) for pk in customer_ids]
    done = set(Transfer.objects.filter(idempotency_key__in=keys).values_list("customer_id", flat=True))
    lines = _needed(locks, (pk for pk in customer_ids if pk not in done), (CustomerStatus.ACTIVE,))
    for line in sorted(lines, key=lambda line: (line.organization_id, line.customer_id)):
        result.lines.append(line)
        if line.points == 0:
            continue
        if locks.pools[line.organization_id].balance < line.points:
            result.skipped.append(line.customer_id)
            line.points = 0
            continue
        _post_replenish(
            locks,
            line,
            idempotency_key=auto_replenish_key(run_date, line.customer_id),
            request_hash="",
            actor=None,
            memo="auto-replenish",
        )
        customer = locks.customers[line.customer_id]
        audit_record(
            actor=None,
            action="points.auto_replenish",
            obj=customer,
            organization=customer.organization,
            before={"estimated_balance": line.estimate},
            after={"estimated_balance": 0, "points": line.points},
        )
    _publish_replenished("auto_replenish", result.lines)
    return result


@retried_atomic
def points_adjust(
    *, actor: User | None, account: LedgerAccount, amount: int, reason: str, idempotency_key: str
) -> Transfer:
    """An operator's correction of a pool or a wallet against issuance, with a mandatory
    reason: a positive `amount` adds points, a negative one removes them. A wallet may go
    negative; an MSP pool may not (only cancellation settlement may put a pool in debt). A
    wallet is adjusted only while its account's points may move (POINTS_STATUSES)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise DomainError(_("Enter a whole number of points other than zero (negative to remove points)."))
    size = validate_amount(abs(amount))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Enter the reason for the adjustment."))
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(_("The reason is too long."))
    if account.kind not in (LedgerAccountKind.POOL, LedgerAccountKind.WALLET):
        raise DomainError(_("Only an MSP pool or a customer wallet can be adjusted."))
    request_hash = ledger.fingerprint({"op": "adjust", "account": account.pk, "amount": amount, "reason": reason})
    issuance = ledger.system_account(LedgerAccountKind.ISSUANCE)
    customer = None
    if account.kind == LedgerAccountKind.WALLET:
        customer, locked = ledger.lock_customer_and_accounts(account.customer_id, account, issuance)
    else:
        locked = ledger.lock_accounts(account, issuance)
    if (replay := _replayed(idempotency_key, request_hash)) is not None:
        return replay
    if customer is not None:
        _check_changeable(customer)
    target = locked[account.pk]
    if amount < 0 and target.kind == LedgerAccountKind.POOL and target.balance < size:
        raise PoolShortage(available=target.balance, needed=size)
    debit, credit = (locked[issuance.pk], target) if amount > 0 else (target, locked[issuance.pk])
    transfer = ledger.post(
        kind=TransferKind.ADJUSTMENT,
        debit=debit,
        credit=credit,
        amount=size,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        actor=actor,
        customer=customer,
        memo=reason,
    )
    organization = customer.organization if customer is not None else account.organization
    _audit_transfer(actor, "points.adjust", transfer, organization=organization, customer=customer, reason=reason)
    return transfer


@retried_atomic
def transfer_reverse(*, actor: User | None, transfer: Transfer, reason: str) -> Transfer:
    """Correct a mistaken transfer by posting its mirror image (an `adjustment` from its credit
    side back to its debit side, linked by `reverses`); the original stays as it was. A
    transfer is reversed at most once (key `reverse:<id>` and the one-to-one link), a
    reversal is not itself reversed, a reversal may not take an MSP pool below zero, and a
    transfer of an account whose points can no longer move (a settled one) is not reversed."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Enter the reason for the reversal."))
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(_("The reason is too long."))
    if transfer.reverses_id is not None:
        raise DomainError(_("A reversal cannot be reversed; record a new operation instead."))
    idempotency_key = f"reverse:{transfer.pk}"
    request_hash = ledger.fingerprint({"op": "reverse", "transfer": transfer.pk})
    accounts = (transfer.debit_account_id, transfer.credit_account_id)
    customer = None
    if transfer.customer_id is not None:
        customer, locked = ledger.lock_customer_and_accounts(transfer.customer_id, *accounts)
    else:
        locked = ledger.lock_accounts(*accounts)
    if (replay := _replayed(idempotency_key, request_hash)) is not None:
        return replay
    if customer is not None:
        _check_changeable(customer)
    debit, credit = locked[transfer.credit_account_id], locked[transfer.debit_account_id]
    if debit.kind == LedgerAccountKind.POOL and debit.balance < transfer.amount:
        raise PoolShortage(available=debit.balance, needed=transfer.amount)
    reversal = ledger.post(
        kind=TransferKind.ADJUSTMENT,
        debit=debit,
        credit=credit,
        amount=transfer.amount,
        idempotency_key=idempotency_key,
        request_hash=request_hash,
        actor=actor,
        customer=transfer.customer_id,
        memo=reason,
        reverses=transfer,
    )
    organization = customer.organization if customer is not None else (debit.organization or credit.organization)
    _audit_transfer(
        actor,
        "points.reverse",
        reversal,
        organization=organization,
        customer=customer,
        reverses=transfer.pk,
        reason=reason,
    )
    return reversal


@retried_atomic
def consumption_rule_create(
    *,
    actor: User | None,
    effective_from: dt.date,
    base_points: int,
    included_users: int,
    points_per_extra_user: int,
    memo: str = "",
) -> ConsumptionRule:
    """Add a consumption rule taking effect on a future date (rules in force are never edited,
    so past charges and their snapshots stay explainable), then recompute every stored
    estimate, whose next charge may now follow the new rule."""
    if effective_from <= dates.today():
        raise DomainError(_("A new rule must take effect on a future date."))
    for value in (base_points, included_users, points_per_extra_user):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_POINTS:
            raise DomainError(_("Enter whole numbers from 0 to %(max)s.") % {"max": f"{MAX_POINTS:,}"})
    if ConsumptionRule.objects.filter(effective_from=effective_from).exists():
        raise DomainError(_("A rule already takes effect on that date."))
    rule = ConsumptionRule.objects.create(
        effective_from=effective_from,
        base_points=base_points,
        included_users=included_users,
        points_per_extra_user=points_per_extra_user,
        memo=(memo or "").strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="points.rule_create",
        obj=rule,
        after={
            "effective_from": effective_from,
            "base_points": base_points,
            "included_users": included_users,
            "points_per_extra_user": points_per_extra_user,
        },
    )
    refresh_estimates()
    return rule


@retried_atomic
def consumption_rule_delete(*, actor: User | None, rule: ConsumptionRule) -> None:
    """Withdraw a rule that has not taken effect yet (nothing was ever charged by it), then
    recompute the stored estimates."""
    rule = ConsumptionRule.objects.select_for_update().get(pk=rule.pk)
    if rule.effective_from <= dates.today():
        raise DomainError(_("A rule in force cannot be changed; add a new rule instead."))
    before = {
        "effective_from": rule.effective_from,
        "base_points": rule.base_points,
        "included_users": rule.included_users,
        "points_per_extra_user": rule.points_per_extra_user,
    }
    audit_record(actor=actor, action="points.rule_delete", obj=rule, before=before)
    rule.delete()
    refresh_estimates()
