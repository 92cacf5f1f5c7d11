"""The event types an endpoint can subscribe to, and the payloads they carry (docs/webhooks.md).

A payload is the Standard Webhooks envelope `{"type", "timestamp", "data"}`. Its `data` is a
stable, documented shape: fields are added, never renamed or removed. Nothing secret is ever in
it (no passwords, keys, tokens or signing secrets; no personal data beyond the customer's own
contact fields that the MSP entered).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _

from customers.models import CustomerAccount

# (type, label): the labels are the checkbox list of the endpoint form, in the user's language.
EVENT_TYPES: list[tuple[str, Any]] = [
    ("customer.registered", _("Customer account registered")),
    ("customer.approved", _("Customer account approved")),
    ("customer.rejected", _("Customer account returned")),
    ("customer.provisioned", _("Customer account provisioned")),
    ("customer.provisioning_failed", _("Customer account provisioning failed")),
    ("customer.contract_changed", _("Contracted users changed")),
    ("customer.cancellation_scheduled", _("Cancellation date set or cleared")),
    ("customer.cancelled", _("Customer account cancelled")),
    ("customer.merged", _("Customer account merged")),
    ("customer.transferred", _("Customer account transferred")),
    ("points.changed", _("Points of a customer account changed")),
    ("points.shortage", _("Expected point shortage (reminder days)")),
    ("billing.run_completed", _("Monthly billing run completed")),
]
EVENT_TYPE_NAMES = frozenset(name for name, _label in EVENT_TYPES)
# Sent only by "Send test event", to one endpoint, whatever it subscribes to.
TEST_EVENT = "webhook.test"


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def customer_data(customer: CustomerAccount) -> dict[str, Any]:
    """The customer account as every customer.* and points.changed event shows it. `customer`
    comes from `CustomerAccount.objects.with_points()` (its balance and estimate annotated)."""
    return {
        "id": customer.pk,
        "code": customer.account_code,
        "company": customer.company_name,
        "company_kana": customer.company_name_kana,
        "email_domain": customer.email_domain,
        "status": customer.status,
        "msp_id": customer.organization_id,
        "contracted_users": customer.contracted_users,
        "points_balance": getattr(customer, "points_balance", None),
        "estimated_balance": getattr(customer, "estimated_balance", None),
        "cancellation_date": _iso(customer.cancellation_date),
        "suspended": customer.suspended_at is not None,
        "reseller_name": customer.reseller_name,
        "registered_at": _iso(customer.registered_at),
        "activated_at": _iso(customer.activated_at),
        "cancelled_at": _iso(customer.cancelled_at),
    }


def envelope(event_type: str, data: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    return {"type": event_type, "timestamp": at.isoformat(), "data": data}
