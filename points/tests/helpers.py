"""Small helpers for the points tests: money in through the real services."""

from __future__ import annotations

import itertools

from points import services

_keys = itertools.count()


def key(prefix: str = "test") -> str:
    return f"{prefix}:{next(_keys)}"


def fund(organization, amount: int, actor=None):
    return services.points_purchase(
        actor=actor, organization=organization, amount=amount, order_reference="PO-1", idempotency_key=key("buy")
    )


def give(customer, amount: int, actor=None):
    return services.points_allocate(actor=actor, customer=customer, amount=amount, idempotency_key=key("give"))


def take(customer, amount: int, actor=None):
    return services.points_withdraw(
        actor=actor, customer=customer, amount=amount, idempotency_key=key("take"), allow_negative=True
    )
