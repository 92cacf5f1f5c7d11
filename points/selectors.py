"""Reads of the ledger: pools and their history, a customer's statement, and the invariant
checks shared by `manage.py verify_ledger` and the tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import BigIntegerField, Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Greatest
from django.http import Http404

from accounts.models import Organization, User
from accounts.selectors import managed_organization_ids
from customers.lifecycle import ENDED_STATUSES, POINTS_STATUSES, CustomerStatus
from customers.models import CustomerAccount, CustomerStatusChange
from msp_portal.paging import merged_first_ids
from msp_portal.permissions import OrganizationKind

from .models import SYSTEM_KINDS, LedgerAccount, LedgerAccountKind, PurchaseRequest, Transfer, TransferKind

# --- Pools -----------------------------------------------------------------------------------


def pool_organizations_for(user: User) -> QuerySet[Organization]:
    """The MSPs whose pools the user may see: every MSP for the operator, itself and its child
    MSPs for a privileged MSP, itself for an MSP."""
    ids = managed_organization_ids(user)
    queryset = Organization.objects.filter(kind__in=(OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP))
    return queryset if ids is None else queryset.filter(pk__in=ids)


def pool_organization_for_user(user: User, organization_id) -> Organization:
    """The MSP `organization_id` if the user may see its pool, else 404."""
    try:
        return pool_organizations_for(user).get(pk=organization_id)
    except (Organization.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def pool_balance(organization: Organization | int) -> int:
    organization_id = organization if isinstance(organization, int) else organization.pk
    balance = (
        LedgerAccount.objects.pools().filter(organization_id=organization_id).values_list("balance", flat=True).first()
    )
    return balance or 0


def pools_in_debt(organization_ids: list[int] | None = None) -> QuerySet[LedgerAccount]:
    """Pools below zero (only cancellation settlement can put one there), worst first."""
    queryset = LedgerAccount.objects.pools().filter(balance__lt=0)
    if organization_ids is not None:
        queryset = queryset.filter(organization_id__in=organization_ids)
    return queryset.select_related("organization").order_by("balance", "pk")


def _account_statement(account_id: int) -> QuerySet[Transfer]:
    """The transfers of one pool or wallet with the account's side of each: `seq`, `delta`
    (signed points for this account) and `balance_after`, newest first."""
    on_debit = Q(debit_account_id=account_id)
    return (
        Transfer.objects.filter(on_debit | Q(credit_account_id=account_id))
        .annotate(
            seq=Case(When(on_debit, then=F("debit_seq")), default=F("credit_seq"), output_field=BigIntegerField()),
            delta=Case(When(on_debit, then=-F("amount")), default=F("amount"), output_field=BigIntegerField()),
            balance_after=Case(
                When(on_debit, then=F("debit_balance_after")),
                default=F("credit_balance_after"),
                output_field=BigIntegerField(),
            ),
        )
        .annotate(is_reversed=Exists(Transfer.objects.filter(reverses=OuterRef("pk"))))
        .select_related("customer", "actor")
        .order_by("-created_at", "-pk")
    )


def get_transfer_for_user(user: User, pk) -> Transfer:
    """A transfer touching a pool or a customer the user manages (all for the operator), else 404."""
    ids = managed_organization_ids(user)
    queryset = Transfer.objects.select_related("customer", "debit_account", "credit_account")
    if ids is not None:
        queryset = queryset.filter(
            Q(customer__organization_id__in=ids)
            | Q(debit_account__organization_id__in=ids)
            | Q(credit_account__organization_id__in=ids)
        )
    try:
        return queryset.get(pk=pk)
    except (Transfer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def pool_history(organization: Organization) -> QuerySet[Transfer]:
    pool = LedgerAccount.objects.pools().filter(organization=organization).first()
    return _account_statement(pool.pk) if pool is not None else _account_statement(0).none()


def customer_history(customer: CustomerAccount) -> QuerySet[Transfer]:
    """Every transfer of the customer's wallet with the balance after it, newest first."""
    wallet = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer=customer).first()
    return _account_statement(wallet.pk) if wallet is not None else _account_statement(0).none()


STATEMENT_ORDERING = ("-created_at", "-id")


