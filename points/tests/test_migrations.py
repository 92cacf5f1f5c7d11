"""The ledger's data migrations, run by Django's migration executor on data shaped as the bugs
they repair left it (on SQLite and on PostgreSQL). The schema is the same before and after
them, so the current models and factories build that data."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import CustomerAccount, CustomerStatusChange
from accounts.tests.factories import CustomerAccountFactory
from audit.models import AuditEvent
from billing_jobs.tests.factories import buy, move
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
    back_to("0004_settlement_refund_kind")
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

    back_to("0005_return_application_points")

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
