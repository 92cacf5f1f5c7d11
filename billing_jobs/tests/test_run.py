"""Time travel through the daily run: the 24th, 25th and 26th, year and February ends,
activations and cancellations around the 25th, delayed catch-up runs, rule changes."""

import datetime as dt

import pytest
import time_machine
from django.test import override_settings

from billing_jobs.models import JobRun, JobStatus
from billing_jobs.selectors import due_periods, missing_charges
from billing_jobs.services import charge_period, run_billing
from customers.cancellation import customer_cancel
from customers.models import CustomerAccount, CustomerStatus
from msp_portal import dates
from points import ledger
from points.models import ConsumptionRule, Transfer, TransferKind
from points.selectors import ledger_problems

from .factories import active_customer, assert_ledger_consistent, at, balance_of, buy, change_users, consumptions

pytestmark = pytest.mark.django_db

D = dt.date


def run_on(day: D, hour: int = 1):
    with time_machine.travel(at(day, hour), tick=False):
        return run_billing(day)


@pytest.fixture
def customer(msp_org):
    # Activated after October's 25th: its first charge is November's.
    return active_customer(msp_org, activated=at(D(2026, 10, 26), 10), users=25, points=100)


def test_the_24th_charges_nothing_the_25th_charges_once_and_the_26th_adds_nothing(customer):
    run_on(D(2026, 11, 24))
    assert not consumptions(customer).exists()
    job = run_on(D(2026, 11, 25))
    charge = consumptions(customer).get()
    assert (charge.period, charge.amount) == ("2026-11", 25)
    assert charge.idempotency_key == f"consume:{customer.pk}:2026-11"
    assert charge.snapshot == {
        "period": "2026-11",
        "charge_date": "2026-11-25",
        "contracted_users": 25,
        "rule_id": ConsumptionRule.objects.get().pk,
        "base_points": 10,
        "included_users": 10,
        "points_per_extra_user": 1,
        "job_run_id": job.pk,
    }
    assert (charge.debit_balance_after, balance_of(customer)) == (75, 75)
    assert job.status == JobStatus.SUCCEEDED
    assert job.counts["charged"] == {"2026-11": {"accounts": 1, "points": 25}}
    run_on(D(2026, 11, 26))
    assert consumptions(customer).count() == 1
    # Charged for November: the estimate now looks at December's 25th.
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert customer.estimated_balance == 75 - 25
    assert_ledger_consistent()


def test_december_then_january_are_two_periods_and_a_january_catch_up_doubles_nothing(customer):
    run_on(D(2026, 12, 25))
    run_on(D(2027, 1, 10))
    assert list(consumptions(customer).values_list("period", flat=True)) == ["2026-12"]
    run_on(D(2027, 1, 25))
    assert list(consumptions(customer).order_by("period").values_list("period", flat=True)) == ["2026-12", "2027-01"]
    assert balance_of(customer) == 100 - 2 * 25
    assert_ledger_consistent()


def test_february_is_charged_on_the_25th_and_its_month_end_adds_nothing(customer):
    run_on(D(2027, 2, 25))
    run_on(D(2027, 2, 28))
    run_on(D(2027, 3, 1))
    assert list(consumptions(customer).values_list("period", flat=True)) == ["2027-02"]
    assert due_periods(D(2027, 3, 1)) == ["2027-02"]


@pytest.mark.parametrize(
    ("activated", "charged"),
    [
        (at(D(2026, 11, 24), 23, 59), True),  # before 00:00 of the 25th
        (at(D(2026, 11, 25), 0, 0), False),  # at 00:00: not "before"
        (at(D(2026, 11, 25), 9), False),
        (at(D(2026, 11, 26), 9), False),
    ],
)
def test_an_account_is_charged_only_if_activated_before_the_25th(msp_org, activated, charged):
    customer = active_customer(msp_org, activated=activated)
    run_on(D(2026, 11, 26), hour=12)
    assert consumptions(customer, "2026-11").exists() is charged


