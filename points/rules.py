"""The consumption rule in force and what it charges (DESIGN.md §5.3), written once.

`_charge` is the rule's arithmetic, written over whatever numbers it is given, and every form
of the charge is generated from it: `consumption` evaluates it in Python (the estimate of one
account, the settlement, the dry run, the tests), `consumption_expression` builds it as a
Django expression (the stored estimates, the run's planning and owing totals, its chunks,
which compile it into their statements), and `consumption_sql` writes it as SQL text for
statements written by hand. A property test holds the three to the same values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import connection
from django.db.models import BigIntegerField, F, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Greatest

from .models import ConsumptionRule


def _charge(rule: ConsumptionRule, users, *, number: Callable, greatest: Callable):
    """base_points + max(0, users − included_users) × points_per_extra_user, over the numbers
    that `number` makes of the rule's integers and `users`, with `greatest` as max()."""
    return number(rule.base_points) + greatest(users - number(rule.included_users), number(0)) * number(
        rule.points_per_extra_user
    )


def consumption(rule: ConsumptionRule, contracted_users: int) -> int:
    """Points an account with `contracted_users` consumes under `rule`."""
    return _charge(rule, contracted_users, number=int, greatest=max)


def consumption_expression(rule: ConsumptionRule, users: str | Combinable = "contracted_users") -> Combinable:
    """The charge under `rule` as an expression of `users` (a field name or an expression).
    Computed in 64 bits, as the amounts are stored: the users column is 32-bit, and the rule's
    largest terms (10⁹ points per user, 10⁶ users) would overflow it on PostgreSQL."""
    users = F(users) if isinstance(users, str) else users
    return _charge(
        rule,
        Cast(users, BigIntegerField()),
        number=lambda n: Value(int(n)),
        greatest=Greatest,
    )


class _Sql:
    """SQL text under the arithmetic operators, so that `_charge` writes it too."""

    def __init__(self, text: str):
        self.text = text

    def _op(self, operator: str, other: _Sql) -> _Sql:
        return _Sql(f"({self.text} {operator} {other.text})")

    def __add__(self, other: _Sql) -> _Sql:
        return self._op("+", other)

    def __sub__(self, other: _Sql) -> _Sql:
        return self._op("-", other)

    def __mul__(self, other: _Sql) -> _Sql:
        return self._op("*", other)


def consumption_sql(rule: ConsumptionRule, users_sql: str) -> str:
    """The charge under `rule` as SQL text over the SQL expression `users_sql`, for this
    connection's database, in 64 bits (as `consumption_expression`); the rule's integers are
    written as literals."""
    greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    return _charge(
        rule,
        _Sql(f"CAST({users_sql} AS bigint)"),
        number=lambda n: _Sql(str(int(n))),
        greatest=lambda a, b: _Sql(f"{greatest}({a.text}, {b.text})"),
    ).text


def rule_at(day: dt.date) -> ConsumptionRule:
    """The rule in force on `day` (the latest whose effective_from is not after it)."""
    rule = ConsumptionRule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if rule is None:
        raise ConsumptionRule.DoesNotExist(f"No consumption rule is in force on {day}.")
    return rule


def consumption_for(contracted_users: int, day: dt.date) -> int:
    """Points an account with `contracted_users` consumes on the 25th `day`."""
    return consumption(rule_at(day), contracted_users)


# A charge's idempotency key is this prefix, the account's id, ":" and the period (the monthly
# run's set-based statement, points.charges, builds the same key in SQL).
CONSUMPTION_KEY_PREFIX = "consume:"


def consumption_key(customer_id: int, period: str) -> str:
    """The idempotency key of an account's charge of `period`: the monthly run's
    (billing_jobs.charging) and a settlement's alike, so a period is charged once."""
    return f"{CONSUMPTION_KEY_PREFIX}{customer_id}:{period}"


def snapshot_for(rule: ConsumptionRule, contracted_users: int, charge_day: dt.date, period: str) -> dict:
    """What a consumption transfer records of the inputs of its charge."""
    return {
        "period": period,
        "charge_date": charge_day.isoformat(),
        "contracted_users": contracted_users,
        "rule_id": rule.pk,
        "base_points": rule.base_points,
        "included_users": rule.included_users,
        "points_per_extra_user": rule.points_per_extra_user,
    }
