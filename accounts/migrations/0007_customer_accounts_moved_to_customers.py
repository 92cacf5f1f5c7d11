"""The customer accounts now live in the `customers` app (customers 0001 took over their tables
as they are). Remove them from this app's state only; nothing in the database changes."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_customer_suspension_indexes"),
        ("customers", "0001_initial"),
        # Every relation to the models points at `customers` before they leave this app.
        ("audit", "0003_customer_accounts_moved"),
        ("customer_portal", "0002_customer_accounts_moved"),
        ("points", "0008_customer_accounts_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ContractChange"),
                migrations.DeleteModel(name="CustomerStatusChange"),
                migrations.DeleteModel(name="CustomerAccount"),
            ],
            database_operations=[],
        ),
    ]