def test_a_delayed_run_charges_the_users_in_force_on_the_25th_not_the_later_change(customer):
    change_users(customer, 60, at(D(2026, 11, 26), 9))
    run_on(D(2026, 11, 26), hour=12)
    charge = consumptions(customer).get()
    assert (charge.amount, charge.snapshot["contracted_users"]) == (25, 25)


def test_a_change_effective_before_the_25th_is_charged(customer):
    change_users(customer, 40, at(D(2026, 11, 24), 18))
    run_on(D(2026, 11, 25))
    assert consumptions(customer).get().amount == 40


def test_a_cancellation_dated_the_25th_cancels_without_charging(msp_org, customer):
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(cancellation_date=D(2026, 11, 25))
    job = run_on(D(2026, 11, 25))
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.CANCELLED
    assert customer.cancelled_at == dates.start_of_day(D(2026, 11, 25))
    assert not consumptions(customer).exists()
    forfeit = Transfer.objects.get(kind=TransferKind.SETTLEMENT_FORFEIT, customer=customer)
    assert forfeit.amount == 100
    assert balance_of(customer) == 0
    assert job.counts["cancelled"] == 1
    assert_ledger_consistent()


def test_a_cancellation_dated_the_26th_is_charged_on_the_25th_then_settled_on_the_26th(msp_org, customer):
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(cancellation_date=D(2026, 11, 26))
    run_on(D(2026, 11, 25))
    assert consumptions(customer).get().amount == 25
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).status == CustomerStatus.ACTIVE
    run_on(D(2026, 11, 26))
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.CANCELLED
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_FORFEIT, customer=customer).amount == 75
    assert balance_of(customer) == 0
    assert_ledger_consistent()


def test_a_delayed_run_charges_an_account_cancelled_on_the_26th_before_settling_it(msp_org):
    customer = active_customer(msp_org, activated=at(D(2026, 10, 26)), users=30, points=10)
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(cancellation_date=D(2026, 11, 26))
    buy(msp_org, 5)
    run_on(D(2026, 11, 27))
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.CANCELLED
    assert consumptions(customer, "2026-11").get().amount == 30
    # 10 − 30 = −20: topped up from the pool, which may go negative only here (5 − 20).
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_TOPUP, customer=customer).amount == 20
    assert ledger.pool_for(msp_org).balance == -15
    assert balance_of(customer) == 0
    assert_ledger_consistent()


def test_a_settlement_pays_every_earlier_uncharged_month_and_no_later_charge_reaches_the_cancelled_account(
    msp_org, msp_admin
):
    # Activated in August, never charged (the run did not reach back that far), 120 users.
    customer = active_customer(msp_org, activated=at(D(2026, 8, 20)), users=120, points=300)
    with time_machine.travel(at(D(2026, 11, 26), 10), tick=False):
        customer_cancel(actor=msp_admin, customer=customer, agreed=True)
        charged = dict(consumptions(customer).values_list("period", "amount"))
        assert charged == {"2026-08": 120, "2026-09": 120, "2026-10": 120, "2026-11": 120}
        # 300 − 480 = −180, topped up from the pool: the wallet ends at 0.
        assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_TOPUP, customer=customer).amount == 180
        for period in ("2026-08", "2026-09", "2026-10", "2026-11"):
            job = charge_period(period)
            assert job.counts["charged"] == {period: {"accounts": 0, "points": 0}}
        run_billing(D(2026, 11, 26))
        assert consumptions(customer).count() == 4
        assert balance_of(customer) == 0
        assert missing_charges(D(2026, 11, 26)) == []
        assert ledger_problems() == []
    assert_ledger_consistent()


