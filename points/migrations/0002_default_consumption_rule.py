import datetime

from django.db import migrations


def create_default_rule(apps, schema_editor):
    # The seed's rule: a base of 10 points that includes 10 users, and 1 point per user beyond
    # them, so "contracted users × 1 month" of points covers a month (DESIGN.md §5.3).
    ConsumptionRule = apps.get_model("points", "ConsumptionRule")
    ConsumptionRule.objects.get_or_create(
        effective_from=datetime.date(2000, 1, 1),
        defaults={"base_points": 10, "included_users": 10, "points_per_extra_user": 1, "memo": "default"},
    )


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(create_default_rule, migrations.RunPython.noop)]