def statement_page(filtered: QuerySet[Transfer], account_id: int | None, bound: int) -> QuerySet[Transfer]:
    """The first `bound` transfers of one pool or wallet among `filtered` (the history filter's
    result over all transfers), newest first, as `_account_statement` shows them.

    One query over `debit = a OR credit = a` is a bitmap of every transfer of the account and a
    sort (a large MSP's pool: 300,000 rows); each side alone is one backward range of its
    (account, time) index, or of its (account, kind, time) index under the kind filter, that
    stops after `bound` rows (msp_portal.paging.merged_first_ids)."""
    if account_id is None:
        return _account_statement(0).none()
    parts = [filtered.filter(debit_account_id=account_id), filtered.filter(credit_account_id=account_id)]
    ids = merged_first_ids(parts, STATEMENT_ORDERING, bound)
    return _account_statement(account_id).filter(pk__in=ids)


def pool_account_id(organization: Organization) -> int | None:
    return LedgerAccount.objects.pools().filter(organization=organization).values_list("pk", flat=True).first()


def wallet_account_id(customer: CustomerAccount) -> int | None:
    return (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer=customer)
        .values_list("pk", flat=True)
        .first()
    )


# --- Balance chart ---------------------------------------------------------------------------

CHART_MAX_POINTS = 240


@dataclass(frozen=True)
class Chart:
    """A server-side SVG step chart of a balance over time (no JavaScript needed)."""

    width: int
    height: int
    path: str
    zero_y: float | None
    min_label: int
    max_label: int
    first_label: str
    last_label: str
    dots: list[tuple[float, float, int, str]]


def balance_chart(history: QuerySet[Transfer], *, width: int = 720, height: int = 200) -> Chart | None:
    """The balance after each of the latest CHART_MAX_POINTS transfers, as a step line."""
    rows = list(reversed(history.values_list("created_at", "balance_after")[:CHART_MAX_POINTS]))
    if not rows:
        return None
    pad_x, pad_y = 8.0, 12.0
    values = [0, *[balance for _at, balance in rows]]
    low, high = min(values), max(values)
    span = (high - low) or 1
    start, end = rows[0][0], rows[-1][0]
    seconds = (end - start).total_seconds() or 1.0

    def x_of(moment) -> float:
        return round(pad_x + (width - 2 * pad_x) * (moment - start).total_seconds() / seconds, 1)

    def y_of(value: int) -> float:
        return round(pad_y + (height - 2 * pad_y) * (high - value) / span, 1)

    parts = [f"M{pad_x} {y_of(0)}"]
    dots = []
    previous_y = y_of(0)
    for moment, balance in rows:
        x, y = x_of(moment), y_of(balance)
        parts.append(f"L{x} {previous_y}L{x} {y}")
        dots.append((x, y, balance, moment.strftime("%Y-%m-%d %H:%M")))
        previous_y = y
    parts.append(f"L{width - pad_x} {previous_y}")
    return Chart(
        width=width,
        height=height,
        path="".join(parts),
        zero_y=y_of(0) if low < 0 < high or low == 0 or high == 0 else None,
        min_label=low,
        max_label=high,
        first_label=start.strftime("%Y-%m-%d"),
        last_label=end.strftime("%Y-%m-%d"),
        dots=dots if len(dots) <= 60 else [],
    )


# --- Invariants (DESIGN.md §5.1) -------------------------------------------------------------

REPORT_LIMIT = 20


@dataclass(frozen=True)
class Problem:
    check: str
    message: str


LedgerCheck = Callable[[], list[Problem]]


def _sum_of(side: str) -> Subquery:
    return Coalesce(
        Subquery(
            Transfer.objects.filter(**{f"{side}_account": OuterRef("pk")})
            .order_by()
            .values(f"{side}_account")
            .annotate(total=Sum("amount"))
            .values("total")
        ),
        Value(0),
        output_field=BigIntegerField(),
    )


def check_balances_match_transfers() -> list[Problem]:
    """Every stored balance equals the sum of its transfers (credits − debits)."""
    drifted = (
        LedgerAccount.objects.annotate(expected=_sum_of("credit") - _sum_of("debit"))
        .exclude(balance=F("expected"))
        .order_by("pk")
    )
    return [
        Problem("balance", f"{account}: stored balance {account.balance}, transfers sum to {account.expected}")
        for account in drifted[:REPORT_LIMIT]
    ]


