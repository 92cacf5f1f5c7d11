"""Audit events' customer is now `customers.CustomerAccount` (the model moved from `accounts`;
its table did not)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_actor_index_append_only'),
        ('customers', '0001_initial'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app holds them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='auditevent',
                    name='acting_as_customer',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customeraccount'),
                ),
                migrations.AlterField(
                    model_name='auditevent',
                    name='customer',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_events', to='customers.customeraccount'),
                ),
            ],
            database_operations=[],
        ),
    ]
