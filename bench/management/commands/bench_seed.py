"""Load N customer accounts for the benchmark, set-based, on PostgreSQL (DESIGN.md §12).

The data is realistic in shape: many MSPs with a skewed spread (three very large, most small),
every lifecycle state, Japanese company names and kana, contract and status history, and a
ledger that verify_ledger accepts: a purchase per MSP pool, an allocation per wallet, and the
monthly consumption of the last `--history` months, with the suspension flags the daily runs
would have set since. The latest due month is left uncharged: the data is the portal on the
morning of a 25th, before the monthly run (which `bench` times).

Why it is fast: every value is computed once, in a temporary table built from generate_series,
and each table is written by one INSERT … SELECT with its final values (balances, sequence
numbers, estimates, search text), so no table is ever rewritten by an UPDATE. The secondary
indexes and unique constraints are dropped first and rebuilt once at the end (a sorted build
is far cheaper than a million index insertions); foreign-key triggers are off during the load
(`session_replication_role = replica`: the generated ids are consistent by construction).
"""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import quote

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.models import Membership, Organization, User
from customers.search import SEARCH_FIELDS, search_normalize
from msp_portal import dates
from msp_portal.permissions import OrganizationKind, Role
from points.models import ConsumptionRule
from points.rules import consumption_sql, rule_at

BENCH_PASSWORD = "bench-portal-2026"  # noqa: S105 - a throwaway login for benchmark databases
BENCH_MSP_ADMIN = "bench-msp-admin@example.com"
BENCH_OPERATOR = "bench-operator@example.com"
BENCH_SUPERUSER = "bench-superuser@example.com"
BENCH_MSP_PREFIX = "ベンチMSP"

# The tables the load writes; their secondary indexes are rebuilt after it.
LOADED_TABLES = (
    "accounts_customeraccount",
    "accounts_customerstatuschange",
    "accounts_contractchange",
    "points_ledgeraccount",
    "points_transfer",
    "audit_auditevent",
)
BENCH_BUSY_CODE = "bench-busy"
# The busy account's history: a point top-up every day and a charge every month, for 5 years.
BUSY_YEARS = 5

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


def bench_database_name(name: str) -> bool:
    return "bench" in name


def _due_sql(
    *,
    status: str,
    activated_at: str,
    cancellation_date: str,
    users: str,
    this_rule: ConsumptionRule,
    next_rule: ConsumptionRule,
) -> str:
    """The charge the estimate deducts today, as points.estimates.next_charge_expression computes
    it (the latest due month is not charged yet, so on or after this month's 25th it is still
    owed), over the given columns, under the rules of this month's and next month's 25th."""

    def chargeable(day: str) -> str:
        return (
            f"({status} = 'active' AND {activated_at} < %({day}_start)s "
            f"AND ({cancellation_date} IS NULL OR {cancellation_date} > %({day})s::date))"
        )

    return (
        f"CASE WHEN {chargeable('this_25')} THEN {consumption_sql(this_rule, users)} "
        f"WHEN NOT %(before_this_25)s AND {chargeable('next_25')} THEN {consumption_sql(next_rule, users)} ELSE 0 END"
    )


