"""The API's request and answer bodies. Requests are checked here for their JSON types, then by
the portal's own forms for the rules (customers/forms.py: account code, domain, the folding of
full-width input), so the API and the popups accept exactly the same input. Answers describe
the schema (drf-spectacular) and are built straight from the rows."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from customers.models import CONTRACTED_USERS_MAX, CompanySize, CustomerStatus, Industry
from customers.services import REGISTRATION_FIELDS
from points.models import TransferKind
from points.services import MAX_POINTS, MAX_REPLENISH_ACCOUNTS

# The largest id a 64-bit column holds.
MAX_ID = 2**63 - 1


def _iso(value):
    return value.isoformat() if value is not None else None


def _text(**kwargs):
    return serializers.CharField(allow_blank=True, **kwargs)


# --- answers ---------------------------------------------------------------------------------------


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    account_code = serializers.CharField()
    company_name = serializers.CharField()
    company_name_kana = _text()
    email_domain = serializers.CharField()
    country = _text()
    address = _text()
    industry = serializers.ChoiceField(choices=[("", ""), *Industry.choices])
    company_size = serializers.ChoiceField(choices=[("", ""), *CompanySize.choices])
    contact_name = _text()
    contact_email = _text()
    phone = _text()
    contracted_users = serializers.IntegerField()
    reseller_name = _text()
    reseller_contact_name = _text()
    reseller_contact_email = _text()
    status = serializers.ChoiceField(choices=CustomerStatus.choices)
    organization = OrganizationRefSerializer()
    support_account = OrganizationRefSerializer(allow_null=True)
    points_balance = serializers.IntegerField(help_text=_("Current points (may be negative)."))
    estimated_balance = serializers.IntegerField(help_text=_("Estimated points after the next 25th."))
    cancellation_date = serializers.DateField(allow_null=True)
    registered_at = serializers.DateTimeField()
    approved_at = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    archived_at = serializers.DateTimeField(allow_null=True)
    suspended_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, customer):
        # Built directly: a client pages through every account, and DRF's field-by-field
        # machinery would cost more than the query (bench/api_bench.py). The list pages rows
        # read as dicts (LIST_VALUES), which skips building model instances.
        if isinstance(customer, dict):
            return _customer_from_values(customer)
        support = customer.support_account
        return {
            "id": customer.pk,
            "account_code": customer.account_code,
            "company_name": customer.company_name,
            "company_name_kana": customer.company_name_kana,
            "email_domain": customer.email_domain,
            "country": customer.country,
            "address": customer.address,
            "industry": customer.industry,
            "company_size": customer.company_size,
            "contact_name": customer.contact_name,
            "contact_email": customer.contact_email,
            "phone": customer.phone,
            "contracted_users": customer.contracted_users,
            "reseller_name": customer.reseller_name,
            "reseller_contact_name": customer.reseller_contact_name,
            "reseller_contact_email": customer.reseller_contact_email,
            "status": customer.status,
            "organization": {"id": customer.organization_id, "name": customer.organization.name},
            "support_account": {"id": support.pk, "name": support.name} if support is not None else None,
            "points_balance": getattr(customer, "points_balance", None) or 0,
            "estimated_balance": getattr(customer, "estimated_balance", None) or 0,
            "cancellation_date": _iso(customer.cancellation_date),
            "registered_at": _iso(customer.registered_at),
            "approved_at": _iso(customer.approved_at),
            "activated_at": _iso(customer.activated_at),
            "cancelled_at": _iso(customer.cancelled_at),
            "archived_at": _iso(customer.archived_at),
            "suspended_at": _iso(customer.suspended_at),
        }


# The row's own fields in the answer: what registration takes, and the status.
_PLAIN_FIELDS = [*REGISTRATION_FIELDS, "status"]
_DATE_FIELDS = [
    "cancellation_date",
    "registered_at",
    "approved_at",
    "activated_at",
    "cancelled_at",
    "archived_at",
    "suspended_at",
]
# What the list reads of each row (`QuerySet.values`), in the answer's order.
LIST_VALUES = [
    "id",
    *_PLAIN_FIELDS,
    "organization_id",
    "organization__name",
    "support_account_id",
    "support_account__name",
    "points_balance",
    "estimated_balance",
    *_DATE_FIELDS,
]


def _customer_from_values(row: dict) -> dict:
    answer = {"id": row["id"]}
    for name in _PLAIN_FIELDS:
        answer[name] = row[name]
    answer["organization"] = {"id": row["organization_id"], "name": row["organization__name"]}
    support = row["support_account_id"]
    answer["support_account"] = {"id": support, "name": row["support_account__name"]} if support else None
    answer["points_balance"] = row["points_balance"] or 0
    answer["estimated_balance"] = row["estimated_balance"] or 0
    for name in _DATE_FIELDS:
        value = row[name]
        answer[name] = value.isoformat() if value is not None else None
    return answer


class CustomerPageSerializer(serializers.Serializer):
    results = CustomerSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text=_("The next page, or null on the last one."))
    next_cursor = serializers.CharField(allow_null=True)


class ApprovalSerializer(CustomerSerializer):
    submitted_at = serializers.DateTimeField()
    due_date = serializers.DateField(help_text=_("The promised date, in Japanese business days."))
    overdue = serializers.BooleanField()
    last_reason = _text(allow_null=True)
    provisioning_error = _text()

    def to_representation(self, customer):
        from customers.selectors import approval_due_date, approval_is_overdue

        return {
            **super().to_representation(customer),
            "submitted_at": _iso(customer.submitted_at),
            "due_date": _iso(approval_due_date(customer)),
            "overdue": approval_is_overdue(customer),
            "last_reason": getattr(customer, "last_reason", None),
            "provisioning_error": customer.provisioning_error,
        }


class ApprovalPageSerializer(serializers.Serializer):
    results = ApprovalSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    next_cursor = serializers.CharField(allow_null=True)


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TransferKind.choices)
    points = serializers.IntegerField(help_text=_("Signed: positive into this account, negative out of it."))
    balance_after = serializers.IntegerField(allow_null=True)
    sequence = serializers.IntegerField(allow_null=True)
    customer_id = serializers.IntegerField(allow_null=True)
    period = _text()
    memo = _text()
    order_reference = _text()
    created_at = serializers.DateTimeField()

    def to_representation(self, transfer):
        return {
            "id": transfer.pk,
            "kind": transfer.kind,
            "points": transfer.delta,
            "balance_after": transfer.balance_after,
            "sequence": transfer.seq,
            "customer_id": transfer.customer_id,
            "period": transfer.period,
            "memo": transfer.memo,
            "order_reference": transfer.order_reference,
            "created_at": _iso(transfer.created_at),
        }


class LedgerPageSerializer(serializers.Serializer):
    results = LedgerEntrySerializer(many=True)
    next = serializers.URLField(allow_null=True)
    next_cursor = serializers.CharField(allow_null=True)


class PoolSerializer(serializers.Serializer):
    organization = OrganizationRefSerializer()
    balance = serializers.IntegerField(help_text=_("Below zero only after cancellation settlements (a debt)."))


class PoolListSerializer(serializers.Serializer):
    results = PoolSerializer(many=True)


class TransferResultSerializer(serializers.Serializer):
    transfer_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TransferKind.choices)
    amount = serializers.IntegerField()
    customer = CustomerSerializer()


class ReplenishLineSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    points = serializers.IntegerField(help_text=_("Points added (0: the estimate was not negative)."))
    estimate_before = serializers.IntegerField()
    transfer_id = serializers.IntegerField(allow_null=True)


class ReplenishResultSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    lines = ReplenishLineSerializer(many=True)


class JobRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    run_date = serializers.DateField()
    periods = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    triggered_by = _text()
    chunks_total = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.JSONField())
    errors = _text()

    def to_representation(self, run):
        return {
            "id": run.pk,
            "kind": run.kind,
            "run_date": _iso(run.run_date),
            "periods": list(run.periods or []),
            "status": run.status,
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "triggered_by": run.triggered_by,
            "chunks_total": run.chunks_total,
            "chunks_done": run.chunks_done,
            "counts": dict(run.counts or {}),
            "errors": run.errors,
        }


class JobRunPageSerializer(serializers.Serializer):
    results = JobRunSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    next_cursor = serializers.CharField(allow_null=True)


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    pointer = serializers.CharField()
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    errors = ProblemErrorSerializer(many=True, required=False)


# --- requests ------------------------------------------------------------------------------------


class _InfoFields(serializers.Serializer):
    account_code = serializers.CharField(max_length=40)
    company_name = serializers.CharField(max_length=200)
    company_name_kana = _text(max_length=200, required=False)
    email_domain = serializers.CharField(max_length=253)
    country = _text(max_length=100, required=False)
    address = _text(max_length=300, required=False)
    industry = serializers.ChoiceField(choices=[("", ""), *Industry.choices], required=False, allow_blank=True)
    company_size = serializers.ChoiceField(choices=[("", ""), *CompanySize.choices], required=False, allow_blank=True)
    contact_name = _text(max_length=100, required=False)
    contact_email = _text(max_length=254, required=False)
    phone = _text(max_length=30, required=False)
    reseller_name = _text(max_length=200, required=False)
    reseller_contact_name = _text(max_length=100, required=False)
    reseller_contact_email = _text(max_length=254, required=False)


class CustomerRegisterSerializer(_InfoFields):
    contracted_users = serializers.IntegerField(min_value=1, max_value=CONTRACTED_USERS_MAX)
    organization = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text=_("The MSP to register for; needed only by keys that manage several MSPs."),
    )


class CustomerUpdateSerializer(_InfoFields):
    """Any of the customer and reseller fields; the others keep their values."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class ContractSerializer(serializers.Serializer):
    contracted_users = serializers.IntegerField(min_value=1, max_value=CONTRACTED_USERS_MAX)


