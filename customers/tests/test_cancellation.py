import datetime as dt

import pytest
import time_machine

from audit.models import AuditEvent
from billing_jobs.tests.factories import active_customer, assert_ledger_consistent, at, balance_of, buy, move
from customers.cancellation import customer_cancel, customer_schedule_cancellation
from customers.models import CustomerAccount, CustomerStatus, CustomerStatusChange
from msp_portal.errors import DomainError
from points import ledger
from points.models import Transfer, TransferKind

pytestmark = pytest.mark.django_db

D = dt.date
NOW = at(D(2026, 11, 10), 14)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer(msp_org):
    return active_customer(msp_org, activated=at(D(2026, 10, 26)), users=20, points=50)


def test_cancelling_forfeits_a_positive_balance_and_leaves_the_wallet_at_zero(msp_admin, customer):
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert (customer.status, customer.points_balance, customer.estimated_balance) == ("cancelled", 0, 0)
    assert customer.cancelled_at == NOW
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_FORFEIT).amount == 50
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_FORFEIT).idempotency_key == f"settle:{customer.pk}"
    change = CustomerStatusChange.objects.get(customer=customer)
    assert (change.from_status, change.to_status, change.actor) == ("active", "cancelled", msp_admin)
    event = AuditEvent.objects.get(action="customer.cancel")
    assert event.after["settlement_forfeit"] == 50
    assert event.actor == msp_admin
    assert_ledger_consistent()


def test_cancelling_tops_up_a_negative_balance_from_the_pool_even_below_zero(msp_admin, msp_org, customer):
    move(TransferKind.WITHDRAW, ledger.wallet_for(customer), ledger.pool_for(msp_org), 80, customer=customer)
    assert balance_of(customer) == -30
    pool_before = ledger.pool_for(msp_org).balance
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_TOPUP).amount == 30
    assert ledger.pool_for(msp_org).balance == pool_before - 30
    assert balance_of(customer) == 0
    assert_ledger_consistent()


def test_cancelling_an_account_at_zero_moves_no_points(msp_admin, msp_org):
    customer = active_customer(msp_org, activated=at(D(2026, 10, 26)))
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    assert not Transfer.objects.filter(customer=customer).exists()
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).status == CustomerStatus.CANCELLED


def test_every_uncharged_25th_is_charged_before_settlement_not_only_the_latest(msp_admin, msp_org):
    customer = active_customer(msp_org, activated=at(D(2026, 9, 1)), users=20, points=50)
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    # Active at 00:00 of September's and October's 25th and never charged (older than the run's
    # catch-up reaches): it pays both, then forfeits the rest.
    charges = Transfer.objects.filter(kind=TransferKind.CONSUMPTION, customer=customer).order_by("period")
    assert [(t.period, t.amount, t.debit_balance_after) for t in charges] == [("2026-09", 20, 30), ("2026-10", 20, 10)]
    assert Transfer.objects.get(kind=TransferKind.SETTLEMENT_FORFEIT).amount == 10
    assert AuditEvent.objects.get(action="customer.cancel").after["charged_before_settlement"] == {
        "2026-09": 20,
        "2026-10": 20,
    }
    assert_ledger_consistent()


def test_cancelling_without_agreement_is_refused_and_changes_nothing(msp_admin, customer):
    with pytest.raises(DomainError, match="同意する"):
        customer_cancel(actor=msp_admin, customer=customer, agreed=False)
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert (customer.status, customer.points_balance) == ("active", 50)


def test_cancelling_twice_is_refused(msp_admin, customer):
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    stale = CustomerAccount.objects.with_points().get(pk=customer.pk)
    with pytest.raises(DomainError):
        customer_cancel(actor=msp_admin, customer=stale, agreed=True)
    # A stale copy that still says "active" is refused too, under the lock.
    stale.status = CustomerStatus.ACTIVE
    with pytest.raises(DomainError, match="すでに解約"):
        customer_cancel(actor=msp_admin, customer=stale, agreed=True)
    assert Transfer.objects.filter(kind=TransferKind.SETTLEMENT_FORFEIT).count() == 1


@pytest.mark.parametrize("status", [CustomerStatus.PENDING_APPROVAL, CustomerStatus.REJECTED])
def test_a_pending_or_returned_application_is_withdrawn_instead(msp_admin, msp_org, status):
    customer = active_customer(msp_org, activated=None)
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(status=status)
    customer.refresh_from_db()
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.WITHDRAWN
    assert CustomerStatusChange.objects.get(customer=customer).to_status == CustomerStatus.WITHDRAWN
    assert AuditEvent.objects.filter(action="customer.withdraw").exists()


def test_an_account_being_provisioned_cannot_be_cancelled(msp_admin, msp_org):
    customer = active_customer(msp_org, activated=None)
    CustomerAccount.objects.with_points().filter(pk=customer.pk).update(status=CustomerStatus.PROVISIONING)
    customer.refresh_from_db()
    with pytest.raises(DomainError):
        customer_cancel(actor=msp_admin, customer=customer, agreed=True)


def test_a_cancellation_date_is_set_changed_and_cleared(msp_admin, customer):
    customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=D(2026, 12, 1), agreed=True)
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date == D(2026, 12, 1)
    customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=D(2026, 11, 20), agreed=True)
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert customer.cancellation_date == D(2026, 11, 20)
    # Cancelled before November's 25th: nothing will be consumed, the estimate is the balance.
    assert customer.estimated_balance == 50
    customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=None, agreed=False)
    customer = CustomerAccount.objects.with_points().get(pk=customer.pk)
    assert customer.cancellation_date is None
    assert customer.estimated_balance == 50 - 20
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == [
        "customer.schedule_cancellation",
        "customer.schedule_cancellation",
        "customer.clear_cancellation",
    ]


@pytest.mark.parametrize("day", [D(2026, 11, 10), D(2026, 11, 9), D(2025, 1, 1)])
def test_a_cancellation_date_today_or_in_the_past_is_refused(msp_admin, customer, day):
    with pytest.raises(DomainError, match="未来の日付"):
        customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=day, agreed=True)
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date is None


def test_a_cancellation_date_needs_the_agreement(msp_admin, customer):
    with pytest.raises(DomainError):
        customer_schedule_cancellation(
            actor=msp_admin, customer=customer, cancellation_date=D(2026, 12, 1), agreed=False
        )
    assert CustomerAccount.objects.with_points().get(pk=customer.pk).cancellation_date is None


def test_only_an_active_account_gets_a_cancellation_date(msp_admin, customer):
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    customer.refresh_from_db()
    with pytest.raises(DomainError):
        customer_schedule_cancellation(
            actor=msp_admin, customer=customer, cancellation_date=D(2026, 12, 1), agreed=True
        )


def test_a_pool_is_not_charged_for_another_msps_customer(msp_admin, msp_org, other_msp_org):
    buy(other_msp_org, 100)
    customer = active_customer(msp_org, activated=at(D(2026, 10, 26)))
    move(TransferKind.WITHDRAW, ledger.wallet_for(customer), ledger.pool_for(msp_org), 5, customer=customer)
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    assert ledger.pool_for(other_msp_org).balance == 100
