# Restores the one-pool-per-MSP constraint on PostgreSQL. 0003 altered
# LedgerAccount.organization to db_index=False, and PostgreSQL's schema editor then dropped every
# single-column index on organization_id that Meta.indexes does not list, including the partial
# unique index behind `ledger_one_pool_per_msp` (SQLite rebuilt the table from the model state
# and kept it). Without it, concurrent first uses of a new MSP's pool could each create one.
#
# Before the index is built again, pools that a race split are merged into the MSP's oldest
# pool without rewriting history: each extra pool's balance moves to the survivor by one
# audited `adjustment` transfer (either direction, since a pool may be negative after a
# settlement), the extra pool is marked `retired_into` the survivor (the constraint's condition
# and every pool look-up ignore retired pools; a CHECK keeps them at 0), and every transfer
# stays as it was. MSP organizations without a pool get one, since pools are now opened with
# their organization and never on first use.

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

from points.migrations._posting import post_transfer

MSP_KINDS = ("msp", "privileged_msp")


def merge_split_pools_and_open_missing_ones(apps, schema_editor):
    LedgerAccount = apps.get_model("points", "LedgerAccount")
    Organization = apps.get_model("accounts", "Organization")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    now = timezone.now()
    split = (
        LedgerAccount.objects.filter(kind="pool")
        .values("organization_id")
        .annotate(pools=models.Count("id"))
        .filter(pools__gt=1)
        .values_list("organization_id", flat=True)
    )
    for organization_id in list(split):
        pools = list(
            LedgerAccount.objects.select_for_update().filter(kind="pool", organization_id=organization_id).order_by("pk")
        )
        survivor, extras = pools[0], pools[1:]
        before = {"pool": survivor.pk, "balance": survivor.balance, "extra_pools": {p.pk: p.balance for p in extras}}
        for extra in extras:
            memo = f"Duplicate pool #{extra.pk} merged into pool #{survivor.pk} (one pool per MSP)"
            key = f"pool-merge:{extra.pk}:{survivor.pk}"
            if extra.balance > 0:
                post_transfer(apps, kind="adjustment", debit=extra, credit=survivor, amount=extra.balance, idempotency_key=key, memo=memo, now=now)
            elif extra.balance < 0:
                post_transfer(apps, kind="adjustment", debit=survivor, credit=extra, amount=-extra.balance, idempotency_key=key, memo=memo, now=now)
            LedgerAccount.objects.filter(pk=extra.pk).update(retired_into=survivor)
        organization = Organization.objects.get(pk=organization_id)
        AuditEvent.objects.create(
            created_at=now,
            actor_label="migration points.0004",
            organization=organization,
            action="points.pools_merged",
            object_type="points.LedgerAccount",
            object_id=str(survivor.pk),
            object_repr=f"pool:{organization_id}",
            before=before,
            after={"pool": survivor.pk, "balance": survivor.balance, "retired_pools": [p.pk for p in extras]},
            channel="command",
        )
    with_pool = LedgerAccount.objects.filter(kind="pool").values("organization_id")
    missing = Organization.objects.filter(kind__in=MSP_KINDS).exclude(pk__in=with_pool)
    LedgerAccount.objects.bulk_create(
        [LedgerAccount(kind="pool", organization_id=pk, created_at=now) for pk in missing.values_list("pk", flat=True)]
    )
    if schema_editor.connection.vendor == "postgresql":
        # Foreign keys are deferred: fire their checks now, since PostgreSQL refuses to alter a
        # table with pending trigger events (the constraints below).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")



class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_points_on_wallet'),
        ('audit', '0002_actor_index_append_only'),
        ('points', '0003_wallet_list_points'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='ledgeraccount',
            name='ledger_one_pool_per_msp',
        ),
        migrations.AddField(
            model_name='ledgeraccount',
            name='retired_into',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='points.ledgeraccount'),
        ),
        migrations.RunPython(merge_split_pools_and_open_missing_ones, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name='ledgeraccount',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'pool'), ('retired_into__isnull', True)), fields=('organization',), name='ledger_one_pool_per_msp'),
        ),
        migrations.AddConstraint(
            model_name='ledgeraccount',
            constraint=models.CheckConstraint(condition=models.Q(('retired_into__isnull', True), models.Q(('balance', 0), ('kind', 'pool')), _connector='OR'), name='ledger_retired_pool_empty'),
        ),
    ]
