"""points 0004 on a database made before it (PostgreSQL, where 0003 had dropped the one-pool
index): pools that a race split are merged into the oldest, history kept, the constraint back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.models import AuditEvent
from points.migrations._posting import post_transfer
from points.models import LedgerAccount, LedgerAccountKind, Transfer
from points.selectors import ledger_problems

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("points", "0003_wallet_list_points")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def split_books():
    """The books as the old code path left them: three pools for one MSP (300, 50, -20 points),
    none for another, every pool's history posted as the ledger posts it."""
    old = _migrate(BEFORE)
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS ledger_one_pool_per_msp")
    Organization = old.get_model("accounts", "Organization")
    Account, OldTransfer = old.get_model("points", "LedgerAccount"), old.get_model("points", "Transfer")
    split = Organization.objects.create(name="割れたMSP", kind="msp")
    poolless = Organization.objects.create(name="プールなしMSP", kind="msp")
    issuance = Account.objects.create(kind="issuance")
    pools = [Account.objects.create(kind="pool", organization=split) for _ in range(3)]
    now = timezone.now()
    for index, (pool, bought) in enumerate(zip(pools, (300, 50, 30), strict=True)):
        post_transfer(
            old, kind="purchase", debit=issuance, credit=pool, amount=bought, idempotency_key=f"buy:{index}", now=now
        )
    post_transfer(
        old, kind="adjustment", debit=pools[2], credit=issuance, amount=50, idempotency_key="adjust:2", now=now
    )
    history = {t.pk: (t.kind, t.amount, t.debit_account_id, t.credit_account_id) for t in OldTransfer.objects.all()}
    yield split.pk, poolless.pk, [p.pk for p in pools], history
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_split_pools_are_merged_into_the_oldest_with_every_point_and_transfer_kept(split_books):
    split, poolless, (survivor, *extras), history = split_books
    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    live = LedgerAccount.objects.pools().get(organization_id=split)
    assert live.pk == survivor
    assert live.balance == 300 + 50 + 30 - 50
    retired = LedgerAccount.objects.filter(pk__in=extras).order_by("pk")
    assert [(p.balance, p.retired_into_id) for p in retired] == [(0, survivor), (0, survivor)]
    kept = {
        t.pk: (t.kind, t.amount, t.debit_account_id, t.credit_account_id)
        for t in Transfer.objects.filter(pk__in=history)
    }
    assert kept == history
    moves = Transfer.objects.exclude(pk__in=history).order_by("pk")
    assert [(t.kind, t.amount, t.debit_account_id, t.credit_account_id) for t in moves] == [
        ("adjustment", 50, extras[0], survivor),
        ("adjustment", 20, survivor, extras[1]),
    ]
    assert LedgerAccount.objects.pools().filter(organization_id=poolless).count() == 1
    event = AuditEvent.objects.get(action="points.pools_merged")
    assert event.organization_id == split and event.after["retired_pools"] == extras
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'ledger_one_pool_per_msp'")
        (definition,) = cursor.fetchone()
    assert "UNIQUE" in definition and "retired_into_id IS NULL" in definition
    assert ledger_problems() == []
    assert LedgerAccount.objects.filter(kind=LedgerAccountKind.POOL, organization_id=split).count() == 3
