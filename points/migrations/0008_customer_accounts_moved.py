"""The wallets' and transfers' customer is now `customers.CustomerAccount` (the model moved
from `accounts`; its table did not)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0001_initial'),
        ('points', '0007_settle_ended_accounts'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app holds them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='ledgeraccount',
                    name='customer',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='wallet', to='customers.customeraccount'),
                ),
                migrations.AlterField(
                    model_name='transfer',
                    name='customer',
                    field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='customers.customeraccount'),
                ),
            ],
            database_operations=[],
        ),
    ]
