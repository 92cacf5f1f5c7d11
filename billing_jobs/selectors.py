"""Reads of the billing jobs: who is due what, from the history rather than the current state.

Eligibility for period P (charge day C, the 25th; DESIGN.md §5.3): the account was activated
before 00:00 JST of C and was not cancelled or merged at that moment. It is derived from
`activated_at`, `cancelled_at` (for a scheduled cancellation: 00:00 of its date, the moment it
took effect), `cancellation_date` and the status history, so a delayed catch-up run still
charges an account that was active on the 25th and has been cancelled since.

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
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.models import ContractChange, CustomerAccount, CustomerStatus, CustomerStatusChange, Organization
from msp_portal import dates
from points.estimates import charged_for
from points.models import ConsumptionRule
from points.rules import rule_at

ENDED_STATUSES = (CustomerStatus.CANCELLED, CustomerStatus.MERGED)


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


def eligible_q(charge_day: dt.date) -> Q:
    """Accounts that owe the charge of the 25th `charge_day` (see the module docstring)."""
    moment = dates.start_of_day(charge_day)
    ended_before = CustomerStatusChange.objects.filter(
        customer=OuterRef("pk"), to_status__in=ENDED_STATUSES, created_at__lt=moment
    )
    return (
        Q(activated_at__lt=moment)
        & Q(status__in=(CustomerStatus.ACTIVE, *ENDED_STATUSES))
        & (Q(cancelled_at__isnull=True) | Q(cancelled_at__gte=moment))
        & (Q(cancellation_date__isnull=True) | Q(cancellation_date__gt=charge_day))
        # Only ended accounts can have ended before; active ones skip the history look-up.
        & (Q(status=CustomerStatus.ACTIVE) | ~Exists(ended_before))
    )


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
        CustomerAccount.objects.filter(eligible_q(charge_day))
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


def amount_expression(rule: ConsumptionRule):
    return Value(rule.base_points) + Greatest(F("charge_users") - Value(rule.included_users), Value(0)) * Value(
        rule.points_per_extra_user
    )


def owing(period: str, queryset: QuerySet[CustomerAccount] | None = None) -> QuerySet[CustomerAccount]:
    """Eligible accounts not yet charged for `period`, annotated with `charge_users` and
    `charge_amount` (what the charge will be)."""
    charge_day = dates.charge_date(period)
    rule = rule_at(charge_day)
    queryset = CustomerAccount.objects.all() if queryset is None else queryset
    return (
        queryset.filter(eligible_q(charge_day))
        .filter(~charged_for(period))
        .annotate(charge_users=contracted_users_at(dates.start_of_day(charge_day)))
        .annotate(charge_amount=amount_expression(rule))
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
