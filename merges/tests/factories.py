"""Accounts and requests in a known state for the merges tests, built through the services."""

from __future__ import annotations

import datetime as dt
import itertools

from billing_jobs.tests.factories import active_customer, at
from merges import services
from msp_portal import dates

_keys = itertools.count()


def key() -> str:
    return f"form:test:{next(_keys)}"


def active(organization, *, users: int = 20, points: int = 0, days: int = 10, **fields):
    """An active account activated `days` ago, with `points` allocated from its MSP's pool."""
    return active_customer(
        organization, activated=at(dates.today()) - dt.timedelta(days=days), users=users, points=points, **fields
    )


def merge_request(actor, customer, other, *, survivor_is_other: bool = False, note: str = "同じ会社です"):
    return services.merge_request_create(
        actor=actor,
        customer=customer,
        other=other,
        survivor_is_other=survivor_is_other,
        note=note,
        idempotency_key=key(),
    )


def transfer_request(actor, customer, to_organization, note: str = "販売店の変更"):
    return services.transfer_request_create(
        actor=actor, customer=customer, to_organization=to_organization, note=note, idempotency_key=key()
    )
