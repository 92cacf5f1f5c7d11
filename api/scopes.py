"""What an API key may do: its scopes, and which operation each one opens (DESIGN.md §13).

A key acts as its organization with the intersection of its scopes and its creator's role: an
operation needs its scope on the key *and* its capability in the creator's role
(msp_portal/permissions.py), checked on every request, so a creator who loses a role takes the
key's power with them. Each API view names its `Operation`; OPERATIONS lists them all, so the
tests and the documentation enumerate the same table. A new endpoint (webhooks) adds its scope
use here and nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from msp_portal.permissions import Cap, OrganizationKind


class Scope(models.TextChoices):
    CUSTOMERS_READ = "customers:read", _("Read customer accounts, points and jobs")
    CUSTOMERS_WRITE = "customers:write", _("Register and edit customer accounts")
    POINTS_WRITE = "points:write", _("Change and replenish points")
    CANCELLATIONS_WRITE = "cancellations:write", _("Cancel customer accounts and schedule cancellations")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Manage webhook endpoints")
    APPROVALS_WRITE = "approvals:write", _("Approve, return and provision applications (operator)")


# Scopes only a key of the operator may carry.
OPERATOR_ONLY_SCOPES = frozenset({Scope.APPROVALS_WRITE})


def scopes_for(organization) -> list[Scope]:
    """The scopes a key of `organization` may be given."""
    operator = organization is not None and organization.kind == OrganizationKind.OPERATOR
    return [scope for scope in Scope if operator or scope not in OPERATOR_ONLY_SCOPES]


@dataclass(frozen=True)
class Operation:
    """One thing the API does: its name (the OpenAPI operationId), the scope the key needs and
    the capability the key's creator's role needs."""

    name: str
    scope: Scope
    cap: Cap


def _op(name: str, scope: Scope, cap: Cap) -> Operation:
    operation = Operation(name, scope, cap)
    OPERATIONS[name] = operation
    return operation


OPERATIONS: dict[str, Operation] = {}

CUSTOMERS_LIST = _op("customers_list", Scope.CUSTOMERS_READ, Cap.CUSTOMERS_VIEW)
CUSTOMERS_RETRIEVE = _op("customers_retrieve", Scope.CUSTOMERS_READ, Cap.CUSTOMERS_VIEW)
CUSTOMERS_REGISTER = _op("customers_register", Scope.CUSTOMERS_WRITE, Cap.CUSTOMERS_REGISTER)
CUSTOMERS_UPDATE = _op("customers_update", Scope.CUSTOMERS_WRITE, Cap.CUSTOMERS_EDIT)
CUSTOMERS_CONTRACT = _op("customers_contract", Scope.CUSTOMERS_WRITE, Cap.CUSTOMERS_CONTRACT)
CANCELLATION_SCHEDULE = _op("customers_cancellation_schedule", Scope.CANCELLATIONS_WRITE, Cap.CUSTOMERS_CANCEL)
CANCELLATION_CLEAR = _op("customers_cancellation_clear", Scope.CANCELLATIONS_WRITE, Cap.CUSTOMERS_CANCEL)
CUSTOMERS_CANCEL = _op("customers_cancel", Scope.CANCELLATIONS_WRITE, Cap.CUSTOMERS_CANCEL)
POINTS_CHANGE = _op("customers_points_change", Scope.POINTS_WRITE, Cap.POINTS_CHANGE)
POINTS_LEDGER = _op("customers_ledger", Scope.CUSTOMERS_READ, Cap.POINTS_VIEW)
POINTS_REPLENISH = _op("points_replenish", Scope.POINTS_WRITE, Cap.POINTS_REPLENISH)
POOL_RETRIEVE = _op("points_pool", Scope.CUSTOMERS_READ, Cap.POINTS_VIEW)
POOL_HISTORY = _op("points_pool_history", Scope.CUSTOMERS_READ, Cap.POINTS_VIEW)
APPROVALS_LIST = _op("approvals_list", Scope.CUSTOMERS_READ, Cap.CUSTOMERS_VIEW)
APPROVALS_APPROVE = _op("approvals_approve", Scope.APPROVALS_WRITE, Cap.CUSTOMERS_APPROVE)
APPROVALS_REJECT = _op("approvals_reject", Scope.APPROVALS_WRITE, Cap.CUSTOMERS_APPROVE)
APPROVALS_RETRY = _op("approvals_retry_provisioning", Scope.APPROVALS_WRITE, Cap.CUSTOMERS_PROVISION)
JOB_RUNS_LIST = _op("job_runs_list", Scope.CUSTOMERS_READ, Cap.JOBS_VIEW)
JOB_RUNS_RETRIEVE = _op("job_runs_retrieve", Scope.CUSTOMERS_READ, Cap.JOBS_VIEW)
# Webhooks (webhooks/services.py): an organization's endpoints and their deliveries.
WEBHOOKS_LIST = _op("webhooks_endpoints_list", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
WEBHOOKS_CREATE = _op("webhooks_endpoints_create", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
WEBHOOKS_RETRIEVE = _op("webhooks_endpoints_retrieve", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
WEBHOOKS_UPDATE = _op("webhooks_endpoints_update", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
WEBHOOKS_DELETE = _op("webhooks_endpoints_delete", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
WEBHOOKS_ROTATE = _op("webhooks_endpoints_rotate_secret", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
WEBHOOKS_DELIVERIES = _op("webhooks_deliveries_list", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
WEBHOOKS_REDELIVER = _op("webhooks_deliveries_redeliver", Scope.WEBHOOKS_MANAGE, Cap.WEBHOOKS_MANAGE)
