"""An application that ends (withdrawn, returned) gives what its wallet holds back to the MSP's
pool, in the same transaction (DESIGN.md §5.1). Points can no longer reach an application, so
these wallets are filled the way earlier versions let them be: a plain transfer."""

import pytest

from audit.models import AuditEvent
from billing_jobs.tests.factories import move
from customers import services as customer_services
from customers.cancellation import customer_cancel
from customers.models import CustomerAccount, CustomerStatusChange
from points import ledger
from points.models import Transfer, TransferKind
from points.selectors import ledger_problems, pool_balance

from .helpers import fund

pytestmark = pytest.mark.django_db


def register(user, code="sakura-trading"):
    data = {"account_code": code, "company_name": "株式会社さくら商事", "email_domain": "sakura.example.jp"}
    return customer_services.customer_register(
        actor=user, organization=user.organization, data=data | {"contracted_users": 20}
    )


def holding(customer, points: int):
    """The application's wallet holds `points` (negative: more was removed than added)."""
    pool, wallet = ledger.pool_for(customer.organization_id), ledger.wallet_for(customer)
    if points > 0:
        move(TransferKind.ALLOCATE, pool, wallet, points, customer=customer)
    else:
        move(TransferKind.WITHDRAW, wallet, pool, -points, customer=customer)


def wallet_balance(customer) -> int:
    return CustomerAccount.objects.with_points().get(pk=customer.pk).points_balance


def test_withdrawing_an_application_through_the_cancel_button_returns_its_points_to_the_pool(msp_admin, msp_org):
    fund(msp_org, 100)
    customer = register(msp_admin)
    holding(customer, 20)
    assert pool_balance(msp_org) == 80
    customer_cancel(actor=msp_admin, customer=customer, agreed=True)
    customer.refresh_from_db()
    assert customer.status == "withdrawn"
    assert (wallet_balance(customer), pool_balance(msp_org)) == (0, 100)
    ending = CustomerStatusChange.objects.filter(customer=customer).latest("id")
    refund = Transfer.objects.get(kind=TransferKind.SETTLEMENT_REFUND)
    assert (refund.amount, refund.idempotency_key) == (20, f"refund:{customer.pk}:{ending.pk}")
    assert (refund.debit_account, refund.credit_account) == (ledger.wallet_for(customer), ledger.pool_for(msp_org))
    event = AuditEvent.objects.get(action="points.application_refund")
    assert (event.actor, event.customer_id, event.after["before"], event.after["status"]) == (
        msp_admin,
        customer.pk,
        20,
        "withdrawn",
    )
    assert ledger_problems() == []


def test_returning_an_application_returns_its_points_and_a_later_withdrawal_has_nothing_left(
    msp_admin, operator_user, msp_org
):
    fund(msp_org, 100)
    customer = register(msp_admin)
    holding(customer, 35)
    customer_services.customer_reject(actor=operator_user, customer=customer, reason="契約ユーザ数をご確認ください")
    assert (wallet_balance(customer), pool_balance(msp_org)) == (0, 100)
    customer_services.customer_withdraw(actor=msp_admin, customer=customer)
    assert Transfer.objects.filter(customer=customer, kind=TransferKind.SETTLEMENT_REFUND).count() == 1
    assert ledger_problems() == []


def test_a_negative_application_is_made_good_from_the_pool(msp_admin, msp_org):
    fund(msp_org, 10)
    customer = register(msp_admin)
    holding(customer, -15)
    customer_services.customer_withdraw(actor=msp_admin, customer=customer)
    topup = Transfer.objects.get(kind=TransferKind.SETTLEMENT_TOPUP)
    assert topup.amount == 15 and topup.idempotency_key.startswith(f"refund:{customer.pk}:")
    assert (wallet_balance(customer), pool_balance(msp_org)) == (0, 10)
    assert ledger_problems() == []


def test_an_application_that_holds_nothing_ends_without_a_transfer(msp_admin):
    customer = register(msp_admin)
    customer_services.customer_withdraw(actor=msp_admin, customer=customer)
    assert not Transfer.objects.exists()
    assert not AuditEvent.objects.filter(action="points.application_refund").exists()
