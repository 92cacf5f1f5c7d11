"""The ledger's data migrations, run by Django's migration executor on data shaped as the bugs
they repair left it (on SQLite and on PostgreSQL). The schema is the same before and after
them, so the current models and factories build that data."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.models import AuditEvent
from billing_jobs.tests.factories import buy, move
from customers.models import CustomerAccount, CustomerStatusChange
from customers.tests.factories import CustomerAccountFactory
from points import ledger
from points.models import Transfer, TransferKind
from points.selectors import ledger_problems, pool_balance

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(app: str, name: str) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([(app, name)])


@pytest.fixture
def back_to():
    """Migrate `points` back to a migration; afterwards forward to the latest again."""
    yield lambda name: migrate("points", name)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def balance(customer) -> int:
    return CustomerAccount.objects.with_points().get(pk=customer.pk).points_balance


def test_the_points_that_applications_hold_go_back_to_their_pools(back_to, msp_org, other_msp_org):
    back_to("0005_settlement_refund_kind")
    buy(msp_org, 100)
    buy(other_msp_org, 100)
    pending = CustomerAccountFactory(organization=msp_org, status="pending_approval")
    returned = CustomerAccountFactory(organization=msp_org, status="rejected")
    withdrawn = CustomerAccountFactory(organization=other_msp_org, status="withdrawn")
    active = CustomerAccountFactory(organization=msp_org, status="active")
    change = CustomerStatusChange.objects.create(
        customer=returned, from_status="pending_approval", to_status="rejected"
    )
    for customer, points in ((pending, 20), (returned, 30), (active, 40)):
        move(TransferKind.ALLOCATE, ledger.pool_for(msp_org), ledger.wallet_for(customer), points, customer=customer)
    move(TransferKind.ALLOCATE, ledger.pool_for(other_msp_org), ledger.wallet_for(withdrawn), 25, customer=withdrawn)
    move(TransferKind.WITHDRAW, ledger.wallet_for(withdrawn), ledger.pool_for(other_msp_org), 35, customer=withdrawn)
    assert {problem.check for problem in ledger_problems()} == {"settled_balance"}

    back_to("0006_return_application_points")

    assert [balance(c) for c in (pending, returned, withdrawn, active)] == [0, 0, 0, 40]
    assert (pool_balance(msp_org), pool_balance(other_msp_org)) == (60, 100)
    refunds = Transfer.objects.filter(kind=TransferKind.SETTLEMENT_REFUND).order_by("customer_id")
    assert [(t.customer_id, t.amount) for t in refunds] == [(pending.pk, 20), (returned.pk, 30)]
    assert Transfer.objects.get(customer=returned, kind=TransferKind.SETTLEMENT_REFUND).idempotency_key == (
        f"refund:{returned.pk}:{change.pk}"
    )
    topup = Transfer.objects.get(kind=TransferKind.SETTLEMENT_TOPUP)
    assert (topup.customer_id, topup.amount, topup.credit_balance_after) == (withdrawn.pk, 10, 0)
    assert AuditEvent.objects.filter(action="points.application_refund", channel="migration").count() == 3
    assert ledger_problems() == []


def test_cancelled_and_merged_accounts_left_with_points_are_settled_to_zero(back_to, msp_org, other_msp_org):
    back_to("0006_return_application_points")
    buy(msp_org, 500)
    consumed = ledger.system_account("consumed")
    # Settled at cancellation, then charged 120 for an older month by a later catch-up.
    late = CustomerAccountFactory(organization=msp_org, status="cancelled")
    wallet = ledger.wallet_for(late)
    move(TransferKind.ALLOCATE, ledger.pool_for(msp_org), wallet, 50, customer=late)
    move(TransferKind.SETTLEMENT_FORFEIT, wallet, consumed, 50, customer=late, idempotency_key=f"settle:{late.pk}")
    move(TransferKind.CONSUMPTION, wallet, consumed, 120, customer=late, period="2026-10")
    # Cancelled with points and never settled; merged after being charged below zero (another
    # MSP, which never bought points: no pool yet).
    kept = CustomerAccountFactory(organization=msp_org, status="cancelled")
    move(TransferKind.ALLOCATE, ledger.pool_for(msp_org), ledger.wallet_for(kept), 70, customer=kept)
    merged = CustomerAccountFactory(organization=other_msp_org, status="merged")
    move(TransferKind.CONSUMPTION, ledger.wallet_for(merged), consumed, 30, customer=merged, period="2026-09")
    settled = CustomerAccountFactory(organization=msp_org, status="cancelled")
    active = CustomerAccountFactory(organization=msp_org, status="active")
    move(TransferKind.ALLOCATE, ledger.pool_for(msp_org), ledger.wallet_for(active), 40, customer=active)
    assert {problem.check for problem in ledger_problems()} == {"settled_balance", "charge_after_settlement"}

    back_to("0007_settle_ended_accounts")

    assert [balance(c) for c in (late, kept, merged, settled, active)] == [0, 0, 0, 0, 40]
    topup = Transfer.objects.get(customer=late, kind=TransferKind.SETTLEMENT_TOPUP)
    assert (topup.amount, topup.idempotency_key) == (120, f"settle:{late.pk}:migration")
    forfeit = Transfer.objects.get(customer=kept, kind=TransferKind.SETTLEMENT_FORFEIT)
    assert (forfeit.amount, forfeit.idempotency_key) == (70, f"settle:{kept.pk}")
    assert Transfer.objects.get(customer=merged, kind=TransferKind.SETTLEMENT_TOPUP).amount == 30
    assert not Transfer.objects.filter(customer__in=[settled, active]).exclude(kind=TransferKind.ALLOCATE).exists()
    # Only a settlement may take a pool below zero.
    assert (pool_balance(msp_org), pool_balance(other_msp_org)) == (500 - 50 - 70 - 40 - 120, -30)
    assert AuditEvent.objects.filter(action="points.settle_ended_account", channel="migration").count() == 3
    assert ledger_problems() == []