def check_balances_sum_to_zero() -> list[Problem]:
    total = LedgerAccount.objects.aggregate(total=Sum("balance"))["total"] or 0
    return [] if total == 0 else [Problem("zero_sum", f"all balances sum to {total}, not 0")]


def check_single_consumption_per_period() -> list[Problem]:
    duplicates = (
        Transfer.objects.filter(kind=TransferKind.CONSUMPTION)
        .values("customer_id", "period")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("customer_id", "period")
    )
    return [
        Problem("consumption", f"customer {row['customer_id']}: {row['n']} consumptions for {row['period']}")
        for row in duplicates[:REPORT_LIMIT]
    ]


def check_customers_have_wallets() -> list[Problem]:
    """Every customer has one wallet, with its customer's MSP (the list reads its points from
    there and sorts by them through the wallet's indexes)."""
    wallets = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=OuterRef("pk"))
    missing = CustomerAccount.objects.filter(~Exists(wallets)).order_by("pk").values("pk", "account_code")
    drifted = (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET)
        .exclude(msp_id=F("customer__organization_id"))
        .order_by("pk")
        .values("customer_id", "customer__account_code")
    )
    return [
        Problem("customer_wallet", f"customer {row['account_code']} (id {row['pk']}) has no wallet")
        for row in missing[:REPORT_LIMIT]
    ] + [
        Problem(
            "customer_wallet",
            f"customer {row['customer__account_code']} (id {row['customer_id']}): "
            "the wallet's MSP differs from the customer's",
        )
        for row in drifted[:REPORT_LIMIT]
    ]


def check_transfer_customers() -> list[Problem]:
    """A transfer's `customer` (no database key: see points.models.Transfer) is the owner of its
    wallet side, and a transfer with a wallet side names one. A merge, wallet to wallet, has two
    customers: `check_merges` checks it."""
    wallet_owner = Case(
        When(debit_account__kind=LedgerAccountKind.WALLET, then=F("debit_account__customer_id")),
        When(credit_account__kind=LedgerAccountKind.WALLET, then=F("credit_account__customer_id")),
        default=Value(None),
        output_field=BigIntegerField(),
    )
    wrong = (
        Transfer.objects.exclude(kind=TransferKind.MERGE)
        .annotate(owner=wallet_owner)
        .filter(Q(owner__isnull=False) | Q(customer_id__isnull=False))
        .exclude(owner=F("customer_id"))
        .order_by("pk")
        .values("pk", "customer_id", "owner")
    )
    return [
        Problem(
            "transfer_customer", f"transfer {row['pk']}: names customer {row['customer_id']}, wallet of {row['owner']}"
        )
        for row in wrong[:REPORT_LIMIT]
    ]


def check_one_pool_per_msp() -> list[Problem]:
    """Every MSP organization has exactly one live pool, no other organization has one, and a
    retired pool points at a live pool of its own MSP (the schema holds the uniqueness and a
    retired pool's 0; this also finds what the schema cannot: a missing pool)."""
    msp_kinds = (OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP)
    live = LedgerAccount.objects.pools().values("organization_id")
    counts = (
        Organization.objects.annotate(
            pools=Count(
                "ledger_accounts",
                filter=Q(ledger_accounts__kind=LedgerAccountKind.POOL, ledger_accounts__retired_into__isnull=True),
            )
        )
        .filter((Q(kind__in=msp_kinds) & ~Q(pools=1)) | (~Q(kind__in=msp_kinds) & Q(pk__in=live)))
        .order_by("pk")
        .values("pk", "kind", "pools")
    )
    problems = [
        Problem("pools", f"organization {row['pk']} ({row['kind']}): {row['pools']} live pools")
        for row in counts[:REPORT_LIMIT]
    ]
    strays = (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, retired_into__isnull=False)
        .exclude(
            retired_into__kind=LedgerAccountKind.POOL,
            retired_into__retired_into__isnull=True,
            retired_into__organization_id=F("organization_id"),
        )
        .order_by("pk")
        .values("pk", "organization_id", "retired_into_id")
    )
    problems.extend(
        Problem(
            "pools",
            f"retired pool {row['pk']} (organization {row['organization_id']}): retired into "
            f"{row['retired_into_id']}, which is not that MSP's live pool",
        )
        for row in strays[:REPORT_LIMIT]
    )
    return problems


