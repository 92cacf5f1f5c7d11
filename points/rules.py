"""The consumption rule in force and what it charges: one function shared by the estimate,
the monthly job and the tests."""

from __future__ import annotations

import datetime as dt

from .models import ConsumptionRule


def rule_at(day: dt.date) -> ConsumptionRule:
    """The rule in force on `day` (the latest whose effective_from is not after it)."""
    rule = ConsumptionRule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if rule is None:
        raise ConsumptionRule.DoesNotExist(f"No consumption rule is in force on {day}.")
    return rule


def consumption_for(contracted_users: int, day: dt.date) -> int:
    """Points an account with `contracted_users` consumes on the 25th `day`."""
    return rule_at(day).consumption(contracted_users)
