"""Load N customer accounts for the benchmark, set-based, on PostgreSQL (DESIGN.md §12).

The data is realistic in shape: many MSPs with a skewed spread (three very large, most small),
every lifecycle state, Japanese company names and kana, contract and status history, and a
ledger that verify_ledger accepts — a purchase per MSP pool, an allocation per customer, and
last month's consumption for the accounts that were charged. Everything is INSERT … SELECT over
generate_series in a handful of statements, then ANALYZE.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.models import Membership, Organization, User
from msp_portal import dates
from msp_portal.permissions import OrganizationKind, Role
from points.estimates import refresh_estimates

BENCH_PASSWORD = "bench-portal-2026"  # noqa: S105 - a throwaway login for benchmark databases
BENCH_MSP_ADMIN = "bench-msp-admin@example.com"
BENCH_OPERATOR = "bench-operator@example.com"

FAMILY = "山田,佐藤,鈴木,高橋,田中,伊藤,渡辺,中村,小林,加藤,吉田,山本,松本,井上,木村,林,清水,山口,阿部,森"
FAMILY_KANA = (
    "ヤマダ,サトウ,スズキ,タカハシ,タナカ,イトウ,ワタナベ,ナカムラ,コバヤシ,カトウ,"
    "ヨシダ,ヤマモト,マツモト,イノウエ,キムラ,ハヤシ,シミズ,ヤマグチ,アベ,モリ"
)
TRADE = "商事,工業,製作所,電機,物産,建設,システム,ホールディングス,食品,運輸,不動産,薬品,精機,通信,印刷"
TRADE_KANA = (
    "ショウジ,コウギョウ,セイサクショ,デンキ,ブッサン,ケンセツ,システム,ホールディングス,"
    "ショクヒン,ウンユ,フドウサン,ヤクヒン,セイキ,ツウシン,インサツ"
)


class Command(BaseCommand):
    help = "Load N benchmark customer accounts with history and ledger (PostgreSQL only), then ANALYZE."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=1_000_000)
        parser.add_argument("--msps", type=int, default=0, help="number of MSPs (default: N/2,000, at least 20)")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_seed needs PostgreSQL (set DATABASE_URL).")
        n = options["accounts"]
        if n < 100:
            raise CommandError("--accounts must be at least 100.")
        msps = options["msps"] or max(20, n // 2000)
        if Organization.objects.filter(name__startswith="ベンチMSP").exists():
            raise CommandError("This database already holds benchmark data; use a fresh database.")
        started = time.perf_counter()
        with transaction.atomic():
            self._seed(n, msps)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(f"Loaded {n:,} accounts over {msps} MSPs in {time.perf_counter() - started:.1f}s.")
        )

    def _step(self, label: str, sql: str, params=None) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.rowcount
        self.stdout.write(f"  {label:<34} {rows:>10,} rows {time.perf_counter() - started:6.1f}s")

    def _seed(self, n: int, msp_count: int) -> None:
        operator = Organization.objects.create(name="ベンチ運営", kind=OrganizationKind.OPERATOR)
        msps = [Organization(name=f"ベンチMSP{i:04d}", kind=OrganizationKind.MSP) for i in range(msp_count)]
        msps = Organization.objects.bulk_create(msps)
        supports = Organization.objects.bulk_create(
            [
                Organization(name=f"ベンチサポート{i:04d}", kind=OrganizationKind.SUPPORT, parent=m)
                for i, m in enumerate(msps[:3])
            ]
        )
        for email, organization, role in (
            (BENCH_MSP_ADMIN, msps[0], Role.ADMIN),
            (BENCH_OPERATOR, operator, Role.OPERATOR_ADMIN),
        ):
            user = User.objects.create_user(email=email, password=BENCH_PASSWORD, name=email.split("@")[0])
            Membership.objects.create(user=user, organization=organization, role=role)
        first, last = msps[0].pk, msps[-1].pk
        today = dates.today()
        last_25 = dates.charge_date(dates.period_of(dates.add_months(today, -1 if today.day < 25 else 0)))
        last_period = dates.period_of(last_25)
        params = {
            "n": n,
            "first_msp": first,
            "small_msps": last - first - 2,
            "support0": supports[0].pk,
            "support1": supports[1].pk,
            "family": FAMILY.split(","),
            "family_kana": FAMILY_KANA.split(","),
            "trade": TRADE.split(","),
            "trade_kana": TRADE_KANA.split(","),
            "last_25": dates.start_of_day(last_25),
            "last_period": last_period,
        }
        # Accounts: three MSPs hold 25 %, 10 % and 5 %; the rest spread evenly. States by bucket:
        # 86 % active, 4 % cancelled, 3 % pending, 2 % provisioning, 1 % each of the others.
        self._step(
            "customer accounts",
            """
            INSERT INTO accounts_customeraccount (
                organization_id, account_code, company_name, company_name_kana, email_domain, country, address,
                industry, company_size, contact_name, contact_email, phone, contracted_users, reseller_name,
                reseller_contact_name, reseller_contact_email, support_account_id, hidden_menus, auto_replenish,
                status, cancellation_date, archived_at, registered_at, updated_at, approved_at, activated_at,
                cancelled_at, provisioning_attempts, provisioning_error, points_balance, estimated_balance,
                search_text)
            SELECT
                CASE WHEN b < 25 THEN %(first_msp)s WHEN b < 35 THEN %(first_msp)s + 1 WHEN b < 40 THEN %(first_msp)s + 2
                     ELSE %(first_msp)s + 3 + (i %% GREATEST(%(small_msps)s, 1)) END,
                'bench-' || lpad(i::text, 7, '0'),
                '株式会社' || (%(family)s::text[])[1 + i %% 20] || (%(trade)s::text[])[1 + (i / 20) %% 15] || i,
                'カブシキガイシャ' || (%(family_kana)s::text[])[1 + i %% 20] || (%(trade_kana)s::text[])[1 + (i / 20) %% 15],
                'c' || i || '.example.jp', '日本', '東京都千代田区' || (i %% 9 + 1) || '-' || (i %% 30 + 1), 'other',
                '50-299', (%(family)s::text[])[1 + (i / 7) %% 20] || ' 太郎', 'contact' || i || '@c' || i || '.example.jp',
                '03-0000-' || lpad((i %% 10000)::text, 4, '0'), 1 + (i * 7919) %% 500,
                CASE WHEN i %% 3 = 0 THEN '販売店' || (i %% 50) ELSE '' END, '', '',
                CASE WHEN b < 25 AND i %% 10 = 0 THEN %(support0)s WHEN b BETWEEN 25 AND 34 AND i %% 10 = 0 THEN %(support1)s END,
                '[]'::jsonb, false,
                s, CASE WHEN s = 'active' AND i %% 50 = 0 THEN (now() AT TIME ZONE 'Asia/Tokyo')::date + 1 + i %% 60 END,
                NULL, reg, reg, CASE WHEN s IN ('active', 'cancelled', 'provisioning', 'provisioning_failed', 'merged') THEN reg END,
                CASE WHEN s IN ('active', 'cancelled', 'merged') THEN reg + interval '3 days' END,
                CASE WHEN s = 'cancelled' THEN reg + interval '200 days' END, 0, '', 0, 0, ''
            FROM (
                SELECT i, (i * 37) %% 100 AS b,
                    CASE WHEN (i * 53) %% 100 < 86 THEN 'active' WHEN (i * 53) %% 100 < 90 THEN 'cancelled'
                         WHEN (i * 53) %% 100 < 93 THEN 'pending_approval' WHEN (i * 53) %% 100 < 95 THEN 'provisioning'
                         WHEN (i * 53) %% 100 < 96 THEN 'provisioning_failed' WHEN (i * 53) %% 100 < 97 THEN 'rejected'
                         WHEN (i * 53) %% 100 < 98 THEN 'withdrawn' WHEN (i * 53) %% 100 < 99 THEN 'merged'
                         ELSE 'active' END AS s,
                    now() - ((i %% 1500) || ' days')::interval - ((i %% 86400) || ' seconds')::interval AS reg
                FROM generate_series(1, %(n)s) AS i
            ) AS g
            """,
            params,
        )
        self._step(
            "search text",
            """UPDATE accounts_customeraccount SET search_text = lower(normalize(account_code || ' ' || company_name || ' '
               || company_name_kana || ' ' || email_domain || ' ' || contact_name || ' ' || contact_email || ' '
               || reseller_name, NFKC))""",
        )
        self._step(
            "status history",
            """
            INSERT INTO accounts_customerstatuschange (customer_id, from_status, to_status, reason, created_at)
            SELECT id, '', 'pending_approval', '', registered_at FROM accounts_customeraccount
            UNION ALL
            SELECT id, 'pending_approval', status, '', registered_at + interval '1 day'
              FROM accounts_customeraccount WHERE status IN ('rejected', 'withdrawn')
            UNION ALL
            SELECT id, 'pending_approval', 'provisioning', '', approved_at
              FROM accounts_customeraccount WHERE approved_at IS NOT NULL
            UNION ALL
            SELECT id, 'provisioning', CASE WHEN status = 'provisioning_failed' THEN 'provisioning_failed' ELSE 'active' END,
                   '', COALESCE(activated_at, approved_at + interval '1 hour')
              FROM accounts_customeraccount WHERE status IN ('active', 'cancelled', 'merged', 'provisioning_failed')
            UNION ALL
            SELECT id, 'active', status, '', COALESCE(cancelled_at, activated_at + interval '100 days')
              FROM accounts_customeraccount WHERE status IN ('cancelled', 'merged')
            """,
        )
        self._step(
            "contract history",
            """INSERT INTO accounts_contractchange (customer_id, old_users, new_users, effective_at, created_at)
               SELECT id, NULL, contracted_users, registered_at, registered_at FROM accounts_customeraccount""",
        )
        self._ledger(params)
        refresh_estimates(today=today)

    def _ledger(self, params) -> None:
        # One wallet per account that ever became active, an allocation into it from its MSP's
        # pool, and last month's consumption for the accounts that were active on that 25th.
        self._step(
            "system accounts and pools",
            """
            INSERT INTO points_ledgeraccount (kind, balance, last_seq, created_at)
            SELECT k, 0, 0, now() FROM unnest(ARRAY['issuance', 'consumed']) AS k
            ON CONFLICT DO NOTHING;
            INSERT INTO points_ledgeraccount (kind, organization_id, balance, last_seq, created_at)
            SELECT 'pool', id, 0, 0, now() FROM accounts_organization WHERE kind IN ('msp', 'privileged_msp')
            """,
        )
        self._step(
            "wallets",
            """INSERT INTO points_ledgeraccount (kind, customer_id, balance, last_seq, created_at)
               SELECT 'wallet', id, 0, 0, now() FROM accounts_customeraccount WHERE activated_at IS NOT NULL""",
        )
        self._step(
            "purchases",
            """
            INSERT INTO points_transfer (debit_account_id, credit_account_id, amount, kind, period, memo, order_reference,
                created_at, idempotency_key, request_hash, credit_seq, credit_balance_after)
            SELECT iss.id, pool.id, 1000 + 2000 * cnt, 'purchase', '', '', 'BENCH-' || pool.organization_id,
                   now() - interval '2000 days', 'bench:purchase:' || pool.id, '', 1, 1000 + 2000 * cnt
            FROM points_ledgeraccount pool
            JOIN (SELECT organization_id, count(*) AS cnt FROM accounts_customeraccount GROUP BY organization_id) c
              ON c.organization_id = pool.organization_id
            CROSS JOIN (SELECT id FROM points_ledgeraccount WHERE kind = 'issuance') iss
            WHERE pool.kind = 'pool'
            """,
        )
        # Allocation: between 0 and 2 × contracted users, so some accounts will run short.
        self._step(
            "allocations",
            """
            INSERT INTO points_transfer (debit_account_id, credit_account_id, amount, kind, customer_id, period, memo,
                order_reference, created_at, idempotency_key, request_hash, debit_seq, debit_balance_after, credit_seq,
                credit_balance_after)
            SELECT pool.id, w.id, amt, 'allocate', c.id, '', '', '', c.activated_at, 'bench:allocate:' || c.id, '',
                   1 + row_number() OVER (PARTITION BY pool.id ORDER BY c.id),
                   purchase.amount - sum(amt) OVER (PARTITION BY pool.id ORDER BY c.id), 1, amt
            FROM accounts_customeraccount c
            JOIN points_ledgeraccount w ON w.customer_id = c.id
            JOIN points_ledgeraccount pool ON pool.organization_id = c.organization_id AND pool.kind = 'pool'
            JOIN points_transfer purchase ON purchase.credit_account_id = pool.id AND purchase.kind = 'purchase'
            CROSS JOIN LATERAL (SELECT 1 + (c.id * 31) %% (2 * c.contracted_users + 20) AS amt) a
            """,
            params,
        )
        self._step(
            "last month's consumption",
            """
            INSERT INTO points_transfer (debit_account_id, credit_account_id, amount, kind, customer_id, period, memo,
                order_reference, created_at, idempotency_key, request_hash, debit_seq, debit_balance_after, snapshot)
            SELECT w.id, cons.id, charge, 'consumption', c.id, %(last_period)s, '', '', %(last_25)s,
                   'consume:' || c.id || ':' || %(last_period)s, '', 2, alloc.amount - charge,
                   jsonb_build_object('contracted_users', c.contracted_users, 'rule_id', r.id, 'base_points', r.base_points,
                       'included_users', r.included_users, 'points_per_extra_user', r.points_per_extra_user)
            FROM accounts_customeraccount c
            JOIN points_ledgeraccount w ON w.customer_id = c.id
            JOIN points_transfer alloc ON alloc.credit_account_id = w.id AND alloc.kind = 'allocate'
            CROSS JOIN (SELECT id FROM points_ledgeraccount WHERE kind = 'consumed') cons
            CROSS JOIN LATERAL (SELECT * FROM points_consumptionrule WHERE effective_from <= %(last_25)s::date
                                ORDER BY effective_from DESC LIMIT 1) r
            CROSS JOIN LATERAL (SELECT r.base_points + GREATEST(c.contracted_users - r.included_users, 0)
                                       * r.points_per_extra_user AS charge) ch
            WHERE c.activated_at < %(last_25)s AND c.status IN ('active', 'cancelled', 'merged')
              AND (c.cancelled_at IS NULL OR c.cancelled_at >= %(last_25)s)
            """,
            params,
        )
        self._step(
            "balances",
            """
            UPDATE points_ledgeraccount a SET balance = t.bal, last_seq = t.seq
            FROM (
                SELECT acc, sum(delta) AS bal, count(*) AS seq FROM (
                    SELECT credit_account_id AS acc, amount AS delta FROM points_transfer
                    UNION ALL SELECT debit_account_id, -amount FROM points_transfer
                ) x GROUP BY acc
            ) t
            WHERE a.id = t.acc;
            UPDATE points_ledgeraccount SET last_seq = 0 WHERE kind IN ('issuance', 'consumed');
            UPDATE accounts_customeraccount c SET points_balance = w.balance
            FROM points_ledgeraccount w WHERE w.customer_id = c.id
            """,
        )