class CancellationScheduleSerializer(serializers.Serializer):
    cancellation_date = serializers.DateField(help_text=_("A future date (Asia/Tokyo)."))
    agree = serializers.BooleanField(help_text=_("Must be true: the seed's 同意する."))


class CancelSerializer(serializers.Serializer):
    agree = serializers.BooleanField(
        help_text=_("Must be true: the shortage is topped up from the MSP pool and the remaining points are consumed.")
    )


class PointsChangeSerializer(serializers.Serializer):
    operation = serializers.ChoiceField(choices=[("add", _("Add")), ("remove", _("Remove"))])
    amount = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    allow_negative = serializers.BooleanField(
        required=False, default=False, help_text=_("Remove even if the customer's points go below zero.")
    )


class ReplenishSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=MAX_REPLENISH_ACCOUNTS
    )


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


# --- webhooks ----------------------------------------------------------------------------------------


def _event_type_field():
    from webhooks.events import EVENT_TYPE_NAMES

    return serializers.ListField(child=serializers.ChoiceField(choices=sorted(EVENT_TYPE_NAMES)), max_length=50)


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    event_types = _event_type_field()


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(max_length=200, allow_blank=True, required=False)
    event_types = _event_type_field()
    event_types.required = False
    enabled = serializers.BooleanField(required=False)


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = _text()
    event_types = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = _text()
    disabled_at = serializers.DateTimeField(allow_null=True)
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, endpoint):
        return {
            "id": endpoint.pk,
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": list(endpoint.event_types),
            "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason,
            "disabled_at": _iso(endpoint.disabled_at),
            "failing_since": _iso(endpoint.failing_since),
            "created_at": _iso(endpoint.created_at),
        }


