"""Reads of the billing jobs: who is due what.

Eligibility for period P (charge day C, the 25th; DESIGN.md §5.3): the account is active, was
activated before 00:00 JST of C, and its cancellation is not dated on or before C (a
cancellation dated the 25th itself happens first) — `points.estimates.chargeable_on`, the rule
the stored estimate uses too. An account that has ended (cancelled, merged) owes nothing any
more: its settlement, in the transaction that ended it, charged every 25th it still owed
(points.settlement.settlement_for), so no run, however late, charges it afterwards (DESIGN.md §6).

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
    QuerySet,
    Sum,
    Value,
)

from accounts.models import Organization
from customers.models import CustomerAccount, CustomerStatus
from customers.selectors import contracted_users_at
from msp_portal import dates
from msp_portal.dates import latest_due_period
from points.estimates import chargeable_on, charged_for
from points.rules import consumption_expression, rule_at


def due_periods(run_date: dt.date, depth: int | None = None) -> list[str]:
    """The periods the daily run of `run_date` charges, oldest first: the latest due one and
    `depth - 1` before it (PORTAL_BILLING_CATCHUP_PERIODS)."""
    depth = settings.PORTAL_BILLING_CATCHUP_PERIODS if depth is None else depth
    latest = dates.charge_date(latest_due_period(run_date))
    return [dates.period_of(dates.add_months(latest, -back)) for back in range(max(depth, 1) - 1, -1, -1)]


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


def seconds_since_last_successful_daily_run() -> float | None:
    """For /metrics: seconds since the newest succeeded daily run finished; None before any."""
    from django.utils import timezone

    from .models import JobKind, JobRun, JobStatus

    last = (
        JobRun.objects.filter(kind=JobKind.DAILY, status=JobStatus.SUCCEEDED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return None if last is None else (timezone.now() - last).total_seconds()
