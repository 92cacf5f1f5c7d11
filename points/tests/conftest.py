import datetime as dt

import pytest


@pytest.fixture(autouse=True)
def _default_consumption_rule(request):
    """The default rule comes from a data migration, but a transactional test (browser,
    concurrency) flushes every table when it ends: put the rule back for database tests.
    Runs after pytest-django's own autouse fixture has opened database access for the marker."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from points.models import ConsumptionRule

    ConsumptionRule.objects.get_or_create(
        effective_from=dt.date(2000, 1, 1),
        defaults={"base_points": 10, "included_users": 10, "points_per_extra_user": 1, "memo": "default"},
    )
