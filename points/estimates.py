"""The stored estimate 「M/25の推定残ポイント数」 (DESIGN.md §5.4).

The wallet's `estimated_balance` = balance − the charge of the next 25th for accounts that
will be charged then (this month's 25th while it is not yet charged, else next month's), and
the balance for the others (cancellation scheduled on or before it, not active). It is a stored,
indexed column so the list can sort and filter on it at a million accounts; `ledger.post` moves
it with the balance, and `refresh_estimates` recomputes it set-based whenever one of its other
inputs changes: contracted users, status, cancellation date, the rule, or a 25th being charged.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Concat

from customers.models import CustomerAccount, CustomerStatus
from msp_portal import dates

from .models import LedgerAccount, LedgerAccountKind, Transfer, TransferKind
from .rules import consumption_expression, rule_at


def chargeable_on(charge_day: dt.date) -> Q:
    """Accounts eligible for the charge of the 25th `charge_day`, as far as their current state
    tells: active, activated before 00:00 of that day, and not cancelled by then (a cancellation
    dated the 25th itself happens first)."""
    return (
        Q(status=CustomerStatus.ACTIVE)
        & Q(activated_at__lt=dates.start_of_day(charge_day))
        & (Q(cancellation_date__isnull=True) | Q(cancellation_date__gt=charge_day))
    )


def charged_for(period: str) -> Exists:
    """Whether the account (the outer query's customer) has been charged for `period`, asked of
    its wallet's (wallet, period) unique index: one probe per account whatever the statistics
    say. Through an index on the transfers' period, PostgreSQL plans by statistics that still
    say "no charge" right after a run has posted 850,000 of them, and rescans them all for every
    account (quadratic: hours at a million accounts). `period` is compared through an expression
    so that only the unique index fits (DESIGN.md §12, measured by `manage.py bench`)."""
    return Exists(
        Transfer.objects.filter(kind=TransferKind.CONSUMPTION, debit_account_id=OuterRef("wallet__id"))
        .annotate(charged_period=Concat("period", Value("")))
        .filter(charged_period=period)
    )


def next_charge_expression(today: dt.date):
    """The charge the estimate deducts as of `today`, as an annotation of customer accounts."""
    this_25, next_25 = dates.next_charge_days(today)
    this_rule, next_rule = rule_at(this_25), rule_at(next_25)
    charge_this_month = consumption_expression(this_rule)
    charge_next_month = consumption_expression(next_rule)
    if today < this_25:
        return Case(When(chargeable_on(this_25), then=charge_this_month), default=Value(0))
    charged_this_month = charged_for(dates.period_of(this_25))
    return Case(
        When(charged_this_month & chargeable_on(next_25), then=charge_next_month),
        When(charged_this_month, then=Value(0)),
        When(chargeable_on(this_25), then=charge_this_month),
        When(chargeable_on(next_25), then=charge_next_month),
        default=Value(0),
    )


def estimate_after_charge(period: str, today: dt.date):
    """The charge the estimate deducts once `period` is charged, as an annotation of customer
    accounts, when that is known without looking further (`next_charge_expression`: before
    this month's 25th it is this 25th's charge; once this month is charged, next month's);
    None when the charged period is an older catch-up, whose estimate refresh_estimates
    recomputes."""
    this_25, next_25 = dates.next_charge_days(today)
    if today < this_25:
        day = this_25
    elif period == dates.period_of(this_25):
        day = next_25
    else:
        return None
    return Case(When(chargeable_on(day), then=consumption_expression(rule_at(day))), default=Value(0))


def refresh_estimates(queryset: QuerySet[CustomerAccount] | None = None, *, today: dt.date | None = None) -> int:
    """Recompute the stored estimate of the given accounts' wallets (all by default) in one
    set-based UPDATE. Returns the number of wallets updated."""
    today = today or dates.today()
    customers = CustomerAccount.objects.all() if queryset is None else queryset
    charge = (
        CustomerAccount.objects.filter(pk=OuterRef("customer_id"))
        .annotate(charge=next_charge_expression(today))
        .values("charge")[:1]
    )
    return LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id__in=customers.values("pk")).update(
        estimated_balance=F("balance") - Subquery(charge)
    )
