"""Each scope opens exactly its operations; a key never does more than its creator's role."""

from __future__ import annotations

import pytest

from api.scopes import OPERATIONS, Scope
from audit.models import AuditEvent
from billing_jobs.models import JobRun
from customers.tests.factories import CustomerAccountFactory

from .conftest import ApiClient

# One call per operation (method, URL, body); {c} is an active customer, {p} a pending one.
CALLS = {
    "customers_list": ("GET", "/api/v1/customers/", None),
    "customers_retrieve": ("GET", "/api/v1/customers/{c}/", None),
    "customers_register": (
        "POST",
        "/api/v1/customers/",
        {"account_code": "new-one", "company_name": "新規", "email_domain": "new.example.jp", "contracted_users": 5},
    ),
    "customers_update": ("PATCH", "/api/v1/customers/{c}/", {"company_name": "変更後"}),
    "customers_contract": ("POST", "/api/v1/customers/{c}/contract/", {"contracted_users": 30}),
    "customers_cancellation_schedule": (
        "POST",
        "/api/v1/customers/{c}/cancellation/",
        {"cancellation_date": "2999-01-31", "agree": True},
    ),
    "customers_cancellation_clear": ("DELETE", "/api/v1/customers/{c}/cancellation/", None),
    "customers_cancel": ("POST", "/api/v1/customers/{c}/cancel/", {"agree": True}),
    "customers_points_change": ("POST", "/api/v1/customers/{c}/points/", {"operation": "add", "amount": 5}),
    "customers_ledger": ("GET", "/api/v1/customers/{c}/ledger/", None),
    "points_replenish": ("POST", "/api/v1/points/replenish/", {"customer_ids": ["{c}"]}),
    "points_pool": ("GET", "/api/v1/points/pools/", None),
    "points_pool_history": ("GET", "/api/v1/points/pools/{o}/history/", None),
    "approvals_list": ("GET", "/api/v1/approvals/", None),
    "approvals_approve": ("POST", "/api/v1/approvals/{p}/approve/", None),
    "approvals_reject": ("POST", "/api/v1/approvals/{p}/reject/", {"reason": "不備があります"}),
    "approvals_retry_provisioning": ("POST", "/api/v1/approvals/{p}/retry-provisioning/", None),
    "job_runs_list": ("GET", "/api/v1/job-runs/", None),
    "job_runs_retrieve": ("GET", "/api/v1/job-runs/{j}/", None),
    "webhooks_endpoints_list": ("GET", "/api/v1/webhooks/endpoints/", None),
    "webhooks_endpoints_create": (
        "POST",
        "/api/v1/webhooks/endpoints/",
        {"url": "https://hooks.example.com/new", "event_types": ["customer.registered"]},
    ),
    "webhooks_endpoints_retrieve": ("GET", "/api/v1/webhooks/endpoints/{w}/", None),
    "webhooks_endpoints_update": ("PATCH", "/api/v1/webhooks/endpoints/{w}/", {"description": "PSA"}),
    "webhooks_endpoints_delete": ("DELETE", "/api/v1/webhooks/endpoints/{x}/", None),
    "webhooks_endpoints_rotate_secret": ("POST", "/api/v1/webhooks/endpoints/{w}/rotate-secret/", None),
    "webhooks_deliveries_list": ("GET", "/api/v1/webhooks/endpoints/{w}/deliveries/", None),
    "webhooks_deliveries_redeliver": ("POST", "/api/v1/webhooks/endpoints/{w}/deliveries/{d}/redeliver/", None),
}


def test_the_table_covers_every_operation_of_the_api():
    assert set(CALLS) == set(OPERATIONS)


def _call(api: ApiClient, name: str, ids: dict, key: str):
    method, url, body = CALLS[name]
    url = url.format(**ids)
    if isinstance(body, dict) and "customer_ids" in body:
        body = {"customer_ids": [ids["c"]]}
    return api.call(
        method, url, body if body is not None else ({} if method == "POST" else None), **{"Idempotency-Key": key}
    )


def webhook_objects(admin) -> dict:
    """An endpoint of the admin's organization with one delivery, and another to delete."""
    from webhooks.models import Delivery, Message
    from webhooks.services import endpoint_create

    endpoint = endpoint_create(actor=admin, url="https://hooks.example.com/portal", event_types=["customer.approved"])
    spare = endpoint_create(actor=admin, url="https://hooks.example.com/spare", event_types=["customer.approved"])
    message = Message.objects.create(
        event_type="customer.approved", organization=admin.organization, payload={"type": "customer.approved"}
    )
    delivery = Delivery.objects.create(endpoint=endpoint, message=message, state="failed", attempt_count=8)
    return {"w": endpoint.pk, "x": spare.pk, "d": delivery.pk}


@pytest.fixture
def objects(msp_org, msp_admin, funded_pool):
    active = CustomerAccountFactory(organization=msp_org, status="active")
    pending = CustomerAccountFactory(organization=msp_org, status="pending_approval")
    run = JobRun.objects.create(kind="daily", run_date="2026-11-25")
    return {"c": active.pk, "p": pending.pk, "o": msp_org.pk, "j": run.pk, **webhook_objects(msp_admin)}


@pytest.mark.parametrize("scope", Scope.values)
def test_each_scope_allows_exactly_its_operations(scope, operator_user, objects, make_key):
    """The operator's admin has every capability: what the key may do is its scope alone."""
    _key, secret = make_key(operator_user, [scope])
    api = ApiClient(secret)
    problems = []
    for index, (name, operation) in enumerate(OPERATIONS.items()):
        before = AuditEvent.objects.count()
        response = _call(api, name, objects, f"scope-{scope}-{index}")
        if operation.scope == scope:
            if response.status_code in (401, 403) or response.status_code >= 500:
                problems.append(f"{name} with {scope}: {response.status_code} {response.content[:200]}")
        else:
            if response.status_code != 403:
                problems.append(f"{name} without its scope ({operation.scope}): {response.status_code}")
            if AuditEvent.objects.count() != before:
                problems.append(f"{name} without its scope changed something")
    assert not problems, "\n".join(problems)


def test_a_read_only_key_cannot_write(msp_admin, objects, make_key):
    _key, secret = make_key(msp_admin, ["customers:read"])
    api = ApiClient(secret)
    for index, (name, _operation) in enumerate(OPERATIONS.items()):
        method = CALLS[name][0]
        before = AuditEvent.objects.count()
        response = _call(api, name, objects, f"read-only-{index}")
        if method == "GET":
            continue
        assert response.status_code == 403, (name, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
        assert AuditEvent.objects.count() == before


def test_a_key_does_no_more_than_its_creators_role(msp_admin, objects, make_key):
    """A key with every scope whose creator is now read-only: reads pass, writes are refused."""
    _key, secret = make_key(msp_admin)
    msp_admin.membership.role = "viewer"
    msp_admin.membership.save()
    api = ApiClient(secret)
    assert api.get(f"/api/v1/customers/{objects['c']}/").status_code == 200
    response = api.post(f"/api/v1/customers/{objects['c']}/contract/", {"contracted_users": 31})
    assert response.status_code == 403


def test_an_msp_key_cannot_carry_the_operators_scope(msp_admin, make_key):
    from msp_portal.errors import DomainError

    with pytest.raises(DomainError):
        make_key(msp_admin, ["approvals:write"])


def test_an_msp_admins_key_with_every_scope_cannot_approve(msp_admin, objects, make_key):
    _key, secret = make_key(msp_admin)
    response = ApiClient(secret).post(f"/api/v1/approvals/{objects['p']}/approve/")
    assert response.status_code == 403
