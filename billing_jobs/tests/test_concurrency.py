"""Two runs of the same date at once, on PostgreSQL with real row locks (threads, each with
its own database connection)."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections
from django.test import override_settings

from billing_jobs.models import JobStatus
from billing_jobs.selectors import missing_charges
from billing_jobs.services import run_billing
from customers.models import CustomerAccount

from .factories import active_customer, assert_ledger_consistent, at, consumptions

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = dt.date


def _run_concurrently(target, count: int) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


@override_settings(PORTAL_BILLING_CHUNK_SIZE=7)
def test_two_runs_at_once_charge_each_account_exactly_once(msp_org, other_msp_org):
    assert connection.vendor == "postgresql"
    customers = [
        active_customer(org, activated=at(D(2026, 10, 26)), users=5 + n, points=n)
        for n in range(40)
        for org in (msp_org, other_msp_org)
    ]
    CustomerAccount.objects.with_points().filter(pk=customers[3].pk).update(cancellation_date=D(2026, 11, 26))
    initial = dict(CustomerAccount.objects.with_points().values_list("pk", "points_balance"))
    with time_machine.travel(at(D(2026, 11, 26), 0, 10), tick=False):
        errors = _run_concurrently(lambda: run_billing(D(2026, 11, 26)), 3)
    assert errors == []
    assert consumptions(period="2026-11").count() == len(customers)
    assert consumptions(period="2026-11").values("customer").distinct().count() == len(customers)
    for before in customers:
        if before.pk == customers[3].pk:
            continue  # cancelled on the 26th: charged, then settled to 0
        expected = initial[before.pk] - (10 + max(0, before.contracted_users - 10))
        assert CustomerAccount.objects.with_points().get(pk=before.pk).points_balance == expected
    assert CustomerAccount.objects.with_points().get(pk=customers[3].pk).points_balance == 0
    assert_ledger_consistent()
    assert missing_charges(D(2026, 11, 26)) == []


@override_settings(PORTAL_BILLING_CHUNK_SIZE=7)
def test_a_run_whose_chunks_two_worker_processes_charge_posts_each_charge_once_and_finishes(msp_org, other_msp_org):
    customers = [
        active_customer(org, activated=at(D(2026, 10, 26)), users=5 + n, points=n)
        for n in range(20)
        for org in (msp_org, other_msp_org)
    ]
    initial = dict(CustomerAccount.objects.with_points().values_list("pk", "points_balance"))
    with time_machine.travel(at(D(2026, 11, 26), 0, 10), tick=False):
        job = run_billing(D(2026, 11, 26), workers=2)
    assert job.chunks_total > 2 and job.chunks_done == job.chunks_total
    assert job.status == JobStatus.SUCCEEDED and job.errors == ""
    assert consumptions(period="2026-11").count() == len(customers)
    points = dict(CustomerAccount.objects.with_points().values_list("pk", "points_balance"))
    for customer in customers:
        assert points[customer.pk] == initial[customer.pk] - (10 + max(0, customer.contracted_users - 10))
    assert_ledger_consistent()
    assert missing_charges(D(2026, 11, 26)) == []
