"""The bounded count of the customer list's default view (archived accounts hidden) walks these
live-id indexes without visiting the table (customers.listing.bounded_count)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_customer_accounts_moved_to_customers'),
        ('customers', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='customeraccount',
            index=models.Index(condition=models.Q(('archived_at__isnull', True)), fields=['organization', 'id'], name='customer_org_live'),
        ),
        migrations.AddIndex(
            model_name='customeraccount',
            index=models.Index(condition=models.Q(('archived_at__isnull', True)), fields=['id'], name='customer_live'),
        ),
    ]
