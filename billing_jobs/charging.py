"""The monthly consumption: charge the eligible accounts of one id range for one period.

Two implementations of one contract, "post every missing charge of the range, once":
- PostgreSQL: set-based. The range's wallets are locked in id order; then one statement inserts
  the consumption transfers of the accounts that owe (under the locks nobody else can charge
  them: a clash with the per-(wallet, period) unique index or the idempotency key is an error
  that rolls the chunk back, to be retried), each transfer's sequence and balance-after computed
  from the locked wallet row (a wallet gets at most one consumption per period, so
  `last_seq + 1` is exact), and moves those wallets' balances and estimates (one narrow row per
  account: the customer row is not written); the `consumed` account moves once per range.
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

from django.db import DatabaseError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from customers.models import CustomerAccount
from msp_portal import dates
from points import ledger
from points.estimates import chargeable_on, consumption_expression, refresh_estimates
from points.models import LedgerAccount, LedgerAccountKind, TransferKind
from points.rules import rule_at
from points.settlement import consumption_key, snapshot_for

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


_INSERT_CONSUMPTION = """
WITH owing AS ({owing_sql}),
inserted AS (
    INSERT INTO points_transfer (
        debit_account_id, credit_account_id, amount, kind, customer_id, period, memo, order_reference,
        actor_id, created_at, idempotency_key, request_hash, debit_seq, debit_balance_after,
        credit_seq, credit_balance_after, snapshot, reverses_id
    )
    SELECT owing.wallet_id, %s::bigint, owing.amount, 'consumption', owing.customer_id, %s::text, '', '',
        NULL, %s::timestamptz, 'consume:' || owing.customer_id::text || ':' || %s::text, '',
        owing.wallet_seq + 1, owing.wallet_balance - owing.amount, NULL, NULL,
        jsonb_build_object(
            'period', %s::text, 'charge_date', %s::text, 'contracted_users', owing.users,
            'rule_id', %s::bigint, 'base_points', %s::bigint, 'included_users', %s::bigint,
            'points_per_extra_user', %s::bigint, 'job_run_id', %s::bigint
        ),
        NULL
    FROM owing
    RETURNING customer_id, amount
),
-- Moved by what is owed (one probe per wallet), not joined to `inserted`: a CTE's row count is
-- unknown to the planner, which then loops over one for every row of the other. The counts
-- below prove that each owing row was inserted.
wallets AS (
    UPDATE points_ledgeraccount AS w
    SET balance = w.balance - owing.amount, last_seq = w.last_seq + 1, estimated_balance = {estimate_sql}
    FROM owing WHERE w.id = owing.wallet_id
    RETURNING w.id
)
SELECT (SELECT count(*) FROM owing), (SELECT count(*) FROM wallets), (SELECT count(*) FROM inserted),
    (SELECT COALESCE(sum(amount), 0) FROM inserted), (SELECT array_agg(customer_id) FROM inserted)
"""

# Every customer has a wallet (ledger.open_wallet); this opens one for any account of the range
# that somehow has none, so that it is charged like the others.
_OPEN_MISSING_WALLETS = """
INSERT INTO points_ledgeraccount (
    kind, organization_id, customer_id, balance, last_seq, created_at, msp_id, estimated_balance
)
SELECT 'wallet', NULL, c.id, 0, 0, %s::timestamptz, c.organization_id, 0
FROM accounts_customeraccount c
WHERE c.id IN ({range_sql})
  AND NOT EXISTS (SELECT 1 FROM points_ledgeraccount w WHERE w.customer_id = c.id)
ON CONFLICT (customer_id) DO NOTHING
"""


class ChargeConflict(DatabaseError):
    """A consumption transfer of the chunk already existed although its wallet was locked and
    found owing: the chunk is rolled back (and retried), never half-posted."""


def _estimate_after_charge(period: str, today: dt.date):
    """The charge the estimate deducts once `period` is charged, as an annotation, when that
    is known without looking further (points.estimates.refresh_estimates: before this month's
    25th it is this 25th's charge; once this month is charged, next month's); None when the
    charged period is an older catch-up, whose estimate refresh_estimates recomputes."""
    this_25, next_25 = dates.next_charge_days(today)
    if today < this_25:
        day = this_25
    elif period == dates.period_of(this_25):
        day = next_25
    else:
        return None
    return Case(When(chargeable_on(day), then=consumption_expression(rule_at(day))), default=Value(0))


def _charge_set_based(period: str, queryset, *, today: dt.date, run_id: int) -> tuple[int, int]:
    charge_day = dates.charge_date(period)
    rule = rule_at(charge_day)
    # Moving the estimate in the same statement as the balance writes each wallet row once
    # (DESIGN.md §12, measured by `manage.py bench`).
    next_charge = _estimate_after_charge(period, today)
    consumed = ledger.system_account(LedgerAccountKind.CONSUMED)
    due = owing(period, queryset).filter(charge_amount__gt=0)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # A chunk's statements are planned as costly enough to JIT-compile, which takes longer
        # than running them; over hundreds of chunks that is most of the run.
        cursor.execute("SET LOCAL jit = off")
        # The chunk is idempotent and marks itself done in this transaction: if a crash loses
        # its commit, both are lost together and the next run charges the range again. So the
        # commit need not wait for the WAL flush.
        cursor.execute("SET LOCAL synchronous_commit = off")
        range_sql, range_params = queryset.values("pk").query.sql_with_params()
        cursor.execute(_OPEN_MISSING_WALLETS.format(range_sql=range_sql), [now, *range_params])
        # The range's wallets, locked in id order (those that owe nothing too: cheaper than
        # asking who owes twice, and nothing else writes a wallet during its charge).
        wallet_ids = list(
            LedgerAccount.objects.select_for_update(of=("self",))
            .filter(kind=LedgerAccountKind.WALLET, customer_id__in=queryset.values("pk"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not wallet_ids:
            return 0, 0
        # A new statement, so it sees what a concurrent run committed while we waited for the locks.
        owing_sql, owing_params = (
            due.filter(wallet__id__in=wallet_ids)
            .annotate(next_charge=next_charge if next_charge is not None else Value(0))
            .values(
                customer_id=F("pk"),
                wallet_id=F("wallet__id"),
                wallet_balance=F("wallet__balance"),
                wallet_seq=F("wallet__last_seq"),
                users=F("charge_users"),
                amount=F("charge_amount"),
                next_charge=F("next_charge"),
            )
            .query.sql_with_params()
        )
        estimate_sql = (
            "w.balance - owing.amount - owing.next_charge"
            if next_charge is not None
            else "w.estimated_balance - owing.amount"
        )
        cursor.execute(
            _INSERT_CONSUMPTION.format(owing_sql=owing_sql, estimate_sql=estimate_sql),
            [
                *owing_params,
                consumed.pk,
                period,
                now,
                period,
                period,
                charge_day.isoformat(),
                rule.pk,
                rule.base_points,
                rule.included_users,
                rule.points_per_extra_user,
                run_id,
            ],
        )
        owed, moved, posted, total, charged_ids = cursor.fetchone()
        if not owed == moved == posted:
            # The wallets moved by what was owed: every owing row must have been inserted.
            raise ChargeConflict(f"{period}: {owed} owing, {posted} posted, {moved} wallets moved")
        if not posted:
            return 0, 0
        # The `consumed` account last (the lock order); the UPDATE takes its row lock.
        LedgerAccount.objects.filter(pk=consumed.pk).update(balance=F("balance") + total)
        if next_charge is None:
            refresh_estimates(CustomerAccount.objects.filter(pk__in=charged_ids), today=today)
    return posted, int(total)