class Command(BaseCommand):
    help = "Load N benchmark customer accounts with history and ledger (PostgreSQL only), then ANALYZE."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=1_000_000)
        parser.add_argument("--msps", type=int, default=0, help="number of MSPs (default: N/2,000, at least 20)")
        parser.add_argument("--history", type=int, default=3, help="months of consumption history (default 3)")
        parser.add_argument(
            "--recreate",
            action="store_true",
            help="drop and recreate the database first, then migrate (its name must contain 'bench')",
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_seed needs PostgreSQL: set DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/portal_bench."
            )
        n = options["accounts"]
        if n < 100:
            raise CommandError("--accounts must be at least 100.")
        if not 0 <= options["history"] <= 24:
            raise CommandError("--history must be between 0 and 24 months.")
        started = time.perf_counter()
        if options["recreate"]:
            self._recreate_database()
        msps = options["msps"] or max(20, n // 2000)
        if msps < 4:
            raise CommandError("--msps must be at least 4.")
        if Organization.objects.filter(name__startswith=BENCH_MSP_PREFIX).exists():
            raise CommandError("This database already holds benchmark data; use a fresh one (or --recreate).")
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                cursor.execute("SET LOCAL work_mem = '256MB'")
                cursor.execute("SET LOCAL jit = off")
            rebuild = self._drop_secondary_indexes()
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            self._seed(n, msps, options["history"])
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            self._rebuild_indexes(rebuild)
        self._timed("analyze", "ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(f"Loaded {n:,} accounts over {msps} MSPs in {time.perf_counter() - started:.1f}s.")
        )

    # --- database -------------------------------------------------------------------------

    def _recreate_database(self) -> None:
        import psycopg

        db = connection.settings_dict
        name = db["NAME"]
        if not bench_database_name(name):
            raise CommandError(f"--recreate drops the database; its name must contain 'bench' (it is {name!r}).")
        connection.close()
        with psycopg.connect(_maintenance_dsn(db), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        self.stdout.write(f"Recreated database {name}.")
        call_command("migrate", interactive=False, verbosity=0)

    def _timed(self, label: str, sql: str, params=None) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.rowcount
        shown = f"{rows:>10,} rows" if rows and rows > 0 else " " * 15
        self.stdout.write(f"  {label:<30} {shown} {time.perf_counter() - started:6.1f}s")

    def _drop_secondary_indexes(self) -> list[str]:
        """Drop the loaded tables' indexes and unique constraints except primary keys; return
        the statements that recreate them."""
        statements, drops = [], []
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype = 'u'
                """,
                [list(LOADED_TABLES)],
            )
            for table, name, definition in cursor.fetchall():
                drops.append(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                statements.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute(
                """
                SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                WHERE i.indrelid::regclass::text = ANY(%s)
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                """,
                [list(LOADED_TABLES)],
            )
            for name, definition in cursor.fetchall():
                drops.append(f"DROP INDEX {name}")
                statements.append(definition)
            for statement in drops:
                cursor.execute(statement)
        # The trigram index takes longest: build it first, while the others wait in line.
        statements.sort(key=lambda sql: "gin" not in sql)
        return statements

    def _rebuild_indexes(self, statements: list[str]) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in statements:
                one = time.perf_counter()
                cursor.execute(statement)
                if time.perf_counter() - one > 5:
                    self.stdout.write(f"    {time.perf_counter() - one:6.1f}s {statement[:90]}")
        self.stdout.write(
            f"  {'indexes and constraints':<30} {len(statements):>10,} built {time.perf_counter() - started:6.1f}s"
        )

    # --- data -----------------------------------------------------------------------------

    def _seed(self, n: int, msp_count: int, history: int) -> None:
        operator = Organization.objects.create(name="ベンチ運営", kind=OrganizationKind.OPERATOR)
        msps = Organization.objects.bulk_create(
            [Organization(name=f"{BENCH_MSP_PREFIX}{i:04d}", kind=OrganizationKind.MSP) for i in range(msp_count)]
        )
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
        # The Django admin's changelist is one of the list's baselines.
        User.objects.create_superuser(email=BENCH_SUPERUSER, password=BENCH_PASSWORD, name="bench-superuser")

        today = dates.today()
        latest_due = dates.charge_date(_latest_due_period(today))
        charge_days = [dates.add_months(latest_due, -back) for back in range(history, 0, -1)]
        charge_days = [day for day in charge_days if _has_rule(day)]
        this_25, next_25 = dates.next_charge_days(today)
        this_rule, next_rule = rule_at(this_25), rule_at(next_25)
        self._pools()
        ids = self._id_offsets()
        params = {
            # The generated accounts, and the busy one after them (_busy_account): n in all.
            "n": n - 1,
            "msp0": msps[0].pk,
            "msp1": msps[1].pk,
            "msp2": msps[2].pk,
            "msps": msp_count,
            "msp_ids": [m.pk for m in msps],
            "support0": supports[0].pk,
            "support1": supports[1].pk,
            "support2": supports[2].pk,
            "family": FAMILY.split(","),
            "family_kana": FAMILY_KANA.split(","),
            "trade": TRADE.split(","),
            "trade_kana": TRADE_KANA.split(","),
            "kabushiki_folded": search_normalize("株式会社"),
            "kabushiki_kana_folded": search_normalize("カブシキガイシャ"),
            "family_folded": [search_normalize(part) for part in FAMILY.split(",")],
            "trade_folded": [search_normalize(part) for part in TRADE.split(",")],
            "family_kana_folded": [search_normalize(part) for part in FAMILY_KANA.split(",")],
            "trade_kana_folded": [search_normalize(part) for part in TRADE_KANA.split(",")],
            "customer_offset": ids["accounts_customeraccount"],
            "wallet_offset": ids["points_ledgeraccount"],
            "this_25": this_25,
            "next_25": next_25,
            "this_25_start": dates.start_of_day(this_25),
            "next_25_start": dates.start_of_day(next_25),
            "before_this_25": today < this_25,
            "grace": dt.timedelta(days=settings.PORTAL_SUSPENSION_GRACE_DAYS),
        }
        self._generate(params, charge_days)
        self._customers(params)
        self._histories()
        self._ledger(params, charge_days, this_rule, next_rule)
        self._audit(params, operator)
        self._busy_account(params, msps[0], this_rule, next_rule, latest_due, charge_days)
        with connection.cursor() as cursor:
            for table in ("accounts_customeraccount", "points_ledgeraccount"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute("DROP TABLE bench_gen")

    def _id_offsets(self) -> dict[str, int]:
        """Where the generated ids start: past every id the sequences have handed out (a
        truncated table keeps its sequence), and past every stored id."""
        offsets = {}
        with connection.cursor() as cursor:
            for table in ("accounts_customeraccount", "points_ledgeraccount"):
                cursor.execute(
                    f"SELECT GREATEST(nextval(pg_get_serial_sequence('{table}', 'id')),"
                    f" (SELECT COALESCE(max(id), 0) FROM {table}))"
                )
                offsets[table] = cursor.fetchone()[0]
        return offsets

    def _pools(self) -> None:
        self._timed(
            "system accounts and pools",
            """
            INSERT INTO points_ledgeraccount (kind, balance, last_seq, created_at)
            SELECT k, 0, 0, now() FROM unnest(ARRAY['issuance', 'consumed']) AS k
            WHERE NOT EXISTS (SELECT 1 FROM points_ledgeraccount WHERE kind = k);
            INSERT INTO points_ledgeraccount (kind, organization_id, balance, last_seq, created_at)
            SELECT 'pool', o.id, 0, 0, now() FROM accounts_organization o
            WHERE o.name LIKE 'ベンチMSP%'
            """,
        )

    def _generate(self, params: dict, charge_days: list[dt.date]) -> None:
        """One row per account with every derived value, in a temporary table."""
        # Per history month: charged when activated before 00:00 of that 25th and not ended by
        # then (then active: billing_jobs.selectors); the charge of the default-shaped rule.
        charged_terms, charge_terms = [], []
        for index, day in enumerate(charge_days):
            rule = rule_at(day)
            moment = dates.start_of_day(day).isoformat()
            params[f"m{index}"] = moment
            charged = f"(activated_at < %(m{index})s::timestamptz AND (ended_at IS NULL OR ended_at >= %(m{index})s::timestamptz))"
            charged_terms.append(f"{charged} AS ch{index}")
            charge_terms.append(f"{consumption_sql(rule, 'users')} AS amt{index}")
        extra = "".join(f", {term}" for term in charged_terms + charge_terms)
        self._timed(
            "generate",
            f"""
            CREATE TEMP TABLE bench_gen AS
            SELECT *{extra}
            FROM (
                SELECT g.*,
                    CASE WHEN s IN ('active', 'cancelled', 'provisioning', 'provisioning_failed', 'merged')
                         THEN reg + interval '2 hours' END AS approved_at,
                    CASE WHEN s IN ('active', 'cancelled', 'merged') THEN reg + interval '1 day' END AS activated_at,
                    CASE WHEN s IN ('cancelled', 'merged') THEN reg + (now() - reg) / 2 END AS ended_at,
                    %(wallet_offset)s + i AS wallet_id,
                    CASE WHEN s IN ('active', 'cancelled', 'merged')
                         THEN 1 + (i * 31) %% (2 * users + 20) END AS alloc
                FROM (
                    SELECT i, %(customer_offset)s + i AS id,
                        -- Three MSPs hold 25 %%, 10 %% and 5 %%; the rest is skewed (u³): a few
                        -- mid-sized MSPs, a long tail of small ones.
                        CASE WHEN b < 25 THEN (%(msp_ids)s::bigint[])[1] WHEN b < 35 THEN (%(msp_ids)s::bigint[])[2]
                             WHEN b < 40 THEN (%(msp_ids)s::bigint[])[3]
                             ELSE (%(msp_ids)s::bigint[])[4 + floor((%(msps)s - 3)
                                  * power(((i * 7919) %% 1000003) / 1000003.0, 3))::int] END AS organization_id,
                        CASE WHEN (i * 53) %% 100 < 87 THEN 'active' WHEN (i * 53) %% 100 < 91 THEN 'cancelled'
                             WHEN (i * 53) %% 100 < 94 THEN 'pending_approval'
                             WHEN (i * 53) %% 100 < 95 THEN 'provisioning'
                             WHEN (i * 53) %% 100 < 96 THEN 'provisioning_failed'
                             WHEN (i * 53) %% 100 < 97 THEN 'rejected'
                             WHEN (i * 53) %% 100 < 98 THEN 'withdrawn' ELSE 'merged' END AS s,
                        now() - ((5 + i %% 1500) || ' days')::interval - ((i * 7) %% 86400 || ' seconds')::interval
                            AS reg,
                        -- Mostly small tenants, a few large ones.
                        CASE WHEN i %% 100 = 0 THEN 500 + (i * 7919) %% 4500 ELSE 1 + (i * 7919) %% 200 END AS users,
                        b
                    FROM (SELECT i, (i * 37) %% 100 AS b FROM generate_series(1::bigint, %(n)s::bigint) AS i) AS raw
                ) AS g
            ) AS d
            """,
            params,
        )
        total_charge = " + ".join(f"CASE WHEN ch{k} THEN amt{k} ELSE 0 END" for k in range(len(charge_days))) or "0"
        charges = " + ".join(f"CASE WHEN ch{k} THEN 1 ELSE 0 END" for k in range(len(charge_days))) or "0"
        # A wallet only loses points after its allocation, so it has been negative since the
        # first charge that took it below zero.
        negative_since = "CASE {} END".format(
            " ".join(
                f"WHEN alloc - ({' + '.join(f'CASE WHEN ch{j} THEN amt{j} ELSE 0 END' for j in range(k + 1))}) < 0"
                f" THEN %(m{k})s::timestamptz"
                for k in range(len(charge_days))
            )
            or "WHEN false THEN NULL::timestamptz"
        )
        with connection.cursor() as cursor:
            # An account that ended (cancelled, merged) was settled to 0: it was given exactly
            # what it consumed while active (nothing, if it was never charged).
            cursor.execute(
                f"ALTER TABLE bench_gen ADD COLUMN balance bigint, ADD COLUMN charges int,"
                f" ADD COLUMN negative_since timestamptz;"
                f"UPDATE bench_gen SET alloc = NULLIF({total_charge}, 0) WHERE s IN ('cancelled', 'merged');"
                f"UPDATE bench_gen SET balance = alloc - ({total_charge}), charges = {charges},"
                f" negative_since = {negative_since} WHERE alloc IS NOT NULL",
                params,
            )

    def _customers(self, params: dict) -> None:
        # The folded forms of the name parts are computed in Python by the product's own
        # function (customers.search), so the stored search text is exactly what the services
        # would store; the other searched fields are generated lowercase ASCII or kanji already.
        search = (
            "code || E'\\n' || company_folded || E'\\n' || kana_folded || E'\\n' || domain || E'\\n' "
            "|| contact_name || E'\\n' || contact_email || E'\\n' || reseller"
        )
        self._timed(
            "customer accounts",
            f"""
            INSERT INTO accounts_customeraccount (
                id, organization_id, account_code, company_name, company_name_kana, email_domain, country, address,
                industry, company_size, contact_name, contact_email, phone, contracted_users, reseller_name,
                reseller_contact_name, reseller_contact_email, support_account_id, hidden_menus, auto_replenish,
                status, cancellation_date, archived_at, registered_at, submitted_at, updated_at, approved_at,
                activated_at, cancelled_at, suspended_at, provisioning_attempts, provisioning_error, search_text)
            SELECT id, organization_id, code, company, kana, domain, '日本', address, industry, size, contact_name,
                contact_email, phone, users, reseller, reseller_contact, reseller_email, support, '[]'::jsonb, false,
                s, cancellation_date, archived_at, reg, reg, reg, approved_at, activated_at, cancelled_at,
                -- What the daily runs so far did (billing_jobs.services.update_suspensions): an
                -- active account negative for longer than the grace period is suspended.
                CASE WHEN s = 'active' AND negative_since + %(grace)s <= now() THEN negative_since + %(grace)s END,
                CASE WHEN s IN ('provisioning_failed') THEN 3 WHEN approved_at IS NOT NULL THEN 1 ELSE 0 END,
                CASE WHEN s = 'provisioning_failed' THEN 'tenant creation timed out' ELSE '' END,
                {search}
            FROM (
                SELECT gen.*,
                    'bench-' || lpad(i::text, 7, '0') AS code,
                    '株式会社' || (%(family)s::text[])[1 + i %% 20] || (%(trade)s::text[])[1 + (i / 20) %% 15] || i
                        AS company,
                    'カブシキガイシャ' || (%(family_kana)s::text[])[1 + i %% 20]
                        || (%(trade_kana)s::text[])[1 + (i / 20) %% 15] AS kana,
                    %(kabushiki_folded)s || (%(family_folded)s::text[])[1 + i %% 20]
                        || (%(trade_folded)s::text[])[1 + (i / 20) %% 15] || i AS company_folded,
                    %(kabushiki_kana_folded)s || (%(family_kana_folded)s::text[])[1 + i %% 20]
                        || (%(trade_kana_folded)s::text[])[1 + (i / 20) %% 15] AS kana_folded,
                    'c' || i || '.example.jp' AS domain,
                    '東京都千代田区' || (i %% 9 + 1) || '-' || (i %% 30 + 1) AS address,
                    (ARRAY['manufacturing', 'it', 'finance', 'retail', 'construction', 'medical', 'education',
                           'public', 'services', 'other'])[1 + i %% 10] AS industry,
                    (ARRAY['1-49', '50-299', '300-999', '1000-4999', '5000+'])[1 + (i / 10) %% 5] AS size,
                    (%(family)s::text[])[1 + (i / 7) %% 20] || ' 太郎' AS contact_name,
                    'contact' || i || '@c' || i || '.example.jp' AS contact_email,
                    '03-0000-' || lpad((i %% 10000)::text, 4, '0') AS phone,
                    CASE WHEN i %% 3 = 0 THEN '販売店' || (i %% 50) ELSE '' END AS reseller,
                    CASE WHEN i %% 3 = 0 THEN '販売 花子' ELSE '' END AS reseller_contact,
                    CASE WHEN i %% 3 = 0 THEN 'sales' || (i %% 50) || '@reseller.example.jp' ELSE '' END
                        AS reseller_email,
                    CASE WHEN i %% 10 <> 0 THEN NULL WHEN organization_id = %(msp0)s THEN %(support0)s
                         WHEN organization_id = %(msp1)s THEN %(support1)s
                         WHEN organization_id = %(msp2)s THEN %(support2)s END AS support,
                    CASE WHEN s = 'active' AND i %% 50 = 0
                         THEN (now() AT TIME ZONE 'Asia/Tokyo')::date + (1 + i %% 60)::int END AS cancellation_date,
                    CASE WHEN s IN ('cancelled', 'withdrawn', 'rejected', 'merged') AND i %% 2 = 0
                         THEN now() - interval '1 day' END AS archived_at,
                    CASE WHEN s = 'cancelled' THEN ended_at END AS cancelled_at
                FROM bench_gen AS gen
            ) AS c
            """,
            params,
        )

    def _histories(self) -> None:
        self._timed(
            "status history",
            """
            INSERT INTO accounts_customerstatuschange (customer_id, from_status, to_status, reason, created_at)
            SELECT id, '', 'pending_approval', '', reg FROM bench_gen
            UNION ALL
            SELECT id, 'pending_approval', s, CASE WHEN s = 'rejected' THEN '申込内容に不備があります' ELSE '' END,
                   reg + interval '1 hour' FROM bench_gen WHERE s IN ('rejected', 'withdrawn')
            UNION ALL
            SELECT id, 'pending_approval', 'provisioning', '', approved_at FROM bench_gen WHERE approved_at IS NOT NULL
            UNION ALL
            SELECT id, 'provisioning', CASE WHEN s = 'provisioning_failed' THEN 'provisioning_failed' ELSE 'active' END,
                   '', COALESCE(activated_at, approved_at + interval '1 hour')
              FROM bench_gen WHERE s IN ('active', 'cancelled', 'merged', 'provisioning_failed')
            UNION ALL
            SELECT id, 'active', s, '', ended_at FROM bench_gen WHERE s IN ('cancelled', 'merged')
            """,
        )
        self._timed(
            "contract history",
            """
            INSERT INTO accounts_contractchange (customer_id, old_users, new_users, effective_at, created_at)
            SELECT id, NULL, users, reg, reg FROM bench_gen
            """,
        )

    def _ledger(
        self, params: dict, charge_days: list[dt.date], this_rule: ConsumptionRule, next_rule: ConsumptionRule
    ) -> None:
        # Each pool buys 2,000 points per account it holds (a little more than it hands out).
        self._timed(
            "purchases",
            """
            CREATE TEMP TABLE bench_pool AS
            SELECT pool.id AS pool_id, pool.organization_id, 1000 + 2000 * count(g.id) AS purchased
            FROM points_ledgeraccount pool JOIN bench_gen g ON g.organization_id = pool.organization_id
            WHERE pool.kind = 'pool' GROUP BY pool.id, pool.organization_id;
            INSERT INTO points_transfer (debit_account_id, credit_account_id, amount, kind, period, memo,
                order_reference, created_at, idempotency_key, request_hash, credit_seq, credit_balance_after)
            SELECT iss.id, p.pool_id, p.purchased, 'purchase', '', '', 'BENCH-' || p.organization_id,
                   now() - interval '2000 days', 'bench:purchase:' || p.pool_id, '', 1, p.purchased
            FROM bench_pool p CROSS JOIN (SELECT id FROM points_ledgeraccount WHERE kind = 'issuance') iss
            """,
        )
        self._timed(
            "wallets",
            """
            INSERT INTO points_ledgeraccount (
                id, kind, customer_id, balance, last_seq, created_at, msp_id, estimated_balance)
            SELECT g.wallet_id, 'wallet', g.id, COALESCE(g.balance, 0), COALESCE(1 + g.charges, 0),
                c.registered_at, c.organization_id, COALESCE(g.balance, 0) - ({due})
            FROM bench_gen g JOIN accounts_customeraccount c ON c.id = g.id
            """.format(
                due=_due_sql(
                    status="c.status",
                    activated_at="c.activated_at",
                    cancellation_date="c.cancellation_date",
                    users="c.contracted_users",
                    this_rule=this_rule,
                    next_rule=next_rule,
                )
            ),
            params,
        )
        self._timed(
            "allocations",
            """
            INSERT INTO points_transfer (debit_account_id, credit_account_id, amount, kind, customer_id, period, memo,
                order_reference, created_at, idempotency_key, request_hash, debit_seq, debit_balance_after,
                credit_seq, credit_balance_after)
            SELECT p.pool_id, g.wallet_id, g.alloc, 'allocate', g.id, '', '', '', g.activated_at,
                   'bench:allocate:' || g.id, '',
                   1 + row_number() OVER w, p.purchased - sum(g.alloc) OVER w, 1, g.alloc
            FROM bench_gen g JOIN bench_pool p ON p.organization_id = g.organization_id
            WHERE g.alloc IS NOT NULL
            WINDOW w AS (PARTITION BY p.pool_id ORDER BY g.activated_at, g.id)
            """,
        )
        for index, day in enumerate(charge_days):
            rule = rule_at(day)
            period = dates.period_of(day)
            earlier = range(index + 1)
            seq = "1 + " + " + ".join(f"CASE WHEN ch{k} THEN 1 ELSE 0 END" for k in earlier)
            spent = " + ".join(f"CASE WHEN ch{k} THEN amt{k} ELSE 0 END" for k in earlier)
            self._timed(
                f"consumption {period}",
                f"""
                INSERT INTO points_transfer (debit_account_id, credit_account_id, amount, kind, customer_id, period,
                    memo, order_reference, created_at, idempotency_key, request_hash, debit_seq,
                    debit_balance_after, snapshot)
                SELECT g.wallet_id, cons.id, g.amt{index}, 'consumption', g.id, %(period)s, '', '', %(moment)s,
                       'consume:' || g.id || ':' || %(period)s, '', {seq}, g.alloc - ({spent}),
                       jsonb_build_object('period', %(period)s, 'charge_date', %(day)s, 'contracted_users', g.users,
                           'rule_id', %(rule_id)s, 'base_points', %(base)s, 'included_users', %(included)s,
                           'points_per_extra_user', %(per_user)s)
                FROM bench_gen g CROSS JOIN (SELECT id FROM points_ledgeraccount WHERE kind = 'consumed') cons
                WHERE g.ch{index}
                """,
                {
                    **params,
                    "period": period,
                    "moment": dates.start_of_day(day),
                    "day": day.isoformat(),
                    "rule_id": rule.pk,
                    "base": rule.base_points,
                    "included": rule.included_users,
                    "per_user": rule.points_per_extra_user,
                },
            )
        # Pools, issuance and consumed: a handful of rows, from the transfers just written.
        spent = " + ".join(f"CASE WHEN ch{k} THEN amt{k} ELSE 0 END" for k in range(len(charge_days))) or "0"
        self._timed(
            "system and pool balances",
            f"""
            UPDATE points_ledgeraccount pool SET balance = p.purchased - a.allocated, last_seq = 1 + a.n
            FROM bench_pool p JOIN (
                SELECT organization_id, sum(alloc) AS allocated, count(*) AS n FROM bench_gen
                WHERE alloc IS NOT NULL GROUP BY organization_id
            ) a ON a.organization_id = p.organization_id
            WHERE pool.id = p.pool_id;
            UPDATE points_ledgeraccount SET balance = balance - (SELECT sum(purchased) FROM bench_pool)
            WHERE kind = 'issuance';
            UPDATE points_ledgeraccount SET balance = balance + (
                SELECT COALESCE(sum({spent}), 0) FROM bench_gen WHERE alloc IS NOT NULL)
            WHERE kind = 'consumed';
            DROP TABLE bench_pool
            """,
        )

    def _audit(self, params: dict, operator: Organization) -> None:
        """The audit trail the services would have written for these accounts, in time order (as
        an append-only table is): registration by MSP staff (a quarter of the largest MSP's by
        the benchmark MSP admin), the operator's approval, provisioning, a contract change for
        every fourth account."""
        admin = User.objects.get(email=BENCH_MSP_ADMIN)
        approver = User.objects.get(email=BENCH_OPERATOR)
        self._timed(
            "audit events",
            """
            INSERT INTO audit_auditevent (created_at, actor_id, actor_label, organization_id, action, object_type,
                object_id, object_repr, customer_id, before, after, ip, channel)
            SELECT e.at, e.actor_id, e.actor_label, e.organization_id, e.action, 'customers.CustomerAccount', c.id::text,
                   c.company_name, c.id, e.before, e.after, e.ip::inet, e.channel
            FROM (
                SELECT g.id, g.reg AS at,
                       CASE WHEN g.organization_id = %(msp0)s AND g.id %% 4 = 0 THEN %(admin)s END AS actor_id,
                       CASE WHEN g.organization_id = %(msp0)s AND g.id %% 4 = 0 THEN %(admin_label)s
                            ELSE 'staff' || (g.id %% 5) || '@msp' || g.organization_id || '.example.jp' END
                           AS actor_label,
                       g.organization_id, 'customer.register' AS action, NULL::jsonb AS before,
                       jsonb_build_object('contracted_users', g.users) AS after,
                       '192.0.2.' || (g.id %% 250 + 1) AS ip, 'web' AS channel
                FROM bench_gen g
                UNION ALL
                SELECT g.id, g.approved_at, %(approver)s, %(approver_label)s, %(operator)s, 'customer.approve',
                       '{"status": "pending_approval"}'::jsonb, '{"status": "provisioning"}'::jsonb,
                       '198.51.100.7', 'web'
                FROM bench_gen g WHERE g.approved_at IS NOT NULL
                UNION ALL
                SELECT g.id, g.activated_at, NULL, 'job', g.organization_id, 'customer.provisioning_succeeded',
                       NULL, '{"status": "active"}'::jsonb, NULL, 'job'
                FROM bench_gen g WHERE g.activated_at IS NOT NULL
                UNION ALL
                SELECT g.id, g.reg + interval '40 days', NULL,
                       'staff' || (g.id %% 5) || '@msp' || g.organization_id || '.example.jp',
                       g.organization_id, 'customer.contract_change', jsonb_build_object('contracted_users', g.users),
                       jsonb_build_object('contracted_users', g.users + 1), '192.0.2.9', 'web'
                FROM bench_gen g WHERE g.id %% 4 = 1 AND g.reg + interval '40 days' < now()
            ) AS e JOIN accounts_customeraccount c ON c.id = e.id
            ORDER BY e.at
            """,
            {
                **params,
                "admin": admin.pk,
                "admin_label": admin.email,
                "approver": approver.pk,
                "approver_label": approver.email,
                "operator": operator.pk,
            },
        )

    def _busy_account(
        self,
        params: dict,
        msp: Organization,
        this_rule: ConsumptionRule,
        next_rule: ConsumptionRule,
        latest_due: dt.date,
        charge_days: list[dt.date],
    ) -> None:
        """One account of the largest MSP with BUSY_YEARS years of history: a top-up from the pool
        every day and the monthly charges of the history months (as every other account: a
        month charged for some accounts must be charged for all eligible ones), each sequence
        number and balance as the ledger's posting writes them (verify_ledger holds)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts_customeraccount'"
                " ORDER BY ordinal_position"
            )
            columns = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT min(id) FROM accounts_customeraccount WHERE organization_id = %s AND status = 'active'"
                " AND suspended_at IS NULL AND cancellation_date IS NULL",
                [msp.pk],
            )
            template = cursor.fetchone()[0]
            cursor.execute("SELECT max(id) + 1 FROM accounts_customeraccount")
            customer_id = cursor.fetchone()[0]
        company, kana = "株式会社ベンチ多忙商事", "カブシキガイシャベンチタボウショウジ"
        started = dt.datetime.combine(
            dates.add_months(latest_due, -12 * BUSY_YEARS), dt.time(9), tzinfo=dates.TOKYO
        ) - dt.timedelta(days=40)
        overrides = {
            "id": "%(customer)s",
            "account_code": "%(code)s",
            "company_name": "%(company)s",
            "company_name_kana": "%(kana)s",
            "email_domain": "'busy.example.jp'",
            "contact_email": "'contact@busy.example.jp'",
            "registered_at": "%(started)s",
            "submitted_at": "%(started)s",
            "approved_at": "%(started)s",
            "activated_at": "%(started)s::timestamptz + interval '1 hour'",
            "updated_at": "%(started)s",
            "search_text": "%(search)s",
        }
        select = ", ".join(overrides.get(name, name) for name in columns)
        fields = {
            "account_code": BENCH_BUSY_CODE,
            "company_name": company,
            "company_name_kana": kana,
            "email_domain": "busy.example.jp",
            "contact_email": "contact@busy.example.jp",
        }
        search = "\n".join(search_normalize(fields.get(name, "")) for name in SEARCH_FIELDS)
        values = {
            "customer": customer_id,
            "code": BENCH_BUSY_CODE,
            "company": company,
            "kana": kana,
            "started": started,
            "search": search,
            "template": template,
            "msp": msp.pk,
            "first_charge": charge_days[0] if charge_days else latest_due,
            "latest_due": latest_due,
            "rule_id": this_rule.pk,
            "this_25": params["this_25"],
            "next_25": params["next_25"],
            "this_25_start": params["this_25_start"],
            "next_25_start": params["next_25_start"],
            "before_this_25": params["before_this_25"],
        }
        due = _due_sql(
            status="c.status",
            activated_at="c.activated_at",
            cancellation_date="c.cancellation_date",
            users="c.contracted_users",
            this_rule=this_rule,
            next_rule=next_rule,
        )
        self._timed(
            "busy account",
            f"""
            INSERT INTO accounts_customeraccount ({", ".join(columns)})
            SELECT {select} FROM accounts_customeraccount WHERE id = %(template)s;
            INSERT INTO accounts_customerstatuschange (customer_id, from_status, to_status, reason, created_at)
            VALUES (%(customer)s, '', 'pending_approval', '', %(started)s),
                   (%(customer)s, 'pending_approval', 'provisioning', '', %(started)s),
                   (%(customer)s, 'provisioning', 'active', '', %(started)s::timestamptz + interval '1 hour');
            INSERT INTO accounts_contractchange (customer_id, old_users, new_users, effective_at, created_at)
            SELECT %(customer)s, NULL, contracted_users, %(started)s, %(started)s
            FROM accounts_customeraccount WHERE id = %(customer)s;
            CREATE TEMP TABLE bench_busy AS
            SELECT e.*, row_number() OVER (ORDER BY at, kind) AS seq,
                   sum(CASE WHEN kind = 'allocate' THEN amount ELSE -amount END) OVER (ORDER BY at, kind) AS after
            FROM (
                SELECT 'allocate' AS kind, day + interval '10 hours' AS at, 40 AS amount, NULL::text AS period
                FROM generate_series(%(started)s::timestamptz + interval '1 day',
                                     now() - interval '1 day', interval '1 day') AS day
                UNION ALL
                SELECT 'consumption', (charge::date)::timestamptz, 1000, to_char(charge, 'YYYY-MM')
                FROM generate_series(%(first_charge)s::date, %(latest_due)s::date - interval '1 month',
                                     interval '1 month') AS charge
            ) AS e;
            INSERT INTO points_ledgeraccount (id, kind, customer_id, balance, last_seq, created_at, msp_id,
                estimated_balance)
            SELECT (SELECT max(id) + 1 FROM points_ledgeraccount), 'wallet', %(customer)s, b.after, b.seq,
                %(started)s, %(msp)s, b.after
            FROM bench_busy b ORDER BY seq DESC LIMIT 1;
            UPDATE points_ledgeraccount w SET estimated_balance = w.balance - ({due})
            FROM accounts_customeraccount c WHERE c.id = w.customer_id AND w.customer_id = %(customer)s;
            CREATE TEMP TABLE bench_busy_pool AS
            SELECT p.id AS pool_id, p.balance, p.last_seq, w.id AS wallet_id,
                (SELECT id FROM points_ledgeraccount WHERE kind = 'consumed') AS consumed_id
            FROM points_ledgeraccount p, points_ledgeraccount w
            WHERE p.kind = 'pool' AND p.organization_id = %(msp)s AND w.customer_id = %(customer)s;
            INSERT INTO points_transfer (debit_account_id, credit_account_id, amount, kind, customer_id, period,
                memo, order_reference, created_at, idempotency_key, request_hash, debit_seq, debit_balance_after,
                credit_seq, credit_balance_after, snapshot)
            SELECT CASE WHEN b.kind = 'allocate' THEN p.pool_id ELSE p.wallet_id END,
                   CASE WHEN b.kind = 'allocate' THEN p.wallet_id ELSE p.consumed_id END,
                   b.amount, b.kind, %(customer)s, COALESCE(b.period, ''), '', '', b.at,
                   'bench:busy:' || b.seq, '',
                   CASE WHEN b.kind = 'allocate' THEN p.last_seq + a.n ELSE b.seq END,
                   CASE WHEN b.kind = 'allocate' THEN p.balance - 40 * a.n ELSE b.after END,
                   CASE WHEN b.kind = 'allocate' THEN b.seq END,
                   CASE WHEN b.kind = 'allocate' THEN b.after END,
                   CASE WHEN b.kind = 'consumption' THEN jsonb_build_object('period', b.period,
                       'charge_date', (b.at AT TIME ZONE 'Asia/Tokyo')::date, 'rule_id', %(rule_id)s) END
            FROM bench_busy b CROSS JOIN bench_busy_pool p
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM bench_busy x
                               WHERE x.kind = 'allocate' AND x.seq <= b.seq) AS a ON true
            ORDER BY b.seq;
            UPDATE points_ledgeraccount p SET balance = p.balance - 40 * n.allocations,
                last_seq = p.last_seq + n.allocations
            FROM (SELECT count(*) AS allocations FROM bench_busy WHERE kind = 'allocate') AS n, bench_busy_pool bp
            WHERE p.id = bp.pool_id;
            UPDATE points_ledgeraccount SET balance = balance + (
                SELECT COALESCE(sum(amount), 0) FROM bench_busy WHERE kind = 'consumption')
            WHERE kind = 'consumed';
            DROP TABLE bench_busy, bench_busy_pool
            """,
            values,
        )


def _latest_due_period(today: dt.date) -> str:
    from billing_jobs.selectors import latest_due_period

    return latest_due_period(today)


def _has_rule(day: dt.date) -> bool:
    from points.models import ConsumptionRule

    return ConsumptionRule.objects.filter(effective_from__lte=day).exists()


def _maintenance_dsn(db: dict) -> str:
    user = quote(db.get("USER") or "postgres")
    password = db.get("PASSWORD")
    auth = f"{user}:{quote(password)}@" if password else f"{user}@"
    return f"postgresql://{auth}{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/postgres"
