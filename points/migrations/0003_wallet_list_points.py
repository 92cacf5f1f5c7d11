"""The customer list's points move from the customer row to the wallet (DESIGN.md §12): every
customer gets a wallet, each wallet copies its customer's estimate and MSP
(accounts 0005 then drops the customer columns). The transfer table loses the indexes that other
indexes already lead with, and the database key of its `customer` column."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


OPEN_MISSING_WALLETS = """
INSERT INTO points_ledgeraccount (kind, customer_id, balance, last_seq, created_at)
SELECT 'wallet', c.id, 0, 0, CURRENT_TIMESTAMP FROM accounts_customeraccount c
WHERE NOT EXISTS (SELECT 1 FROM points_ledgeraccount w WHERE w.customer_id = c.id)
"""

COPY_LIST_FIELDS = {
    "postgresql": """
UPDATE points_ledgeraccount w
SET estimated_balance = c.estimated_balance, msp_id = c.organization_id
FROM accounts_customeraccount c WHERE c.id = w.customer_id
""",
    "sqlite": """
UPDATE points_ledgeraccount
SET estimated_balance = (SELECT c.estimated_balance FROM accounts_customeraccount c WHERE c.id = customer_id),
    msp_id = (SELECT c.organization_id FROM accounts_customeraccount c WHERE c.id = customer_id)
WHERE customer_id IS NOT NULL
""",
}


def copy_points_to_wallets(apps, schema_editor):
    # A customer without a wallet has a balance of 0 (points.selectors checks that invariant).
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "postgresql":
            # Check the new wallets' keys now: pending deferred checks would block this
            # migration's later ALTER TABLEs.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(OPEN_MISSING_WALLETS)
        cursor.execute(COPY_LIST_FIELDS[vendor])
        if vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_search_text_statistics"),
        ("points", "0002_default_consumption_rule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="ledgeraccount",
            name="ledger_account_owner_by_kind",
        ),
        migrations.AddField(
            model_name="ledgeraccount",
            name="estimated_balance",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="estimated points after the next 25th"),
        ),
        migrations.AddField(
            model_name="ledgeraccount",
            name="msp",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.organization",
            ),
        ),
        migrations.RunPython(copy_points_to_wallets, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="ledgeraccount",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_accounts",
                to="accounts.organization",
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="credit_account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credits",
                to="points.ledgeraccount",
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="customer",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="transfers",
                to="accounts.customeraccount",
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="debit_account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="debits",
                to="points.ledgeraccount",
            ),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="idempotency_key",
            field=models.CharField(max_length=200),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversals",
                to="points.transfer",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgeraccount",
            index=models.Index(fields=["msp", "balance", "customer"], name="wallet_msp_points"),
        ),
        migrations.AddIndex(
            model_name="ledgeraccount",
            index=models.Index(fields=["balance", "customer"], name="wallet_points"),
        ),
        migrations.AddIndex(
            model_name="ledgeraccount",
            index=models.Index(fields=["msp", "estimated_balance", "customer"], name="wallet_msp_estimate"),
        ),
        migrations.AddIndex(
            model_name="ledgeraccount",
            index=models.Index(fields=["estimated_balance", "customer"], name="wallet_estimate"),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(condition=models.Q(("actor__isnull", False)), fields=["actor"], name="transfer_actor"),
        ),
        migrations.AddConstraint(
            model_name="ledgeraccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("customer__isnull", True), ("kind", "pool"), ("organization__isnull", False)),
                    models.Q(
                        ("customer__isnull", False),
                        ("estimated_balance__isnull", False),
                        ("kind", "wallet"),
                        ("msp__isnull", False),
                        ("organization__isnull", True),
                    ),
                    models.Q(
                        ("customer__isnull", True),
                        ("kind__in", ("issuance", "consumed")),
                        ("organization__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="ledger_account_owner_by_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.UniqueConstraint(fields=("idempotency_key",), name="transfer_idempotency_key"),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reverses__isnull", False)), fields=("reverses",), name="transfer_reversed_once"
            ),
        ),
        migrations.RemoveIndex(
            model_name="transfer",
            name="transfer_credit_seq",
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(
                condition=models.Q(("credit_seq__isnull", False)),
                fields=["credit_account", "credit_seq"],
                name="transfer_credit_seq",
            ),
        ),
        migrations.RemoveIndex(
            model_name="transfer",
            name="transfer_kind_period",
        ),
    ]
