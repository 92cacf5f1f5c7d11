"""The customer portal's rows point at `customers.CustomerAccount` (the model moved from
`accounts`; its table did not)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customer_portal', '0001_initial'),
        ('customers', '0001_initial'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app holds them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='customeradmin',
                    name='customer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='admins', to='customers.customeraccount', verbose_name='customer account'),
                ),
                migrations.AlterField(
                    model_name='serviceuser',
                    name='customer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customeraccount', verbose_name='customer account'),
                ),
                migrations.AlterField(
                    model_name='serviceuserimport',
                    name='customer',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.customeraccount'),
                ),
            ],
            database_operations=[],
        ),
    ]
