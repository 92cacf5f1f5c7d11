"""A cancellation's settlement (解約, DESIGN.md §6): what it posts, and posting it.

Settlement, in the same transaction as the status change (customers.services, which locks the
customer row, its wallet and the MSP's pool first: the ledger's one order), then `consumed`:
first every charge the account still owes (`settlement_for`: each 25th it was active on that no
run has charged yet, however old), then a negative balance is topped up from the MSP's pool
(`settlement_topup`; only here may a pool go below zero) and a positive one forfeited
(`settlement_forfeit`), so the wallet ends at exactly 0. The settlement's idempotency key
`settle:<customer id>` makes a second settlement impossible, and once the account is cancelled
no point moves on it again (points.services, and the run's eligibility, billing_jobs.selectors).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from accounts.models import User
from customers.lifecycle import CustomerStatus
from customers.models import CustomerAccount
from customers.selectors import contracted_users_at
from msp_portal import dates

from . import ledger
from .models import ConsumptionRule, LedgerAccount, LedgerAccountKind, Transfer, TransferKind
from .rules import consumption_key, rule_at, snapshot_for
from .selectors import pool_balance


def settlement_key(customer_id: int) -> str:
    return f"settle:{customer_id}"


@dataclass(frozen=True)
class OwedCharge:
    """One 25th the account pays at its settlement, with the inputs its charge snapshots."""

    period: str
    charge_day: dt.date
    users: int
    rule: ConsumptionRule
    amount: int
    # A 25th still to come (a scheduled date's estimate): its users and rule are today's.
    estimated: bool


@dataclass(frozen=True)
class Settlement:
    """What cancelling the account posts: first every charge it still owes, then the balance
    that is left is topped up from the MSP's pool (negative) or forfeited (positive)."""

    balance: int
    charges: tuple[OwedCharge, ...]
    cancellation_date: dt.date | None

    @property
    def owed(self) -> int:
        return sum(charge.amount for charge in self.charges)

    @property
    def after_charges(self) -> int:
        return self.balance - self.owed

    @property
    def topup(self) -> int:
        return max(0, -self.after_charges)

    @property
    def forfeit(self) -> int:
        return max(0, self.after_charges)

    @property
    def estimated(self) -> bool:
        return any(charge.estimated for charge in self.charges)


def _charge_days(first_after: dt.datetime, last: dt.date) -> list[dt.date]:
    """The 25ths from the first one after the moment `first_after` up to `last`, oldest first."""
    day = dates.charge_date(dates.period_of(first_after.astimezone(dates.TOKYO).date()))
    if dates.start_of_day(day) <= first_after:
        day = dates.add_months(day, 1)
    days = []
    while day <= last:
        days.append(day)
        day = dates.add_months(day, 1)
    return days


def settlement_for(
    customer: CustomerAccount, *, today: dt.date | None = None, cancellation_date: dt.date | None = None
) -> Settlement:
    """The settlement of an active account cancelled now (`cancellation_date` None) or at 00:00
    JST of `cancellation_date`, from its wallet as it is now. It charges every 25th the account
    owes and has not paid: activated before 00:00 of that day, and the cancellation not dated on
    or before it (the eligibility of billing_jobs.selectors, applied to the date in question);
    for a cancellation now, the 25ths up to today, cut by a scheduled date already reached. A
    25th after `today` is an estimate: charged at today's contracted users and the rule known for
    that day. The one computation behind the 解約 and 解約予定日 popups, the dry run and the
    settlement itself (`settle_for_cancellation`), which calls it under its locks."""
    today = today or dates.today()
    wallet = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=customer.pk).first()
    balance = wallet.balance if wallet is not None else 0
    if customer.status != CustomerStatus.ACTIVE or customer.activated_at is None:
        return Settlement(balance, (), cancellation_date)

    def last_before(day: dt.date) -> dt.date:
        return dates.charge_date(dates.latest_due_period(day - dt.timedelta(days=1)))

    if cancellation_date is not None:
        last = last_before(cancellation_date)
    else:
        last = dates.charge_date(dates.latest_due_period(today))
        if customer.cancellation_date is not None:
            last = min(last, last_before(customer.cancellation_date))
    days = _charge_days(customer.activated_at, last)
    if wallet is not None and days:
        charged = set(
            Transfer.objects.filter(
                kind=TransferKind.CONSUMPTION,
                debit_account_id=wallet.pk,
                period__in=[dates.period_of(day) for day in days],
            ).values_list("period", flat=True)
        )
        days = [day for day in days if dates.period_of(day) not in charged]
    if not days:
        return Settlement(balance, (), cancellation_date)
    users = (
        CustomerAccount.objects.filter(pk=customer.pk)
        .annotate(**{f"users_{index}": contracted_users_at(dates.start_of_day(day)) for index, day in enumerate(days)})
        .values(*(f"users_{index}" for index in range(len(days))))
        .get()
    )
    charges = []
    for index, day in enumerate(days):
        rule = rule_at(day)
        amount = rule.consumption(users[f"users_{index}"])
        if amount > 0:
            charges.append(
                OwedCharge(dates.period_of(day), day, users[f"users_{index}"], rule, amount, estimated=day > today)
            )
    return Settlement(balance, tuple(charges), cancellation_date)