class EndpointWithSecretSerializer(EndpointSerializer):
    """The answer to creating an endpoint or rotating its secret: the signing secret with it."""

    secret = serializers.CharField()

    def to_representation(self, endpoint):
        return {**super().to_representation(endpoint), "secret": endpoint.secret}


class EndpointPageSerializer(serializers.Serializer):
    results = EndpointSerializer(many=True)
    next = serializers.URLField(allow_null=True)
    next_cursor = serializers.CharField(allow_null=True)


class AttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = _text()
    duration_ms = serializers.IntegerField()
    response_excerpt = _text()
    succeeded = serializers.BooleanField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    state = serializers.CharField()
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_attempt = AttemptSerializer(allow_null=True)

    def to_representation(self, delivery):
        attempt = delivery.attempts.order_by("-attempted_at", "-pk").first()
        return {
            "id": delivery.pk,
            "event_id": delivery.message.event_id,
            "event_type": delivery.message.event_type,
            "state": delivery.state,
            "attempt_count": delivery.attempt_count,
            "next_attempt_at": _iso(delivery.next_attempt_at),
            "created_at": _iso(delivery.created_at),
            "last_attempt": None
            if attempt is None
            else {
                "attempted_at": _iso(attempt.attempted_at),
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
                "response_excerpt": attempt.response_excerpt,
                "succeeded": attempt.succeeded,
            },
        }


class DeliveryPageSerializer(serializers.Serializer):
    results = DeliverySerializer(many=True)
    next = serializers.URLField(allow_null=True)
    next_cursor = serializers.CharField(allow_null=True)