def test_a_cancelled_account_is_never_charged_by_a_later_run_even_for_a_month_it_was_active(msp_org, customer):
    # Ended (by an earlier version, or a record without settlement charges) after November's
    # 25th without paying it: the runs leave it alone; verify_ledger reports the balance instead.
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(
        status=CustomerStatus.CANCELLED, cancelled_at=at(D(2026, 11, 27), 9)
    )
    assert missing_charges(D(2026, 11, 28)) == []
    run_on(D(2026, 11, 28))
    assert not consumptions(customer).exists()


def test_a_rule_change_takes_effect_from_the_next_month(customer):
    ConsumptionRule.objects.create(
        effective_from=D(2026, 12, 1), base_points=30, included_users=10, points_per_extra_user=2
    )
    run_on(D(2026, 11, 25))
    run_on(D(2026, 12, 25))
    amounts = dict(consumptions(customer).values_list("period", "amount"))
    assert amounts == {"2026-11": 25, "2026-12": 30 + 15 * 2}
    assert consumptions(customer, "2026-12").get().snapshot["base_points"] == 30


def test_running_the_same_date_twice_charges_once_and_supersedes_nothing(msp_org):
    customers = [active_customer(msp_org, activated=at(D(2026, 10, 26)), users=n) for n in (5, 15, 100)]
    first = run_on(D(2026, 11, 25))
    second = run_on(D(2026, 11, 25), hour=2)
    assert consumptions(period="2026-11").count() == 3
    assert [
        c.points_balance
        for c in CustomerAccount.objects.with_points().filter(pk__in=[c.pk for c in customers]).order_by("pk")
    ] == [
        -10,
        -15,
        -100,
    ]
    assert second.counts["charged"] == {"2026-11": {"accounts": 0, "points": 0}}
    # Nothing owed any more: the repeated run plans no range at all.
    assert first.chunks_total >= 1 and second.chunks_total == 0
    assert JobRun.objects.get(pk=first.pk).status == JobStatus.SUCCEEDED
    assert_ledger_consistent()
    assert missing_charges(D(2026, 11, 25)) == []


def test_older_gaps_beyond_the_catch_up_depth_are_reported_not_charged(msp_org, customer):
    run_on(D(2027, 1, 25))
    assert list(consumptions(customer).values_list("period", flat=True)) == ["2027-01"]
    gaps = missing_charges(D(2027, 1, 25))
    assert [(gap.period, gap.accounts) for gap in gaps] == [("2026-11", 1), ("2026-12", 1)]


def test_accounts_that_are_not_active_are_never_charged(msp_org):
    pending = active_customer(msp_org, activated=at(D(2026, 10, 1)))
    CustomerAccount.objects.with_points().filter(pk=pending.pk).update(
        status=CustomerStatus.PENDING_APPROVAL, activated_at=None
    )
    withdrawn = active_customer(msp_org, activated=at(D(2026, 10, 1)))
    CustomerAccount.objects.with_points().filter(pk=withdrawn.pk).update(status=CustomerStatus.WITHDRAWN)
    run_on(D(2026, 11, 25))
    assert not consumptions().exists()


@override_settings(PORTAL_BILLING_CHUNK_SIZE=3)
def test_only_id_ranges_holding_an_account_that_owes_are_planned(msp_org):
    owing_early = active_customer(msp_org, activated=at(D(2026, 10, 26)), users=5)
    # Three ranges of three ids: the middle one holds only accounts activated after the 25th.
    later = [active_customer(msp_org, activated=at(D(2026, 11, 26)), users=5) for _ in range(5)]
    owing_late = active_customer(msp_org, activated=at(D(2026, 10, 26)), users=5)
    first = owing_early.pk
    assert [c.pk - first for c in [*later, owing_late]] == [1, 2, 3, 4, 5, 6]
    job = run_on(D(2026, 11, 25))
    planned = list(job.chunks.order_by("first_id").values_list("first_id", "last_id"))
    assert planned == [(first, first + 2), (first + 6, first + 8)]
    assert consumptions(period="2026-11").count() == 2
