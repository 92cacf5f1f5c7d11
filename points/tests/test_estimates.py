"""The estimate 「M/25の推定残ポイント数」 around the 25th, with time frozen in Asia/Tokyo."""

import datetime as dt

import pytest
import time_machine
from django.db import transaction

from customers.models import CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates
from points import ledger, services
from points.estimates import refresh_estimates
from points.models import LedgerAccountKind, TransferKind
from points.rules import consumption_for

from .helpers import fund, give

pytestmark = pytest.mark.django_db


def at(day: dt.date, hour: int = 10):
    return time_machine.travel(dt.datetime.combine(day, dt.time(hour), tzinfo=dates.TOKYO), tick=False)


def estimate_of(customer) -> int:
    return CustomerAccount.objects.with_points().get(pk=customer.pk).estimated_balance


def charge(customer, day: dt.date) -> None:
    """What the monthly job does on the 25th: one consumption transfer, then a fresh estimate."""
    wallet, consumed = ledger.wallet_for(customer), ledger.system_account(LedgerAccountKind.CONSUMED)
    with transaction.atomic():
        locked = ledger.lock_accounts(wallet, consumed)
        ledger.post(
            kind=TransferKind.CONSUMPTION,
            debit=locked[wallet.pk],
            credit=locked[consumed.pk],
            amount=consumption_for(customer.contracted_users, day),
            idempotency_key=f"consume:{customer.pk}:{dates.period_of(day)}",
            customer=customer,
            period=dates.period_of(day),
        )
        refresh_estimates(CustomerAccount.objects.with_points().filter(pk=customer.pk), today=day)


@pytest.fixture
def customer(msp_org):
    fund(msp_org, 10_000)
    customer = CustomerAccountFactory(
        organization=msp_org, contracted_users=40, activated_at=dates.start_of_day(dt.date(2026, 9, 1))
    )
    give(customer, 100)
    return customer


def test_on_the_24th_the_estimate_subtracts_the_charge_of_the_25th(customer):
    with at(dt.date(2026, 11, 24)):
        refresh_estimates()
        assert estimate_of(customer) == 100 - 40


def test_on_the_25th_before_the_charge_the_estimate_still_subtracts_it(customer):
    with at(dt.date(2026, 11, 25), hour=0):
        refresh_estimates()
        assert estimate_of(customer) == 60


def test_on_the_25th_after_the_charge_the_estimate_looks_at_next_month(customer):
    with at(dt.date(2026, 11, 25), hour=3):
        charge(customer, dt.date(2026, 11, 25))
        customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
        assert customer.points_balance == 60
        assert estimate_of(customer) == 60 - 40


def test_on_the_26th_the_estimate_is_balance_minus_next_months_charge(customer):
    with at(dt.date(2026, 11, 25)):
        charge(customer, dt.date(2026, 11, 25))
    with at(dt.date(2026, 11, 26)):
        refresh_estimates()
        assert estimate_of(customer) == 20


def test_after_the_december_charge_the_estimate_looks_at_january_of_the_next_year(customer):
    with at(dt.date(2026, 12, 25)):
        charge(customer, dt.date(2026, 12, 25))
    with at(dt.date(2026, 12, 31)):
        refresh_estimates()
        assert estimate_of(customer) == 20


def test_an_account_cancelled_before_the_25th_is_estimated_at_its_balance(customer):
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(cancellation_date=dt.date(2026, 11, 20))
    with at(dt.date(2026, 11, 10)):
        refresh_estimates()
        assert estimate_of(customer) == 100


def test_a_cancellation_dated_the_25th_itself_means_no_charge_that_day(customer):
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(cancellation_date=dt.date(2026, 11, 25))
    with at(dt.date(2026, 11, 24)):
        refresh_estimates()
        assert estimate_of(customer) == 100


def test_an_account_activated_on_the_25th_is_not_charged_that_day(msp_org):
    customer = CustomerAccountFactory(
        organization=msp_org, contracted_users=40, activated_at=dates.start_of_day(dt.date(2026, 11, 25))
    )
    with at(dt.date(2026, 11, 25)):
        refresh_estimates()
        assert estimate_of(customer) == -40  # next month's charge: activated before 12/25
    with at(dt.date(2026, 11, 20)):
        refresh_estimates()
        assert estimate_of(customer) == 0


def test_replenishing_on_the_24th_leaves_exactly_zero_after_the_charge(customer, msp_org):
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(contracted_users=250)
    customer.refresh_from_db()
    with at(dt.date(2026, 11, 24)):
        refresh_estimates()
        assert estimate_of(customer) == 100 - 250
        services.points_replenish(actor=None, customers=[customer], batch_key="b24")
        assert estimate_of(customer) == 0
    with at(dt.date(2026, 11, 25)):
        charge(customer, dt.date(2026, 11, 25))
        customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
        assert customer.points_balance == 0


def test_point_changes_move_the_estimate_by_the_same_amount(customer):
    with at(dt.date(2026, 11, 10)):
        refresh_estimates()
        give(customer, 25)
        services.points_withdraw(actor=None, customer=customer, amount=200, idempotency_key="w", allow_negative=True)
        assert estimate_of(customer) == 100 + 25 - 200 - 40
