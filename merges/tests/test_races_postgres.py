"""Merges racing each other and the 25th's run, on PostgreSQL, each thread with its own database
connection, all released at once: two approvals of one request execute it once; a merge and the
monthly run leave exactly one charge per account and period, and the ledger sound."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connections

from accounts.tests.factories import UserFactory
from billing_jobs.services import run_billing
from billing_jobs.tests.factories import active_customer, at, consumptions
from customers.models import CustomerAccount, CustomerStatus
from merges import services
from merges.models import AccountRequest, RequestStatus
from msp_portal.errors import DomainError
from points.models import Transfer, TransferKind
from points.selectors import ledger_problems
from points.tests.helpers import fund

from .factories import merge_request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def run_at_once(*jobs) -> list:
    """Run the callables in threads released together; return what each returned or raised."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def work(index, job):
        try:
            barrier.wait(timeout=60)
            results[index] = job()
        except BaseException as exc:  # collected for the assertions
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_approvals_of_one_request_at_once_execute_it_once(msp_org, msp_admin, operator_user):
    colleague = UserFactory(membership__organization=msp_org, membership__role="admin")
    fund(msp_org, 10_000)
    with time_machine.travel(at(dt.date(2026, 11, 10), 12), tick=False):
        for _round in range(ROUNDS):
            survivor = active_customer(msp_org, activated=at(dt.date(2026, 11, 1)), points=50)
            absorbed = active_customer(msp_org, activated=at(dt.date(2026, 11, 1)), points=30)
            request = merge_request(msp_admin, survivor, absorbed)

            def approve(actor, request=request, absorbed=absorbed):
                return services.request_approve(
                    actor=actor, account_request=request, confirmation=absorbed.account_code
                )

            results = run_at_once(lambda: approve(colleague), lambda: approve(operator_user))
            refused = [result for result in results if isinstance(result, DomainError)]
            approved = [result for result in results if isinstance(result, AccountRequest)]
            assert (len(approved), len(refused)) == (1, 1), results
            assert Transfer.objects.filter(kind=TransferKind.MERGE, customer=absorbed).count() == 1
            survivor = CustomerAccount.objects.with_points().get(pk=survivor.pk)
            assert (survivor.points_balance, survivor.contracted_users) == (80, 40)
            assert survivor.contract_changes.count() == 2
            assert AccountRequest.objects.get(pk=request.pk).status == RequestStatus.APPROVED
        assert ledger_problems() == []


def test_a_merge_and_the_25ths_run_at_once_leave_one_charge_per_account_and_period(msp_org, msp_admin, operator_user):
    fund(msp_org, 100_000)
    pairs = []
    with time_machine.travel(at(dt.date(2026, 11, 20), 12), tick=False):
        for _round in range(ROUNDS):
            survivor = active_customer(msp_org, activated=at(dt.date(2026, 11, 1)), users=20, points=100)
            absorbed = active_customer(msp_org, activated=at(dt.date(2026, 11, 1)), users=15, points=100)
            pairs.append((merge_request(msp_admin, survivor, absorbed), survivor, absorbed))
    with time_machine.travel(at(dt.date(2026, 11, 25), 9), tick=False):
        for request, survivor, absorbed in pairs:
            results = run_at_once(
                lambda request=request, absorbed=absorbed: services.request_approve(
                    actor=operator_user, account_request=request, confirmation=absorbed.account_code
                ),
                lambda: run_billing(dt.date(2026, 11, 25)),
            )
            assert not any(isinstance(result, BaseException) for result in results), results
            assert CustomerAccount.objects.get(pk=absorbed.pk).status == CustomerStatus.MERGED
            for customer in (survivor, absorbed):
                assert consumptions(customer, "2026-11").count() == 1
        run_billing(dt.date(2026, 11, 25))
    for _request, survivor, absorbed in pairs:
        # The survivor paid November at its users of 00:00 (20); the absorbed account its own 15.
        assert [c.amount for c in consumptions(survivor)] == [20]
        assert [c.amount for c in consumptions(absorbed)] == [15]
        survivor = CustomerAccount.objects.with_points().get(pk=survivor.pk)
        assert survivor.points_balance == 100 - 20 + 100 - 15
    with time_machine.travel(at(dt.date(2026, 11, 26), 9), tick=False):
        assert ledger_problems() == []
