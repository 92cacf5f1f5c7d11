"""Property-based: the consumption rule's Python value, its Django expression and its SQL text
(points.rules, all generated from one definition) agree for any rule the service accepts and
any number of contracted users, on the database the suite runs on."""

from django.db import connection
from django.db.models import IntegerField, Value
from django.db.models.functions import Cast
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from customers.models import CONTRACTED_USERS_MAX
from points.models import ConsumptionRule
from points.rules import consumption, consumption_expression, consumption_sql
from points.services import MAX_POINTS

# Small values meet at the boundaries (users at, below and above those included); large ones
# reach the limits of the columns.
rule_terms = st.one_of(st.integers(0, 20), st.integers(0, MAX_POINTS))
user_counts = st.one_of(st.integers(0, 30), st.integers(0, CONTRACTED_USERS_MAX))
rules = st.builds(ConsumptionRule, base_points=rule_terms, included_users=rule_terms, points_per_extra_user=rule_terms)


def users_column(n: int):
    """`n` typed as the users columns are (32-bit), as the expression meets them."""
    return Cast(Value(n), IntegerField())


class ConsumptionFormsAgreeTest(TestCase):
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rules, st.lists(user_counts, min_size=1, max_size=10))
    def test_python_expression_and_sql_text_give_the_same_charge(self, rule, users):
        expected = [consumption(rule, n) for n in users]
        assert expected == [rule.consumption(n) for n in users]
        row = (
            ConsumptionRule.objects.order_by()[:1]
            .annotate(**{f"c{i}": consumption_expression(rule, users_column(n)) for i, n in enumerate(users)})
            .values_list(*(f"c{i}" for i in range(len(users))))
            .get()
        )
        assert list(row) == expected
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(consumption_sql(rule, "CAST(%s AS integer)") for _ in users), users)
            assert list(cursor.fetchone()) == expected
