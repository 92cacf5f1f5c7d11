"""The one way to write an audit event; every service calls it inside its transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from msp_portal import context

from .models import AuditEvent


def _customer_of(obj) -> Any:
    # The customer account model is the one the event's `customer` key points at, so this
    # module needs no import of the app that holds it.
    customer_model = AuditEvent.customer.field.related_model
    if isinstance(obj, customer_model):
        return obj
    customer = getattr(obj, "customer", None)
    return customer if isinstance(customer, customer_model) else None


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    organization=None,
    customer=None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event: who (`actor`, None for jobs), in which organization, did what
        (`action`, a dotted verb such as "customer.register") to which object, with the changed
        values before and after. The IP address and "acting as customer" context come from the
        current acting context (request middleware, job or command); a call through an API key is
    named by the key (`ActingContext.actor_label`), the key's creator kept as `actor`."""
    ctx = context.current()
    if organization is None and actor is not None and getattr(actor, "is_authenticated", False):
        organization = actor.organization
    if customer is None and obj is not None:
        customer = _customer_of(obj)
    actor_label = ""
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_label = ctx.actor_label or actor.email
    else:
        actor = None
        actor_label = ctx.channel
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor_label,
        organization=organization,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        customer=customer,
        before=before,
        after=after,
        ip=ctx.ip,
        channel=ctx.channel,
        acting_as_customer_id=ctx.acting_customer_id,
    )


def changed_fields(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    """The current values of `fields` on `instance`, for before/after snapshots."""
    values = {}
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, models.Model):
            value = value.pk
        values[name] = value
    return values
