"""The customer accounts and their histories, moved here from `accounts` without touching the
database: the tables keep their names (`db_table`), their indexes and constraints; this
migration only tells Django's state that `customers` holds them now. `accounts` 0007 removes
them from its own state once every relation points here."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MODELS = ("customeraccount", "customerstatuschange", "contractchange")


def _move_content_types(apps, source: str, target: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    taken = set(ContentType.objects.filter(app_label=target, model__in=MODELS).values_list("model", flat=True))
    ContentType.objects.filter(app_label=source, model__in=set(MODELS) - taken).update(app_label=target)


def rename_content_types(apps, schema_editor):
    _move_content_types(apps, "accounts", "customers")


def unrename_content_types(apps, schema_editor):
    _move_content_types(apps, "customers", "accounts")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0006_customer_suspension_indexes'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app holds them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CustomerAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('account_code', models.CharField(max_length=40, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9-]{3,40}\\Z', 'Use 3 to 40 characters: lowercase letters, digits and hyphens.')], verbose_name='account code')),
                        ('company_name', models.CharField(max_length=200, verbose_name='company name')),
                        ('company_name_kana', models.CharField(blank=True, max_length=200, verbose_name='company name (kana)')),
                        ('email_domain', models.CharField(max_length=253, verbose_name='primary e-mail domain')),
                        ('country', models.CharField(blank=True, default='日本', max_length=100, verbose_name='country')),
                        ('address', models.CharField(blank=True, max_length=300, verbose_name='city / address')),
                        ('industry', models.CharField(blank=True, choices=[('manufacturing', 'Manufacturing'), ('it', 'Information and communications'), ('finance', 'Finance and insurance'), ('retail', 'Wholesale and retail'), ('construction', 'Construction'), ('medical', 'Medical and welfare'), ('education', 'Education'), ('public', 'Public sector'), ('services', 'Services'), ('other', 'Other')], max_length=20, verbose_name='industry')),
                        ('company_size', models.CharField(blank=True, choices=[('1-49', '1–49 employees'), ('50-299', '50–299 employees'), ('300-999', '300–999 employees'), ('1000-4999', '1,000–4,999 employees'), ('5000+', '5,000 employees or more')], max_length=20, verbose_name='company size')),
                        ('contact_name', models.CharField(blank=True, max_length=100, verbose_name='contact name')),
                        ('contact_email', models.EmailField(blank=True, max_length=254, verbose_name='contact e-mail')),
                        ('phone', models.CharField(blank=True, max_length=30, verbose_name='phone')),
                        ('contracted_users', models.PositiveIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1000000)], verbose_name='contracted users')),
                        ('reseller_name', models.CharField(blank=True, max_length=200, verbose_name='reseller name')),
                        ('reseller_contact_name', models.CharField(blank=True, max_length=100, verbose_name='reseller contact name')),
                        ('reseller_contact_email', models.EmailField(blank=True, max_length=254, verbose_name='reseller contact e-mail')),
                        ('hidden_menus', models.JSONField(blank=True, default=list, verbose_name='hidden menus')),
                        ('auto_replenish', models.BooleanField(default=False, verbose_name='auto-replenish')),
                        ('status', models.CharField(choices=[('pending_approval', 'Pending approval'), ('rejected', 'Returned'), ('withdrawn', 'Withdrawn'), ('provisioning', 'Provisioning'), ('provisioning_failed', 'Provisioning failed'), ('active', 'Active'), ('cancelled', 'Cancelled'), ('merged', 'Merged')], default='pending_approval', max_length=24, verbose_name='status')),
                        ('cancellation_date', models.DateField(blank=True, null=True, verbose_name='cancellation date')),
                        ('archived_at', models.DateTimeField(blank=True, null=True, verbose_name='archived at')),
                        ('registered_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='registered at')),
                        ('submitted_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='submitted at')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('approved_at', models.DateTimeField(blank=True, null=True, verbose_name='approved at')),
                        ('activated_at', models.DateTimeField(blank=True, null=True, verbose_name='activated at')),
                        ('cancelled_at', models.DateTimeField(blank=True, null=True, verbose_name='cancelled at')),
                        ('provisioning_attempts', models.PositiveIntegerField(default=0)),
                        ('provisioning_error', models.TextField(blank=True)),
                        ('last_delivery_notice_at', models.DateTimeField(blank=True, null=True, verbose_name='last delivery notice')),
                        ('suspended_at', models.DateTimeField(blank=True, null=True, verbose_name='suspended since')),
                        ('search_text', models.TextField(default='', editable=False)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='customers', to='accounts.organization', verbose_name='MSP')),
                        ('registered_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='registered_customers', to=settings.AUTH_USER_MODEL)),
                        ('support_account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='supported_customers', to='accounts.organization', verbose_name='support account')),
                    ],
                    options={
                        'verbose_name': 'customer account',
                        'verbose_name_plural': 'customer accounts',
                        'db_table': 'accounts_customeraccount',
                    },
                ),
                migrations.CreateModel(
                    name='ContractChange',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('old_users', models.PositiveIntegerField(blank=True, null=True)),
                        ('new_users', models.PositiveIntegerField()),
                        ('effective_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contract_changes', to='customers.customeraccount')),
                    ],
                    options={
                        'db_table': 'accounts_contractchange',
                        'ordering': ['effective_at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='CustomerStatusChange',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('from_status', models.CharField(blank=True, choices=[('pending_approval', 'Pending approval'), ('rejected', 'Returned'), ('withdrawn', 'Withdrawn'), ('provisioning', 'Provisioning'), ('provisioning_failed', 'Provisioning failed'), ('active', 'Active'), ('cancelled', 'Cancelled'), ('merged', 'Merged')], max_length=24)),
                        ('to_status', models.CharField(choices=[('pending_approval', 'Pending approval'), ('rejected', 'Returned'), ('withdrawn', 'Withdrawn'), ('provisioning', 'Provisioning'), ('provisioning_failed', 'Provisioning failed'), ('active', 'Active'), ('cancelled', 'Cancelled'), ('merged', 'Merged')], max_length=24)),
                        ('reason', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='status_changes', to='customers.customeraccount')),
                    ],
                    options={
                        'db_table': 'accounts_customerstatuschange',
                        'ordering': ['created_at', 'id'],
                    },
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'registered_at', 'id'], name='customer_org_registered'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['registered_at', 'id'], name='customer_registered'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'account_code'], name='customer_org_code'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'status', 'id'], name='customer_org_status'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['status', 'id'], name='customer_status'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'contracted_users', 'id'], name='customer_org_users'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['contracted_users', 'id'], name='customer_users'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'cancellation_date', 'id'], name='customer_org_cancel_date'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['cancellation_date', 'id'], name='customer_cancel_date'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'support_account', 'id'], name='customer_org_support'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['support_account', 'id'], name='customer_support'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'reseller_name', 'id'], name='customer_org_reseller'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['reseller_name', 'id'], name='customer_reseller'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['organization', 'id'], name='customer_org_id'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(fields=['status', 'submitted_at', 'id'], name='customer_status_submitted'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(condition=models.Q(('status', 'active'), ('suspended_at__isnull', True)), fields=['id'], name='customer_active_unsuspended'),
                ),
                migrations.AddIndex(
                    model_name='customeraccount',
                    index=models.Index(condition=models.Q(('suspended_at__isnull', False)), fields=['id'], name='customer_suspended'),
                ),
                migrations.AddConstraint(
                    model_name='customeraccount',
                    constraint=models.CheckConstraint(condition=models.Q(('contracted_users__gte', 1), ('contracted_users__lte', 1000000)), name='customer_contracted_users_range'),
                ),
                migrations.AddConstraint(
                    model_name='customeraccount',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending_approval', 'rejected', 'withdrawn', 'provisioning', 'provisioning_failed', 'active', 'cancelled', 'merged'])), name='customer_status_valid'),
                ),
                migrations.AddIndex(
                    model_name='contractchange',
                    index=models.Index(fields=['customer', 'effective_at'], name='contract_change_customer_eff'),
                ),
            ],
            database_operations=[],
        ),
        # Permissions and admin history follow the models: their content types are renamed
        # rather than left behind with new ones made beside them.
        migrations.RunPython(rename_content_types, unrename_content_types, elidable=False),
    ]
