"""Reads of the billing jobs: who is due what, and what a settlement will post.

Eligibility for period P (charge day C, the 25th; DESIGN.md §5.3): the account is active, was
activated before 00:00 JST of C, and its cancellation is not dated on or before C (a
cancellation dated the 25th itself happens first) — `points.estimates.chargeable_on`, the rule
the stored estimate uses too. An account that has ended (cancelled, merged) owes nothing any
more: its settlement, in the transaction that ended it, charged every 25th it still owed
(`settlement_for`), so no run, however late, charges it afterwards (DESIGN.md §6).

Contracted users and the rule are those "in force at 00:00 JST on the 25th": the latest
`ContractChange` whose `effective_at` is at or before that moment (a change effective exactly
at 00:00 counts), and `rule_at(C)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Organization
from customers.models import ContractChange, CustomerAccount, CustomerStatus
from msp_portal import dates
from points.estimates import chargeable_on, charged_for
from points.models import ConsumptionRule, LedgerAccount, LedgerAccountKind, Transfer, TransferKind
from points.rules import consumption_expression, rule_at


def latest_due_period(run_date: dt.date) -> str:
    """The latest period whose 25th is on or before `run_date`."""
    if run_date.day >= dates.CHARGE_DAY:
        return dates.period_of(run_date)
    return dates.period_of(dates.add_months(run_date.replace(day=1), -1))


def due_periods(run_date: dt.date, depth: int | None = None) -> list[str]:
    """The periods the daily run of `run_date` charges, oldest first: the latest due one and
    `depth - 1` before it (PORTAL_BILLING_CATCHUP_PERIODS)."""
    depth = settings.PORTAL_BILLING_CATCHUP_PERIODS if depth is None else depth
    latest = dates.charge_date(latest_due_period(run_date))
    return [dates.period_of(dates.add_months(latest, -back)) for back in range(max(depth, 1) - 1, -1, -1)]


def contracted_users_at(moment: dt.datetime):
    """The contracted users in force at `moment`: the latest change at or before it; failing
    that, the value the first later change replaced; failing that, the current count."""
    in_force = ContractChange.objects.filter(customer=OuterRef("pk"), effective_at__lte=moment).order_by(
        "-effective_at", "-id"
    )
    replaced_later = ContractChange.objects.filter(customer=OuterRef("pk"), effective_at__gt=moment).order_by(
        "effective_at", "id"
    )
    return Coalesce(
        Subquery(in_force.values("new_users")[:1]),
        Subquery(replaced_later.values("old_users")[:1]),
        F("contracted_users"),
        output_field=IntegerField(),
    )


def owing_range_starts(period: str, lowest_id: int, size: int) -> list[int]:
    """The first ids of the `size`-wide id ranges (counted from `lowest_id`) that hold at least
    one account eligible for `period` and not charged for it: the run plans chunks only where
    there is work. One query over all accounts (a hash anti-join at a million accounts), so a
    repeated run, with nothing left to charge, plans no chunk at all instead of re-checking
    every range (DESIGN.md §12: a second run posts nothing in < 5 s)."""
    charge_day = dates.charge_date(period)
    bucket = ExpressionWrapper((F("pk") - Value(lowest_id)) / Value(size), output_field=BigIntegerField())
    buckets = (
        CustomerAccount.objects.filter(chargeable_on(charge_day))
        .filter(~charged_for(period))
        .annotate(bucket=bucket)
        .values_list("bucket", flat=True)
        .distinct()
        .order_by("bucket")
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Planned as costly enough to JIT-compile, which took longer (1.2 s) than the query.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        return [lowest_id + number * size for number in buckets]


def owing(period: str, queryset: QuerySet[CustomerAccount] | None = None) -> QuerySet[CustomerAccount]:
    """Eligible accounts not yet charged for `period`, annotated with `charge_users` and
    `charge_amount` (what the charge will be)."""
    charge_day = dates.charge_date(period)
    rule = rule_at(charge_day)
    queryset = CustomerAccount.objects.all() if queryset is None else queryset
    return (
        queryset.filter(chargeable_on(charge_day))
        .filter(~charged_for(period))
        .annotate(charge_users=contracted_users_at(dates.start_of_day(charge_day)))
        .annotate(charge_amount=consumption_expression(rule, "charge_users"))
    )


@dataclass(frozen=True)
class MspTotal:
    organization_id: int
    organization_name: str
    accounts: int
    points: int


def owing_totals_by_msp(period: str) -> list[MspTotal]:
    """Per MSP: how many accounts the charge of `period` would charge and how many points."""
    rows = (
        owing(period)
        .filter(charge_amount__gt=0)
        .values("organization_id")
        .order_by("organization_id")
        .annotate(n=Count("id"), points=Sum("charge_amount"))
    )
    rows = list(rows)
    names = dict(Organization.objects.filter(pk__in=[r["organization_id"] for r in rows]).values_list("pk", "name"))
    return [MspTotal(r["organization_id"], names.get(r["organization_id"], ""), r["n"], r["points"]) for r in rows]


def due_cancellations(run_date: dt.date) -> QuerySet[CustomerAccount]:
    """Active accounts whose scheduled cancellation date has been reached."""
    return CustomerAccount.objects.filter(status=CustomerStatus.ACTIVE, cancellation_date__lte=run_date)


@dataclass(frozen=True)
class MissingCharge:
    period: str
    accounts: int
    sample_customer_ids: list[int]


def missing_charges(up_to: dt.date | None = None, *, sample: int = 10) -> list[MissingCharge]:
    """Every period up to the latest 25th on or before `up_to` (default today) in which an
    eligible account has no consumption: the gaps the daily run did not (or could not yet)
    close. verify_ledger reports them; `charge_period` charges them."""
    up_to = up_to or dates.today()
    first = CustomerAccount.objects.filter(activated_at__isnull=False).order_by("activated_at").first()
    if first is None:
        return []
    latest = dates.charge_date(latest_due_period(up_to))
    day = dates.charge_date(dates.period_of(first.activated_at.astimezone(dates.TOKYO).date()))
    found = []
    while day <= latest:
        period = dates.period_of(day)
        ids = owing(period).filter(charge_amount__gt=0).order_by("pk").values_list("pk", flat=True)
        count = ids.count()
        if count:
            found.append(MissingCharge(period, count, list(ids[:sample])))
        day = dates.add_months(day, 1)
    return found


def check_missing_charges() -> list:
    """verify_ledger's check (points.selectors.LEDGER_CHECKS): eligible accounts missing a charge."""
    from points.selectors import Problem

    return [
        Problem(
            "missing_charge",
            f"{gap.period}: {gap.accounts} eligible accounts not charged (e.g. customer ids "
            f"{', '.join(map(str, gap.sample_customer_ids))}); "
            f"charge them with `manage.py charge_period --period {gap.period}`",
        )
        for gap in missing_charges()
    ]


# --- Settlement ---------------------------------------------------------------------------------


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
    or before it (the eligibility of this module's docstring, applied to the date in question);
    for a cancellation now, the 25ths up to today, cut by a scheduled date already reached. A
    25th after `today` is an estimate: charged at today's contracted users and the rule known for
    that day. The one computation behind the 解約 and 解約予定日 popups, the dry run and the
    settlement itself (billing_jobs.cancellation), which calls it under its locks."""
    today = today or dates.today()
    wallet = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=customer.pk).first()
    balance = wallet.balance if wallet is not None else 0
    if customer.status != CustomerStatus.ACTIVE or customer.activated_at is None:
        return Settlement(balance, (), cancellation_date)

    def last_before(day: dt.date) -> dt.date:
        return dates.charge_date(latest_due_period(day - dt.timedelta(days=1)))

    if cancellation_date is not None:
        last = last_before(cancellation_date)
    else:
        last = dates.charge_date(latest_due_period(today))
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
