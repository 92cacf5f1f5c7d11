"""The seed's flow through the API alone: an MSP registers a customer, the operator approves it
(provisioning runs), the MSP adds points and finally cancels it; every change audited as the
calling key."""

from __future__ import annotations

from audit.models import AuditEvent
from points.models import Transfer

from .conftest import ApiClient


def test_register_approve_add_points_and_cancel(
    msp_admin, operator_user, funded_pool, make_key, django_capture_on_commit_callbacks
):
    msp_key, msp_secret = make_key(msp_admin, name="PSA")
    _operator_key, operator_secret = make_key(operator_user, ["customers:read", "approvals:write"], name="運営")
    msp, operator = ApiClient(msp_secret), ApiClient(operator_secret)

    registered = msp.post(
        "/api/v1/customers/",
        {
            "account_code": "seed-flow",
            "company_name": "株式会社シード",
            "email_domain": "ＳＥＥＤ.example.jp",  # full-width, folded as the popup folds it
            "contracted_users": 15,
            "contact_name": "担当 太郎",
            "contact_email": "taro@seed.example.jp",
        },
        **{"Idempotency-Key": "register-seed-flow"},
    )
    assert registered.status_code == 201, registered.content
    customer = registered.json()
    assert (customer["status"], customer["email_domain"]) == ("pending_approval", "seed.example.jp")

    queue = operator.get("/api/v1/approvals/").json()["results"]
    assert [row["id"] for row in queue] == [customer["id"]]
    with django_capture_on_commit_callbacks(execute=True):
        approved = operator.post(f"/api/v1/approvals/{customer['id']}/approve/")
    assert approved.status_code == 200
    # Provisioning runs after the approval commits (the task eagerly here): the account is active.
    assert msp.get(f"/api/v1/customers/{customer['id']}/").json()["status"] == "active"

    added = msp.post(
        f"/api/v1/customers/{customer['id']}/points/",
        {"operation": "add", "amount": 500},
        **{"Idempotency-Key": "add-500"},
    )
    assert added.status_code == 200 and added.json()["customer"]["points_balance"] == 500

    cancelled = msp.post(f"/api/v1/customers/{customer['id']}/cancel/", {"agree": True})
    assert cancelled.status_code == 200
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["points_balance"] == 0
    assert Transfer.objects.filter(customer_id=customer["id"], kind="settlement_forfeit").count() == 1

    events = AuditEvent.objects.filter(customer_id=customer["id"], channel="api")
    assert {"customer.register", "customer.approve", "points.allocate", "customer.cancel"} <= set(
        events.values_list("action", flat=True)
    )
    assert events.filter(action="customer.register").get().actor_label == msp_key.label
