import datetime as dt

import pytest
import time_machine
from django.core import mail

from accounts.tests.factories import UserFactory
from audit.models import AuditEvent
from billing_jobs.models import ShortageReminder
from billing_jobs.services import run_billing, update_suspensions
from customers.models import CustomerAccount
from points import ledger
from points.estimates import refresh_estimates
from points.models import Transfer, TransferKind
from points.services import auto_replenish_key

from .factories import active_customer, assert_ledger_consistent, at, buy, move

pytestmark = pytest.mark.django_db

D = dt.date


def run_on(day, hour=1):
    with time_machine.travel(at(day, hour), tick=False):
        return run_billing(day)


def test_an_account_negative_for_longer_than_the_grace_period_is_suspended_then_lifted(msp_org):
    with time_machine.travel(at(D(2026, 10, 1), 9), tick=False):
        customer = active_customer(msp_org, activated=at(D(2026, 9, 1)), points=10)
        move(TransferKind.WITHDRAW, ledger.wallet_for(customer), ledger.pool_for(msp_org), 30, customer=customer)
    with time_machine.travel(at(D(2026, 10, 31), 8), tick=False):
        assert update_suspensions(D(2026, 10, 31)) == {"suspended": 0, "unsuspended": 0}
    with time_machine.travel(at(D(2026, 10, 31), 10), tick=False):
        assert update_suspensions(D(2026, 10, 31)) == {"suspended": 1, "unsuspended": 0}
        assert update_suspensions(D(2026, 10, 31)) == {"suspended": 0, "unsuspended": 0}
    customer.refresh_from_db()
    assert customer.suspended_at == at(D(2026, 10, 31), 10)
    assert AuditEvent.objects.filter(action="customer.suspend", customer=customer).count() == 1
    with time_machine.travel(at(D(2026, 11, 2), 10), tick=False):
        move(TransferKind.ALLOCATE, ledger.pool_for(msp_org), ledger.wallet_for(customer), 20, customer=customer)
        assert update_suspensions(D(2026, 11, 2)) == {"suspended": 0, "unsuspended": 1}
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).suspended_at is None


def test_the_grace_period_counts_from_the_last_time_the_balance_went_negative(msp_org):
    with time_machine.travel(at(D(2026, 9, 1), 9), tick=False):
        customer = active_customer(msp_org, activated=at(D(2026, 8, 1)), points=10)
        move(TransferKind.WITHDRAW, ledger.wallet_for(customer), ledger.pool_for(msp_org), 30, customer=customer)
    with time_machine.travel(at(D(2026, 9, 20), 9), tick=False):
        move(TransferKind.ALLOCATE, ledger.pool_for(msp_org), ledger.wallet_for(customer), 25, customer=customer)
        move(TransferKind.WITHDRAW, ledger.wallet_for(customer), ledger.pool_for(msp_org), 10, customer=customer)
    with time_machine.travel(at(D(2026, 10, 15), 9), tick=False):
        assert update_suspensions(D(2026, 10, 15))["suspended"] == 0
    with time_machine.travel(at(D(2026, 10, 20), 10), tick=False):
        assert update_suspensions(D(2026, 10, 20))["suspended"] == 1


@pytest.fixture
def short_accounts(msp_org, other_msp_org):
    buy(msp_org, 1000)
    short = active_customer(msp_org, activated=at(D(2026, 10, 26)), users=30, company_name="不足商事")
    auto = active_customer(msp_org, activated=at(D(2026, 10, 26)), users=40, auto_replenish=True)
    fine = active_customer(msp_org, activated=at(D(2026, 10, 26)), users=10)
    move(TransferKind.ALLOCATE, ledger.pool_for(msp_org), ledger.wallet_for(fine), 10, customer=fine)
    other = active_customer(other_msp_org, activated=at(D(2026, 10, 26)), users=12, auto_replenish=True)
    with time_machine.travel(at(D(2026, 11, 1)), tick=False):
        refresh_estimates()
    return short, auto, fine, other


def test_reminder_days_auto_replenish_when_the_pool_can_pay_and_remind_each_msp_once(
    django_capture_on_commit_callbacks,
    msp_org,
    other_msp_org,
    msp_admin,
    msp_billing,
    msp_sales,
    other_msp_admin,
    short_accounts,
):
    short, auto, fine, other = short_accounts
    english = UserFactory(
        email="billing-en@test.example", language="en", membership__organization=msp_org, membership__role="billing"
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = run_on(D(2026, 11, 20))
    assert job.counts["auto_replenished"] == 1
    assert job.counts["auto_replenish_skipped"] == 1  # the other MSP's pool is empty
    auto = CustomerAccount.objects.with_points().get(pk=auto.pk)
    assert (auto.points_balance, auto.estimated_balance) == (40, 0)
    assert Transfer.objects.get(idempotency_key=auto_replenish_key(D(2026, 11, 20), auto.pk)).amount == 40
    assert job.counts["reminders"] == 2
    by_recipient = {message.to[0]: message for message in mail.outbox}
    # Admin and billing staff of each MSP, never sales.
    assert set(by_recipient) == {msp_admin.email, msp_billing.email, english.email, other_msp_admin.email}
    japanese = by_recipient[msp_admin.email]
    assert "不足商事" in japanese.body and short.account_code in japanese.body
    assert auto.account_code not in japanese.body and fine.account_code not in japanese.body
    assert "ポイント" in japanese.subject
    assert "short of points" in by_recipient[english.email].subject
    assert other.account_code in by_recipient[other_msp_admin.email].body
    assert ShortageReminder.objects.filter(sent_at__isnull=False).count() == 2
    # The same day again: nothing replenished twice, no second reminder.
    with django_capture_on_commit_callbacks(execute=True):
        again = run_on(D(2026, 11, 20), hour=5)
    assert again.counts["reminders"] == 0
    assert len(mail.outbox) == 4
    assert Transfer.objects.filter(kind=TransferKind.ALLOCATE, customer=auto).count() == 1
    assert_ledger_consistent()


def test_other_days_send_no_reminders(django_capture_on_commit_callbacks, short_accounts, msp_admin):
    with django_capture_on_commit_callbacks(execute=True):
        job = run_on(D(2026, 11, 21))
    assert "reminders" not in job.counts
    assert mail.outbox == []
