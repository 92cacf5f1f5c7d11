"""The monthly consumption's set-based posting (PostgreSQL): the ledger writes of one id range's
charges, in a few statements (DESIGN.md §7, §12). The caller (billing_jobs.charging) decides
who owes what; this module posts it.

The range's wallets are locked in id order; then one statement inserts the consumption
transfers of the accounts that owe (under the locks nobody else can charge them: a clash with
the per-(wallet, period) unique index or the idempotency key is an error that rolls the chunk
back, to be retried), each transfer's sequence and balance-after computed from the locked
wallet row (a wallet gets at most one consumption per period, so `last_seq + 1` is exact), and
moves those wallets' balances and estimates (one narrow row per account: the customer row is
not written); the `consumed` account moves once per range, last (the lock order of
points.ledger). No customer row is locked or waited for.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.db.models import F, QuerySet, Value
from django.utils import timezone

from customers.models import CustomerAccount

from . import ledger
from .estimates import estimate_after_charge, refresh_estimates
from .models import LedgerAccount, LedgerAccountKind
from .rules import CONSUMPTION_KEY_PREFIX

_INSERT_CONSUMPTION = """
WITH owing AS ({owing_sql}),
inserted AS (
    INSERT INTO points_transfer (
        debit_account_id, credit_account_id, amount, kind, customer_id, period, memo, order_reference,
        actor_id, created_at, idempotency_key, request_hash, debit_seq, debit_balance_after,
        credit_seq, credit_balance_after, snapshot, reverses_id
    )
    SELECT owing.wallet_id, %s::bigint, owing.amount, 'consumption', owing.customer_id, %s::text, '', '',
        NULL, %s::timestamptz, %s || owing.customer_id::text || ':' || %s::text, '',
        owing.wallet_seq + 1, owing.wallet_balance - owing.amount, NULL, NULL,
        %s::jsonb || jsonb_build_object('contracted_users', owing.users),
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
    """A consumption transfer of the range already existed although its wallet was locked and
    found owing: the range is rolled back (and retried), never half-posted."""


def charge_set(
    period: str,
    customers: QuerySet[CustomerAccount],
    due: QuerySet[CustomerAccount],
    *,
    snapshot: dict,
    today: dt.date,
) -> tuple[int, int]:
    """Post the consumption of `period` for the accounts of `due`, in one transaction (PostgreSQL
    only). `customers` is the id range whose wallets are locked; `due` its accounts that owe,
    annotated with `charge_users` and `charge_amount` (billing_jobs.selectors.owing), and
    evaluated only once the wallets are locked, so that it sees what a concurrent writer
    committed meanwhile. Each transfer's snapshot is `snapshot` with its account's
    `contracted_users`. Returns (accounts charged, points charged)."""
    # Moving the estimate in the same statement as the balance writes each wallet row once
    # (DESIGN.md §12, measured by `manage.py bench`).
    next_charge = estimate_after_charge(period, today)
    consumed = ledger.system_account(LedgerAccountKind.CONSUMED)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # The statements are planned as costly enough to JIT-compile, which takes longer than
        # running them; over hundreds of ranges that is most of the run.
        cursor.execute("SET LOCAL jit = off")
        range_sql, range_params = customers.values("pk").query.sql_with_params()
        cursor.execute(_OPEN_MISSING_WALLETS.format(range_sql=range_sql), [now, *range_params])
        # The range's wallets, locked in id order (those that owe nothing too: cheaper than
        # asking who owes twice, and nothing else writes a wallet during its charge).
        wallet_ids = list(
            LedgerAccount.objects.select_for_update(of=("self",))
            .filter(kind=LedgerAccountKind.WALLET, customer_id__in=customers.values("pk"))
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
                CONSUMPTION_KEY_PREFIX,
                period,
                json.dumps(snapshot, cls=DjangoJSONEncoder),
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