def check_one_account_per_system_kind() -> list[Problem]:
    """One issuance and one consumed account (the schema's ledger_one_system_account)."""
    duplicated = (
        LedgerAccount.objects.filter(kind__in=SYSTEM_KINDS)
        .values("kind")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("kind")
    )
    return [Problem("system_accounts", f"{row['n']} {row['kind']} accounts") for row in duplicated]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def customer_points(customer_id: int) -> tuple[int, int]:
    """The customer's current points and stored estimate, as the list shows them."""
    return (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer_id=customer_id)
        .values_list("balance", "estimated_balance")
        .get()
    )


def check_sequences_and_balance_after() -> list[Problem]:
    """Per pool and wallet: sequence numbers 1, 2, 3 … without gaps, each balance_after the
    previous one plus this transfer's signed amount, and the last one the stored balance."""
    transfers, accounts = _table(Transfer), _table(LedgerAccount)
    tracked = "('pool', 'wallet')"
    # Portable SQL (PostgreSQL and SQLite ≥ 3.25 both have window functions).
    chain_sql = f"""
        WITH sides AS (
            SELECT t.id, t.debit_account_id AS account_id, t.debit_seq AS seq,
                   t.debit_balance_after AS after, -t.amount AS delta
              FROM {transfers} t JOIN {accounts} a ON a.id = t.debit_account_id
             WHERE a.kind IN {tracked}
            UNION ALL
            SELECT t.id, t.credit_account_id, t.credit_seq, t.credit_balance_after, t.amount
              FROM {transfers} t JOIN {accounts} a ON a.id = t.credit_account_id
             WHERE a.kind IN {tracked}
        ), chained AS (
            SELECT id, account_id, seq, after, delta,
                   LAG(seq) OVER (PARTITION BY account_id ORDER BY seq, id) AS prev_seq,
                   LAG(after) OVER (PARTITION BY account_id ORDER BY seq, id) AS prev_after,
                   ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY seq, id) AS n
              FROM sides
        )
        SELECT id, account_id, seq, after, prev_seq, prev_after FROM chained
         WHERE seq IS NULL OR after IS NULL
            OR (n = 1 AND (seq <> 1 OR after <> delta))
            OR (n > 1 AND (seq <> prev_seq + 1 OR after <> prev_after + delta))
         ORDER BY account_id, seq
         LIMIT {REPORT_LIMIT}
    """  # noqa: S608 - table names come from the models, not from input
    last_sql = f"""
        SELECT id, kind, balance, last_seq, max_seq, n, last_after FROM (
            SELECT a.id, a.kind, a.balance, a.last_seq,
                   COALESCE(s.max_seq, 0) AS max_seq, COALESCE(s.n, 0) AS n,
                   (SELECT CASE WHEN t.debit_account_id = a.id THEN t.debit_balance_after
                                ELSE t.credit_balance_after END
                      FROM {transfers} t
                     WHERE (t.debit_account_id = a.id AND t.debit_seq = a.last_seq)
                        OR (t.credit_account_id = a.id AND t.credit_seq = a.last_seq)
                     LIMIT 1) AS last_after
              FROM {accounts} a
              LEFT JOIN (
                    SELECT account_id, MAX(seq) AS max_seq, COUNT(*) AS n FROM (
                        SELECT debit_account_id AS account_id, debit_seq AS seq FROM {transfers}
                        UNION ALL
                        SELECT credit_account_id, credit_seq FROM {transfers}
                    ) u GROUP BY account_id
              ) s ON s.account_id = a.id
             WHERE a.kind IN {tracked}
        ) x
         WHERE last_seq <> n OR last_seq <> max_seq
            OR (last_seq > 0 AND (last_after IS NULL OR last_after <> balance))
            OR (last_seq = 0 AND balance <> 0)
         ORDER BY id
         LIMIT {REPORT_LIMIT}
    """  # noqa: S608 - table names come from the models, not from input
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(chain_sql)
        for transfer_id, account_id, seq, after, prev_seq, prev_after in cursor.fetchall():
            problems.append(
                Problem(
                    "sequence",
                    f"ledger account {account_id}, transfer {transfer_id}: seq {seq}, balance after {after} "
                    f"does not follow seq {prev_seq}, balance after {prev_after}",
                )
            )
        cursor.execute(last_sql)
        for account_id, kind, balance, last_seq, max_seq, count, last_after in cursor.fetchall():
            problems.append(
                Problem(
                    "sequence",
                    f"ledger account {account_id} ({kind}): last_seq {last_seq}, {count or 0} transfers "
                    f"up to seq {max_seq or 0}; balance {balance}, last balance after {last_after}",
                )
            )
    return problems


