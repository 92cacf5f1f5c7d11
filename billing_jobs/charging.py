"""The monthly consumption: charge the eligible accounts of one id range for one period.

Two implementations of one contract, "post every missing charge of the range, once":
- PostgreSQL: set-based, `points.charges.charge_set` (its wallets locked in id order, then a
  few statements for the whole range).
- Everything else (SQLite, a single account): a loop over `points.ledger.post`.

Lock order (points.ledger): the range's wallets in id order, then the `consumed` system
account. A chunk never locks or waits for a customer row, so it cannot close a cycle with a
service that holds one (the cancellation settlement locks the customer row, then the wallet and
the pool, then `consumed`). Only active accounts are eligible (billing_jobs.selectors), and
eligibility is read after the wallet locks: a chunk never charges an account whose settlement
committed before it, and a settlement waiting for the chunk sees its charges.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from customers.models import CustomerAccount
from msp_portal import dates
from points import charges, ledger
from points.estimates import refresh_estimates
from points.models import LedgerAccount, LedgerAccountKind, TransferKind
from points.rules import consumption_key, rule_at, snapshot_for

from .selectors import owing


def charge_range(period: str, first_id: int, last_id: int, *, today: dt.date, run_id: int) -> tuple[int, int]:
    """Charge every account with id in [first_id, last_id] that owes `period` and has not
    been charged for it. One transaction; safe to re-run and to run concurrently (a re-run
    posts nothing). Each transfer's snapshot names the run (`job_run_id`): the transfers are
    the per-account record of the run, whose audit events are one per chunk. Returns
    (accounts charged, points charged)."""
    queryset = CustomerAccount.objects.filter(pk__gte=first_id, pk__lte=last_id)
    if connection.vendor == "postgresql":
        return _charge_set_based(period, queryset, today=today, run_id=run_id)
    return _charge_each(period, queryset, today=today, run_id=run_id)


def _charge_each(period: str, queryset, *, today: dt.date, run_id: int) -> tuple[int, int]:
    candidates = list(owing(period, queryset).filter(charge_amount__gt=0).values_list("pk", flat=True))
    if not candidates:
        return 0, 0
    charge_day = dates.charge_date(period)
    rule = rule_at(charge_day)
    wallets = dict(
        LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id__in=candidates).values_list(
            "customer_id", "pk"
        )
    )
    for pk in candidates:
        if pk not in wallets:
            wallets[pk] = ledger.wallet_for(pk).pk
    consumed = ledger.system_account(LedgerAccountKind.CONSUMED)
    charged = points = 0
    with transaction.atomic():
        locked = ledger.lock_accounts(*wallets.values())
        locked_consumed = ledger.lock_accounts(consumed)[consumed.pk]
        # Who owes what, asked again under the locks: meanwhile a concurrent run may have
        # charged some of them, or a settlement charged and cancelled one (no longer eligible).
        rows = list(
            owing(period, queryset.filter(pk__in=candidates))
            .filter(charge_amount__gt=0)
            .values("pk", "charge_users", "charge_amount")
        )
        for row in rows:
            wallet_id = wallets[row["pk"]]
            ledger.post(
                kind=TransferKind.CONSUMPTION,
                debit=locked[wallet_id],
                credit=locked_consumed,
                amount=row["charge_amount"],
                idempotency_key=consumption_key(row["pk"], period),
                customer=row["pk"],
                period=period,
                snapshot={**snapshot_for(rule, row["charge_users"], charge_day, period), "job_run_id": run_id},
            )
            charged += 1
            points += row["charge_amount"]
        if charged:
            refresh_estimates(queryset.filter(pk__in=[r["pk"] for r in rows]), today=today)
    return charged, points


def _charge_set_based(period: str, queryset, *, today: dt.date, run_id: int) -> tuple[int, int]:
    charge_day = dates.charge_date(period)
    rule = rule_at(charge_day)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The chunk is idempotent and marks itself done in this transaction: if a crash loses
            # its commit, both are lost together and the next run charges the range again. So
            # the commit need not wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit = off")
        return charges.charge_set(
            period,
            queryset,
            owing(period, queryset).filter(charge_amount__gt=0),
            # Each transfer's snapshot, with its own contracted users in place of the 0.
            snapshot={**snapshot_for(rule, 0, charge_day, period), "job_run_id": run_id},
            today=today,
        )