def settlement_preview(customer: CustomerAccount, cancellation_date: dt.date | None = None) -> dict[str, Any]:
    """The popups' settlement table (customers' 解約 and 解約予定日): today's figures for 解約
    (`cancellation_date` None), the settlement as it will be on the date for 解約予定日 (an
    estimate when 25ths come first), and the MSP pool before and after."""
    settlement = settlement_for(customer, cancellation_date=cancellation_date)
    pool = pool_balance(customer.organization_id)
    return {
        "balance": settlement.balance,
        "owed": settlement.owed,
        "charges": settlement.charges,
        "topup": settlement.topup,
        "forfeit": settlement.forfeit,
        "pool_balance": pool,
        "pool_after": pool - settlement.topup,
        "cancellation_date": cancellation_date,
        "estimated": settlement.estimated,
    }


def settle_for_cancellation(
    *, actor: User | None, customer: CustomerAccount, today: dt.date, cancellation_date: dt.date | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Charge what the account owes and settle its wallet to 0 (the module's docstring), in the
    caller's transaction: customers.services has locked the customer row (`customer`, an active
    account as locked), its wallet and the MSP's pool. `cancellation_date` is the scheduled date
    being reached, None for a cancellation now. Returns the points detail of the cancellation's
    audit event, (before, after); the event itself is the caller's."""
    wallet, pool = ledger.wallet_for(customer.pk), ledger.pool_for(customer.organization_id)
    consumed = ledger.system_account(LedgerAccountKind.CONSUMED)
    # Held already (but for `consumed`, taken last): fresh copies whose balances post() moves.
    locked = ledger.lock_accounts(wallet, pool, consumed)
    wallet, pool, consumed = locked[wallet.pk], locked[pool.pk], locked[consumed.pk]
    settlement = settlement_for(customer, today=today, cancellation_date=cancellation_date)
    for charge in settlement.charges:
        ledger.post(
            kind=TransferKind.CONSUMPTION,
            debit=wallet,
            credit=consumed,
            amount=charge.amount,
            idempotency_key=consumption_key(customer.pk, charge.period),
            customer=customer.pk,
            period=charge.period,
            snapshot=snapshot_for(charge.rule, charge.users, charge.charge_day, charge.period),
        )
    balance = wallet.balance
    if balance < 0:
        ledger.post(
            kind=TransferKind.SETTLEMENT_TOPUP,
            debit=pool,
            credit=wallet,
            amount=-balance,
            idempotency_key=settlement_key(customer.pk),
            actor=actor,
            customer=customer.pk,
        )
    elif balance > 0:
        ledger.post(
            kind=TransferKind.SETTLEMENT_FORFEIT,
            debit=wallet,
            credit=consumed,
            amount=balance,
            idempotency_key=settlement_key(customer.pk),
            actor=actor,
            customer=customer.pk,
        )
    before = {"points_balance": settlement.balance}
    after = {
        "points_balance": 0,
        "settlement_topup": max(0, -balance),
        "settlement_forfeit": max(0, balance),
        "charged_before_settlement": {charge.period: charge.amount for charge in settlement.charges},
    }
    return before, after