def check_only_open_accounts_hold_points() -> list[Problem]:
    """Only accounts whose points may move (customers.lifecycle.POINTS_STATUSES) hold any: an
    application gives them back when it ends, and a cancelled or merged account is settled to
    exactly 0 (DESIGN.md §5.1, §6)."""
    holding = (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET)
        .exclude(customer__status__in=POINTS_STATUSES)
        .exclude(balance=0)
        .order_by("pk")
        .values("customer_id", "customer__account_code", "customer__status", "balance")
    )
    return [
        Problem(
            "settled_balance",
            f"customer {row['customer__account_code']} (id {row['customer_id']}) is {row['customer__status']} "
            f"but its wallet holds {row['balance']} points",
        )
        for row in holding[:REPORT_LIMIT]
    ]


def check_no_charge_after_settlement() -> list[Problem]:
    """A cancelled or merged account is charged only before its settlement (which charges what
    it still owes, then brings it to 0): no consumption comes after its last settlement transfer
    on the wallet, or — settled at 0, without one — after the status change that ended it."""
    wallet = OuterRef("pk")
    last_forfeit = Transfer.objects.filter(debit_account=wallet, kind=TransferKind.SETTLEMENT_FORFEIT).order_by(
        "-debit_seq"
    )
    last_topup = Transfer.objects.filter(credit_account=wallet, kind=TransferKind.SETTLEMENT_TOPUP).order_by(
        "-credit_seq"
    )
    ended = CustomerStatusChange.objects.filter(
        customer_id=OuterRef("customer_id"), to_status__in=ENDED_STATUSES
    ).order_by("-created_at", "-id")
    charges = Transfer.objects.filter(debit_account=wallet, kind=TransferKind.CONSUMPTION)
    late = (
        LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer__status__in=ENDED_STATUSES)
        .annotate(
            settled_seq=Greatest(
                Coalesce(Subquery(last_forfeit.values("debit_seq")[:1]), Value(0)),
                Coalesce(Subquery(last_topup.values("credit_seq")[:1]), Value(0)),
            ),
            ended_at=Subquery(ended.values("created_at")[:1]),
        )
        .filter(
            (Q(settled_seq__gt=0) & Exists(charges.filter(debit_seq__gt=OuterRef("settled_seq"))))
            | (Q(settled_seq=0) & Exists(charges.filter(created_at__gt=OuterRef("ended_at"))))
        )
        .order_by("pk")
        .values("customer_id", "customer__account_code", "customer__status")
    )
    return [
        Problem(
            "charge_after_settlement",
            f"customer {row['customer__account_code']} (id {row['customer_id']}) is {row['customer__status']}: "
            "a consumption was posted after its settlement",
        )
        for row in late[:REPORT_LIMIT]
    ]


