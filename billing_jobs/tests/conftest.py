import datetime as dt

import pytest


@pytest.fixture(autouse=True)
def _default_consumption_rule(request):
    """The default rule comes from a data migration, which a transactional test's flush removes
    for every test after it: put it back (the same values as points' migration 0002)."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from points.models import ConsumptionRule

    ConsumptionRule.objects.get_or_create(
        effective_from=dt.date(2000, 1, 1),
        defaults={"base_points": 10, "included_users": 10, "points_per_extra_user": 1, "memo": "default"},
    )
