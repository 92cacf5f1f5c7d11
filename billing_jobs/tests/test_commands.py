import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum

from billing_jobs.models import JobRun
from billing_jobs.selectors import owing_totals_by_msp
from customers.models import CustomerAccount, CustomerStatus
from points.models import LedgerAccount, Transfer

from .factories import active_customer, assert_ledger_consistent, at, change_users, consumptions

pytestmark = pytest.mark.django_db

D = dt.date


def command(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def portfolio(msp_org, pmsp_org, other_msp_org):
    """A mix like the demo data: several MSPs, contract changes, a due cancellation, shortages."""
    accounts = []
    for index, organization in enumerate((msp_org, pmsp_org, other_msp_org)):
        for users in (3, 10, 11, 57 + index):
            accounts.append(active_customer(organization, activated=at(D(2026, 10, 26)), users=users, points=40))
    change_users(accounts[0], 80, at(D(2026, 11, 24), 12))
    change_users(accounts[1], 90, at(D(2026, 11, 25), 9))  # after 00:00: not charged this month
    CustomerAccount.objects.filter(pk=accounts[2].pk).update(cancellation_date=D(2026, 11, 25))
    CustomerAccount.objects.filter(pk=accounts[5].pk).update(status=CustomerStatus.WITHDRAWN)
    return accounts


def test_the_dry_run_prints_per_msp_totals_that_the_real_run_then_posts(portfolio, msp_org):
    # The demo charges every 25th before the day it is loaded: load it the day before the run.
    with time_machine.travel(at(D(2026, 11, 24), 18), tick=False):
        call_command("seed_demo", force=True, stdout=StringIO())
    with time_machine.travel(at(D(2026, 11, 25), 1), tick=False):
        expected = {t.organization_id: (t.accounts, t.points) for t in owing_totals_by_msp("2026-11")}
        before = (Transfer.objects.count(), list(LedgerAccount.objects.values_list("pk", "balance")))
        output = command("run_daily_billing", "--date", "2026-11-25", "--dry-run")
        assert (Transfer.objects.count(), list(LedgerAccount.objects.values_list("pk", "balance"))) == before
        assert not JobRun.objects.filter(run_date=D(2026, 11, 25)).exists()
        assert f"#{msp_org.pk}): 3 accounts, {80 + 10 + 57} points" in output
        assert "Scheduled cancellations due: 1" in output
        command("run_daily_billing", "--date", "2026-11-25")
    posted = {
        row["customer__organization_id"]: (row["n"], row["points"])
        for row in consumptions(period="2026-11")
        .values("customer__organization_id")
        .order_by()
        .annotate(n=Count("id"), points=Sum("amount"))
    }
    assert posted == expected
    assert len(expected) > 3  # the demo MSPs as well as the ones above
    for total in expected.values():
        assert f"{total[0]} accounts, {total[1]} points" in output
    assert_ledger_consistent()


def test_the_command_runs_a_date_and_a_second_run_posts_nothing(portfolio):
    with time_machine.travel(at(D(2026, 11, 26), 1), tick=False):
        first = command("run_daily_billing", "--date", "2026-11-25")
        count = consumptions().count()
        second = command("run_daily_billing", "--date", "2026-11-25")
    assert "charged 2026-11: 10 accounts" in first
    assert "charged 2026-11: 0 accounts, 0 points" in second
    assert consumptions().count() == count == 10


@pytest.mark.parametrize("value", ["2026-02-30", "tomorrow", "2026/11/25"])
def test_a_malformed_date_is_refused(value):
    with pytest.raises(CommandError, match="Not a date"):
        command("run_daily_billing", "--date", value)
    assert not JobRun.objects.exists()


def test_a_future_date_is_refused():
    with time_machine.travel(at(D(2026, 11, 20), 9), tick=False), pytest.raises(CommandError, match="future"):
        command("run_daily_billing", "--date", "2026-11-25")
    assert not JobRun.objects.exists()


def test_an_older_gap_is_reported_and_charged_explicitly(msp_org):
    customer = active_customer(msp_org, activated=at(D(2026, 8, 26)), users=15)
    with time_machine.travel(at(D(2026, 11, 25), 3), tick=False):
        command("run_daily_billing", "--date", "2026-11-25")
        with pytest.raises(CommandError):
            command("billing_missing_charges")
        assert set(consumptions(customer).values_list("period", flat=True)) == {"2026-11"}
        dry = command("charge_period", "--period", "2026-09", "--dry-run")
        assert "1 accounts, 15 points" in dry
        assert not consumptions(customer, "2026-09").exists()
        command("charge_period", "--period", "2026-09")
        command("charge_period", "--period", "2026-10")
        command("charge_period", "--period", "2026-10")
        assert "No eligible account is missing a charge." in command("billing_missing_charges")
    assert consumptions(customer).count() == 3
    assert_ledger_consistent()


@pytest.mark.parametrize(
    ("period", "message"), [("2026-13", "Not a period"), ("26-1", "Not a period"), ("2026-12", "not come")]
)
def test_charge_period_refuses_bad_and_future_periods(period, message):
    with time_machine.travel(at(D(2026, 11, 25), 3), tick=False), pytest.raises(CommandError, match=message):
        command("charge_period", "--period", period)
    assert not JobRun.objects.exists()


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_charge_period_refuses_fewer_than_one_worker(workers):
    with time_machine.travel(at(D(2026, 11, 25), 3), tick=False), pytest.raises(CommandError, match="at least 1"):
        command("charge_period", "--period", "2026-10", "--workers", workers)
    assert not JobRun.objects.exists()
