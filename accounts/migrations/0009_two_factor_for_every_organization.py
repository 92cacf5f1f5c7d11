"""Two-factor sign-in becomes required for every staff organization (issue 23).

An organization that did not require it yet gets a grace period of PORTAL_TWO_FACTOR_GRACE_DAYS
(14 by default), recorded as its `two_factor_deadline`: until then its members without a second
factor see a banner with the deadline, after it their sign-in goes straight to enrolment. One
audit event per organization says so. Organizations that already required it keep it without a
deadline; the operator always required it.
"""

import datetime as dt

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def require_two_factor(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    deadline = timezone.now() + dt.timedelta(days=settings.PORTAL_TWO_FACTOR_GRACE_DAYS)
    for organization in Organization.objects.filter(require_two_factor=False).exclude(kind="operator").order_by("pk"):
        organization.require_two_factor = True
        organization.two_factor_deadline = deadline
        organization.save(update_fields=["require_two_factor", "two_factor_deadline"])
        AuditEvent.objects.create(
            actor=None,
            actor_label="migration accounts.0009",
            organization=organization,
            action="organization.two_factor",
            object_type="accounts.Organization",
            object_id=str(organization.pk),
            object_repr=organization.name[:300],
            before={"require_two_factor": False},
            after={"require_two_factor": True, "two_factor_deadline": deadline.isoformat()},
            channel="command",
        )
    Organization.objects.filter(kind="operator", require_two_factor=False).update(require_two_factor=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_customer_accounts_moved_to_customers"),
        ("accounts", "0008_security"),
        ("audit", "0003_customer_accounts_moved"),
    ]

    operations = [migrations.RunPython(require_two_factor, migrations.RunPython.noop)]
