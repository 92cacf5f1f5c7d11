"""Every statement of the daily run is served by indexes (DESIGN.md §12: a run, or a day with
nothing to charge, in seconds at a million accounts).

The run's statements are recorded as they execute, on a small ledger shaped like a real one
(months of charges, negative, suspended, scheduled, cancelled and auto-replenishing accounts),
and each is EXPLAINed with sequential scans disabled: the planner then picks a Seq Scan only
when no index can serve the scan, so a Seq Scan in the plan of a per-account step is a full
pass over a table that grows with the accounts (or, for the transfers, with their history)."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from billing_jobs.services import run_billing
from customers.models import CustomerAccount, CustomerStatus, CustomerStatusChange
from customers.tests.factories import CustomerAccountFactory
from points import ledger
from points.models import TransferKind

from .factories import active_customer, at, buy, change_users, move

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

D = dt.date

# The tables that grow with the accounts and their history.
LARGE_TABLES = {
    "accounts_customeraccount",
    "accounts_customerstatuschange",
    "accounts_contractchange",
    "points_ledgeraccount",
    "points_transfer",
}


class Recorder:
    """An execute wrapper that keeps each statement with its parameters."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        if not many:
            self.statements.append((sql, params))
        return execute(sql, params, many, context)


def _planned(sql: str) -> bool:
    head = sql.lstrip().upper()
    return head.startswith(("SELECT", "WITH", "UPDATE", "DELETE")) or (head.startswith("INSERT") and "SELECT" in head)


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _plan_nodes(statements) -> list[tuple[dict, str]]:
    """Every node of every statement's plan, with its statement."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for sql, params in statements:
                if not _planned(sql):
                    continue
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                found += [(node, sql) for node in _nodes(plan[0]["Plan"])]
        finally:
            cursor.execute("RESET enable_seqscan")
    return found


def _realistic_ledger(msp_org, other_msp_org) -> None:
    """Two MSPs' accounts with three months of history before November's 25th."""
    with time_machine.travel(at(D(2026, 8, 1), 9), tick=False):
        for organization in (msp_org, other_msp_org):
            buy(organization, 5000)
            for n in range(6):
                # Well funded, short, and negative from the start.
                active_customer(organization, activated=at(D(2026, 7, 1)), users=12 + n, points=400)
                active_customer(organization, activated=at(D(2026, 7, 1)), users=20 + n, points=30)
                active_customer(organization, activated=at(D(2026, 7, 1)), users=25, auto_replenish=n % 2 == 0)
            # Not yet approved, and cancelled before the history began.
            for _ in range(2):
                CustomerAccountFactory(organization=organization, status=CustomerStatus.PENDING_APPROVAL)
                ended = CustomerAccountFactory(
                    organization=organization,
                    status=CustomerStatus.CANCELLED,
                    activated_at=at(D(2026, 6, 1)),
                    cancelled_at=at(D(2026, 7, 20)),
                )
                CustomerStatusChange.objects.create(
                    customer=ended, from_status="active", to_status="cancelled", created_at=at(D(2026, 7, 20))
                )
    for day in (D(2026, 8, 25), D(2026, 9, 25)):
        with time_machine.travel(at(day, 1), tick=False):
            run_billing(day)
    with time_machine.travel(at(D(2026, 10, 20), 9), tick=False):
        # Negative since October: past the grace period by November's 24th.
        for customer in CustomerAccount.objects.with_points().filter(points_balance__gt=300).order_by("pk")[:4]:
            move(
                TransferKind.WITHDRAW,
                ledger.wallet_for(customer),
                ledger.pool_for(customer.organization),
                1000,
                customer=customer,
            )
    with time_machine.travel(at(D(2026, 10, 25), 1), tick=False):
        run_billing(D(2026, 10, 25))
    with time_machine.travel(at(D(2026, 11, 2), 9), tick=False):
        customers = list(CustomerAccount.objects.filter(status=CustomerStatus.ACTIVE).order_by("pk"))
        for customer in customers[::5]:
            change_users(customer, customer.contracted_users + 3, at(D(2026, 11, 2), 9))
        # Suspended earlier and funded since: the run lifts the flag.
        for customer in CustomerAccount.objects.with_points().filter(points_balance__lt=0).order_by("pk")[:3]:
            move(
                TransferKind.ALLOCATE,
                ledger.pool_for(customer.organization),
                ledger.wallet_for(customer),
                1000,
                customer=customer,
            )
            CustomerAccount.objects.filter(pk=customer.pk).update(suspended_at=at(D(2026, 10, 20)))
        # Due on the 24th's run.
        CustomerAccount.objects.filter(pk__in=[c.pk for c in customers[1::7]]).update(cancellation_date=D(2026, 11, 24))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@override_settings(PORTAL_BILLING_CHUNK_SIZE=10, PORTAL_BILLING_CATCHUP_PERIODS=2)
def test_no_step_of_the_daily_run_scans_a_table_that_grows_with_the_accounts(msp_org, other_msp_org):
    _realistic_ledger(msp_org, other_msp_org)
    recorder = Recorder()
    jobs = {}

    # A reminder day with nothing left to charge (due cancellations, suspension, auto-replenish,
    # reminders), a 25th (a catch-up period and the new one, suspension), and a day with
    # nothing to charge.
    for day in (D(2026, 11, 24), D(2026, 11, 25), D(2026, 11, 26)):
        if day.day == 25:
            with time_machine.travel(at(D(2026, 11, 24), 12), tick=False):
                # Activated (backdated) before October's 25th: the 25th catches it up.
                active_customer(msp_org, activated=at(D(2026, 10, 20)), users=15, points=10)
        with connection.execute_wrapper(recorder), time_machine.travel(at(day, 1), tick=False):
            jobs[day.day] = run_billing(day)
        assert not jobs[day.day].errors, jobs[day.day].errors

    # Every step ran and did something, so each kind of statement is in the record.
    assert jobs[24].counts["cancelled"] > 0
    assert jobs[24].counts["auto_replenished"] > 0
    assert jobs[24].counts["reminders"] > 0
    assert jobs[24].counts["suspended"] > 0
    assert jobs[24].counts["unsuspended"] > 0
    assert jobs[25].counts["charged"]["2026-11"]["accounts"] > 0
    assert jobs[25].counts["charged"]["2026-10"]["accounts"] == 1
    sql = "\n".join(statement for statement, _ in recorder.statements)
    assert "INSERT INTO points_transfer" in sql  # a chunk's statement
    assert '"credit_balance_after" >= %s' in sql  # the suspension step
    assert '"auto_replenish"' in sql
    assert '"cancellation_date" <= %s' in sql
    assert sum(1 for s, _ in recorder.statements if '"suspended_at" IS NOT NULL' in s) >= 3
    nodes = _plan_nodes(recorder.statements)
    assert [
        (node["Relation Name"], sql)
        for node, sql in nodes
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in LARGE_TABLES
    ] == []
    # The suspension step's own indexes: a wallet's latest credit, who may be suspended, who is.
    used = {node.get("Index Name") for node, _ in nodes}
    assert {"transfer_credit_seq", "customer_active_unsuspended", "customer_suspended"} <= used
