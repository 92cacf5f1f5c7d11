"""解約 (with 同意) racing the other writes of the same customer, through the views, on
PostgreSQL: for each customer one thread cancels while others change its points, its contract,
its cancellation date or replenish it, all released at once; each thread has its own test client
(so a 500 is an answer, not an exception) and its own database connection. Whatever the order,
no cancelled wallet holds points, no request answers 500, and the ledger is sound."""

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from django.db import connections
from django.urls import reverse

from customers.models import CustomerAccount, CustomerStatus
from points.estimates import refresh_estimates
from points.forms import mint_form_key
from points.models import LedgerAccount
from points.selectors import ledger_problems
from points.tests.helpers import fund

from .factories import active_customer, at

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 10
CUSTOMERS = 10
RACERS = 5
HTMX = {"HTTP_HX_REQUEST": "true"}
NOW = at(dt.date(2026, 11, 10), 14)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clients(client_for, msp_admin):
    made = []
    for _ in range(1 + RACERS):
        client = client_for(msp_admin)
        client.raise_request_exception = False
        made.append(client)
    return made


def cancel(customer):
    url = reverse("customers:cancel", args=[customer.pk])
    return lambda client: client.post(url, {"agreed": "on"}, **HTMX)


def race(clients, customers, racer) -> Counter:
    """For each customer in turn: the 解約 and RACERS requests made by `racer(index, customer)`
    at once. Returns the answers' status codes."""
    barrier = threading.Barrier(len(clients))
    answers, errors, lock = Counter(), [], threading.Lock()

    def work(index):
        client = clients[index]
        try:
            for customer in customers:
                request = cancel(customer) if index == 0 else racer(index, customer)
                barrier.wait(timeout=120)
                response = request(client)
                with lock:
                    answers[response.status_code] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return answers


def rounds(msp_org, clients, racer, **customer_fields) -> Counter:
    fund(msp_org, 10_000_000)
    answers = Counter()
    for _round in range(ROUNDS):
        customers = [
            active_customer(msp_org, activated=NOW - dt.timedelta(days=3), **customer_fields) for _ in range(CUSTOMERS)
        ]
        ids = [customer.pk for customer in customers]
        refresh_estimates(CustomerAccount.objects.filter(pk__in=ids))
        answers += race(clients, customers, racer)
        assert set(CustomerAccount.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
            CustomerStatus.CANCELLED
        }
        wallets = LedgerAccount.objects.filter(customer_id__in=ids)
        assert list(wallets.exclude(balance=0).values_list("customer_id", "balance")) == []
    assert answers[500] == 0 and set(answers) <= {200}, answers
    assert ledger_problems() == []
    return answers


def test_cancelling_while_points_are_added_and_removed(msp_org, msp_admin, clients):
    def move(index, customer):
        url = reverse("points:change", args=[customer.pk])
        data = {"token": mint_form_key(msp_admin, "change"), "amount": "7" if index % 2 else "5"}
        data |= {"operation": "add"} if index % 2 else {"operation": "remove", "confirm_negative": "on"}
        return lambda client: client.post(url, data, **HTMX)

    rounds(msp_org, clients, move, users=20, points=50)


def test_cancelling_while_the_contracted_users_change(msp_org, clients):
    def change(index, customer):
        url = reverse("customers:contract", args=[customer.pk])
        return lambda client: client.post(url, {"contracted_users": str(30 + index)}, **HTMX)

    rounds(msp_org, clients, change, users=20, points=50)


def test_cancelling_while_the_cancellation_date_is_set_and_cleared(msp_org, clients):
    def schedule(index, customer):
        url = reverse("customers:cancellation_date", args=[customer.pk])
        data = {"action": "clear"} if index == 3 else {"cancellation_date": f"2027-01-{10 + index}", "agreed": "on"}
        return lambda client: client.post(url, data, **HTMX)

    rounds(msp_org, clients, schedule, users=20, points=50)


def test_cancelling_while_the_account_is_replenished(msp_org, msp_admin, clients):
    def replenish(index, customer):
        url = reverse("points:replenish")
        data = {"ids": [str(customer.pk)], "token": mint_form_key(msp_admin, "replenish")}
        return lambda client: client.post(url, data, **HTMX)

    # 10 points against a next charge of 100: an estimate of −90 for each replenish to fill.
    rounds(msp_org, clients, replenish, users=100, points=10)
