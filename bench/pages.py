"""The daily pages beside the list (DESIGN.md §12): each page's server time through the whole
Django stack, in process, beside the raw SQL of the same page's queries (EXPLAIN ANALYZE), the
two timed in alternation; each captured plan checked for sequential scans of the large tables
and for full counts. `manage.py bench` runs this phase as `pages`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse

from accounts.models import Membership, Organization, User
from customers.models import CustomerAccount
from msp_portal.permissions import OrganizationKind, Role
from points.models import LedgerAccount, Transfer, TransferKind

from .management.commands.bench_seed import BENCH_BUSY_CODE, BENCH_MSP_ADMIN, BENCH_PASSWORD

BENCH_SMALL_ADMIN = "bench-small-msp-admin@example.com"
BENCH_NEW_ADMIN = "bench-new-msp-admin@example.com"
BENCH_NEW_MSP = "ベンチ新規MSP"
# The tables a page must never read by a sequential scan at this size.
PAGE_LARGE_TABLES = frozenset(
    {
        "accounts_customeraccount",
        "accounts_customerstatuschange",
        "accounts_contractchange",
        "points_ledgeraccount",
        "points_transfer",
        "audit_auditevent",
    }
)
# The audit filter's action prefix (a filter value, not an action the code writes).
AUDIT_ACTION_PREFIX = "staff."
# The bar of every daily page (DESIGN.md §12, issue 19): p95 under this at 1,000,000 accounts.
PAGE_BAR_MS = 100


@dataclass
class PageScenario:
    key: str
    label: str
    who: str  # a key of bench_users()
    url: str


def bench_users() -> dict[str, User]:
    """The signed-in users of the page scenarios: the large MSP's admin and the operator (from
    bench_seed), the admin of the smallest MSP and of a new MSP with no customers or history
    (created here on first use, as an onboarding would)."""
    from accounts.services import organization_create

    users = {
        "msp": User.objects.get(email=BENCH_MSP_ADMIN),
        "operator": User.objects.get(email="bench-operator@example.com"),
    }
    small = (
        Organization.objects.filter(kind=OrganizationKind.MSP, name__startswith="ベンチMSP")
        .annotate(customer_count=Count("customers"))
        .filter(customer_count__gt=0)
        .order_by("customer_count", "pk")
        .first()
    )
    new = Organization.objects.filter(name=BENCH_NEW_MSP).first() or organization_create(
        actor=None, name=BENCH_NEW_MSP, kind=OrganizationKind.MSP
    )
    for key, email, organization in (("small", BENCH_SMALL_ADMIN, small), ("new", BENCH_NEW_ADMIN, new)):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=BENCH_PASSWORD, name=email.split("@")[0])
            Membership.objects.create(user=user, organization=organization, role=Role.ADMIN)
        users[key] = user
    return users


def page_scenarios(users: dict[str, User]) -> list[PageScenario]:
    msp = users["msp"].organization
    small = users["small"].organization
    typical = (
        CustomerAccount.objects.filter(organization=msp, status="active", suspended_at__isnull=True)
        .exclude(account_code=BENCH_BUSY_CODE)
        .order_by("pk")
        .first()
    )
    busy = CustomerAccount.objects.filter(account_code=BENCH_BUSY_CODE).first() or typical
    busy_transfers = Transfer.objects.filter(customer=busy).count()
    busy_last_page = max(1, -(-busy_transfers // 50))
    some_customer = CustomerAccount.objects.filter(organization=msp).order_by("-pk").first()
    pool = LedgerAccount.objects.pools().filter(organization=msp).first()
    first_allocation = (
        Transfer.objects.filter(debit_account=pool, kind=TransferKind.ALLOCATE).order_by("created_at").first()
        if pool is not None
        else None
    )
    a_day_at = (first_allocation.created_at if first_allocation else None) or typical.registered_at
    day = a_day_at.date().isoformat()
    detail = reverse("customers:detail", args=[typical.pk])
    busy_detail = reverse("customers:detail", args=[busy.pk])
    pool_url = reverse("points:pool")
    audit = reverse("audit_event_list")
    operator_email = users["operator"].email
    msp_email = users["msp"].email

    def q(url: str, **params) -> str:
        return f"{url}?{urlencode(params)}" if params else url

    scenarios = [
        PageScenario("dashboard.msp", "dashboard, MSP admin", "msp", reverse("dashboard")),
        PageScenario("dashboard.operator", "dashboard, operator", "operator", reverse("dashboard")),
        PageScenario("dashboard.new_msp", "dashboard, new MSP's admin", "new", reverse("dashboard")),
        PageScenario("pending.operator", "pending queue, operator", "operator", reverse("customers:pending")),
        PageScenario("pending.msp", "pending queue, MSP", "msp", reverse("customers:pending")),
        PageScenario("detail.typical.msp", "customer detail, a typical account", "msp", detail),
        PageScenario(
            "detail.busy.msp", f"customer detail, busy account ({busy_transfers:,} transfers)", "msp", busy_detail
        ),
        PageScenario(
            "detail.busy.history.page2",
            "busy account, points history page 2",
            "msp",
            q(busy_detail, **{"points-page": 2}),
        ),
        PageScenario(
            "detail.busy.history.last",
            f"busy account, points history page {busy_last_page} (last)",
            "msp",
            q(busy_detail, **{"points-page": busy_last_page}),
        ),
        PageScenario("pool.large.msp", "pool page, large MSP", "msp", pool_url),
        PageScenario("pool.small.msp", "pool page, small MSP", "small", pool_url),
        PageScenario("pool.new.msp", "pool page, new MSP", "new", pool_url),
        PageScenario("pool.overview.operator", "pool overview, operator", "operator", pool_url),
        PageScenario("pool.large.operator", "large MSP's pool, operator", "operator", q(pool_url, organization=msp.pk)),
        PageScenario(
            "pool.small.operator", "small MSP's pool, operator", "operator", q(pool_url, organization=small.pk)
        ),
        PageScenario(
            "pool.history.kind.purchase", "large pool history, kind purchase", "msp", q(pool_url, kind="purchase")
        ),
        PageScenario(
            "pool.history.kind.allocate", "large pool history, kind allocate", "msp", q(pool_url, kind="allocate")
        ),
        PageScenario(
            "pool.history.dates", f"large pool history, one day ({day})", "msp", q(pool_url, date_from=day, date_to=day)
        ),
        PageScenario(
            "pool.history.customer",
            "large pool history, one customer",
            "msp",
            q(pool_url, customer=some_customer.account_code),
        ),
        PageScenario("pool.history.page2", "large pool history, page 2", "msp", q(pool_url, page=2)),
        PageScenario("jobs.operator", "job runs, operator", "operator", reverse("billing_jobs:run_list")),
        PageScenario("audit.operator", "audit log, operator", "operator", audit),
        PageScenario("audit.large.msp", "audit log, large MSP", "msp", audit),
        PageScenario("audit.small.msp", "audit log, small MSP", "small", audit),
        PageScenario("audit.new.msp", "audit log, new MSP (no events yet)", "new", audit),
    ]
    for who, label in (("operator", "operator"), ("msp", "large MSP"), ("small", "small MSP")):
        scenarios += [
            PageScenario(
                f"audit.{who}.action",
                f"audit log, {label}, action staff.",
                who,
                q(audit, **{"action": AUDIT_ACTION_PREFIX}),
            ),
            PageScenario(
                f"audit.{who}.actor",
                f"audit log, {label}, by actor",
                who,
                q(
                    audit,
                    actor={"operator": operator_email, "msp": msp_email}.get(who, f"staff1@msp{small.pk}.example.jp"),
                ),
            ),
            PageScenario(
                f"audit.{who}.customer",
                f"audit log, {label}, one customer",
                who,
                q(audit, customer=(some_customer if who != "small" else _first_customer(small)).account_code),
            ),
            PageScenario(
                f"audit.{who}.object",
                f"audit log, {label}, object id",
                who,
                q(audit, object_id=str((some_customer if who != "small" else _first_customer(small)).pk)),
            ),
            PageScenario(
                f"audit.{who}.dates", f"audit log, {label}, one day ({day})", who, q(audit, date_from=day, date_to=day)
            ),
        ]
    scenarios += [
        PageScenario("staff.msp", "staff list, MSP admin", "msp", reverse("staff_list")),
        PageScenario("staff.operator", "staff list, operator", "operator", reverse("staff_list")),
    ]
    return scenarios


def _first_customer(organization: Organization) -> CustomerAccount:
    return CustomerAccount.objects.filter(organization=organization).order_by("pk").first()


# --- measuring ---------------------------------------------------------------------------------


def alternated(command, client, url: str, *, runs: int, warmup: int, tables=PAGE_LARGE_TABLES):
    """`runs` timed requests of `url`, each followed by one EXPLAIN ANALYZE pass over the
    queries the page ran (captured once, after the warm-up): the page and its raw SQL are
    timed in alternation, so that a busy minute of the machine weighs on both alike."""
    from django.core.management.base import CommandError
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        client.get(url, secure=True)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    if response.status_code != 200:
        raise CommandError(f"GET {url} answered {response.status_code}")
    queries = list(captured.captured_queries)
    timings, raw_times, checked = [], [], []
    import time

    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, secure=True)
        timings.append((time.perf_counter() - started) * 1000)
        total, checked = command._explain(queries, tables=tables)
        raw_times.append(total)
    return timings, raw_times, checked, len(queries)