def check_merges() -> list[Problem]:
    """Merges (DESIGN.md §11): a `merge` transfer moves points between the wallets of its two
    customers (the absorbed account, its `customer`, and the survivor its snapshot names, in
    either direction), and no merged account is charged after its merge — no consumption
    after its merge transfer on the wallet, nor after the status change that merged it. (That a
    merged account's wallet is at 0 is `check_only_open_accounts_hold_points`'s.)"""
    problems = []
    sides = (
        Transfer.objects.filter(kind=TransferKind.MERGE)
        .annotate(survivor_id=Cast(KT("snapshot__survivor"), BigIntegerField()))
        .exclude(
            Q(debit_account__customer_id=F("customer_id"), credit_account__customer_id=F("survivor_id"))
            | Q(debit_account__customer_id=F("survivor_id"), credit_account__customer_id=F("customer_id"))
        )
        .order_by("pk")
        .values("pk", "customer_id", "survivor_id")
    )
    problems += [
        Problem(
            "merge_transfer",
            f"merge transfer {row['pk']}: does not move points between the wallets of customer "
            f"{row['customer_id']} and its survivor {row['survivor_id']}",
        )
        for row in sides[:REPORT_LIMIT]
    ]
    merged = LedgerAccount.objects.filter(kind=LedgerAccountKind.WALLET, customer__status=CustomerStatus.MERGED)
    wallet = OuterRef("pk")
    merge_seq = Transfer.objects.filter(
        Q(debit_account=wallet) | Q(credit_account=wallet), kind=TransferKind.MERGE, customer_id=OuterRef("customer_id")
    ).annotate(seq=Case(When(debit_account=wallet, then=F("debit_seq")), default=F("credit_seq")))
    merged_at = CustomerStatusChange.objects.filter(
        customer_id=OuterRef("customer_id"), to_status=CustomerStatus.MERGED
    ).order_by("-created_at", "-id")
    charges = Transfer.objects.filter(debit_account=wallet, kind=TransferKind.CONSUMPTION)
    late = (
        merged.annotate(
            merge_seq=Subquery(merge_seq.order_by("-seq").values("seq")[:1]),
            merged_at=Subquery(merged_at.values("created_at")[:1]),
        )
        .filter(
            Exists(charges.filter(created_at__gt=OuterRef("merged_at")))
            | (Q(merge_seq__isnull=False) & Exists(charges.filter(debit_seq__gt=OuterRef("merge_seq"))))
        )
        .order_by("pk")
        .values("customer_id", "customer__account_code")
    )
    problems += [
        Problem(
            "charge_after_merge",
            f"customer {row['customer__account_code']} (id {row['customer_id']}) was charged after being merged",
        )
        for row in late[:REPORT_LIMIT]
    ]
    return problems


# The checks `ledger_problems` runs, in order. Other apps append theirs (e.g. billing_jobs:
# eligible accounts missing a charge) — a check takes no arguments and returns its problems.
LEDGER_CHECKS: list[LedgerCheck] = [
    check_balances_match_transfers,
    check_balances_sum_to_zero,
    check_single_consumption_per_period,
    check_customers_have_wallets,
    check_transfer_customers,
    check_sequences_and_balance_after,
    check_one_pool_per_msp,
    check_one_account_per_system_kind,
    check_only_open_accounts_hold_points,
    check_no_charge_after_settlement,
    check_merges,
]


def ledger_problems(checks: list[LedgerCheck] | None = None) -> list[Problem]:
    """Every invariant violation found (empty when the ledger is sound)."""
    problems: list[Problem] = []
    for check in LEDGER_CHECKS if checks is None else checks:
        problems.extend(check())
    return problems


@dataclass(frozen=True)
class ChargeEntry:
    """A monthly consumption charge in a customer's audit trail, shown like an event. The run
    writes one audit event per chunk of accounts (a million rows a month otherwise); each
    account's charge is its transfer, whose snapshot names the run."""

    created_at: dt.datetime
    before: dict
    after: dict
    job_run_id: int | None
    action: str = "points.consumption"
    actor_label: str = "job"
    ip: None = None


def charge_entries(customer: CustomerAccount, limit: int) -> list[ChargeEntry]:
    """The customer's latest consumption charges as audit-trail entries (added to
    customers.hooks.audit_trail_entries)."""
    charges = (
        Transfer.objects.filter(customer=customer, kind=TransferKind.CONSUMPTION)
        .order_by("-created_at", "-id")
        .values("created_at", "period", "amount", "debit_balance_after", "snapshot")[:limit]
    )
    return [
        ChargeEntry(
            created_at=charge["created_at"],
            before={"points_balance": charge["debit_balance_after"] + charge["amount"]},
            after={
                "points_balance": charge["debit_balance_after"],
                "period": charge["period"],
                "points": charge["amount"],
                "job_run": (charge["snapshot"] or {}).get("job_run_id"),
            },
            job_run_id=(charge["snapshot"] or {}).get("job_run_id"),
        )
        for charge in charges
    ]


def purchase_requests_visible_to(user: User) -> QuerySet[PurchaseRequest]:
    """The purchase requests of the MSPs whose pools the user sees (all for the operator)."""
    ids = managed_organization_ids(user)
    queryset = PurchaseRequest.objects.select_related("organization", "requested_by", "closed_by", "transfer")
    return queryset if ids is None else queryset.filter(organization_id__in=ids)


def get_purchase_request_for_user(user: User, pk) -> PurchaseRequest:
    """A purchase request the user may see, else 404."""
    try:
        return purchase_requests_visible_to(user).get(pk=pk)
    except (PurchaseRequest.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
