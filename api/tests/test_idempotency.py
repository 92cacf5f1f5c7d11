"""Idempotency-Key: the same key and request answer the first answer again and move points
once; the same key with another request is 422; point moves need a key."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from points.models import Transfer, TransferKind


def _add(api, customer, amount=100, key="order-1"):
    return api.post(
        f"/api/v1/customers/{customer.pk}/points/", {"operation": "add", "amount": amount}, **{"Idempotency-Key": key}
    )


def test_the_same_key_and_body_return_the_first_answer_and_move_points_once(msp_admin, customer, funded_pool, api_for):
    api = api_for(msp_admin)
    first = _add(api, customer)
    again = _add(api, customer)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    transfers = Transfer.objects.filter(kind=TransferKind.ALLOCATE, customer=customer)
    assert transfers.count() == 1
    assert transfers.get().idempotency_key.startswith("api:")


def test_the_same_key_with_another_body_is_422_and_moves_nothing(msp_admin, customer, funded_pool, api_for):
    api = api_for(msp_admin)
    assert _add(api, customer, 100).status_code == 200
    response = _add(api, customer, 200)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert Transfer.objects.filter(kind=TransferKind.ALLOCATE, customer=customer).count() == 1


def test_a_point_move_without_a_key_is_refused(msp_admin, customer, funded_pool, api_for):
    response = api_for(msp_admin).post(f"/api/v1/customers/{customer.pk}/points/", {"operation": "add", "amount": 1})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Transfer.objects.filter(kind=TransferKind.ALLOCATE).exists()


def test_keys_are_per_api_key(msp_admin, customer, funded_pool, api_for):
    """Two clients that happen to pick the same Idempotency-Key do not see each other's answers."""
    _add(api_for(msp_admin), customer)
    _add(api_for(msp_admin), customer)
    assert Transfer.objects.filter(kind=TransferKind.ALLOCATE, customer=customer).count() == 2


def test_a_refused_request_can_be_sent_again_with_its_key(msp_admin, customer, api_for, msp_org):
    """A pool too small: refused, nothing kept; after a purchase the same key goes through."""
    from points.services import points_purchase

    api = api_for(msp_admin)
    assert _add(api, customer, 100).status_code == 409
    points_purchase(actor=None, organization=msp_org, amount=100, order_reference="PO", idempotency_key="later")
    assert _add(api, customer, 100).status_code == 200


def test_a_replenish_is_idempotent(msp_admin, msp_org, funded_pool, api_for):
    from customers.tests.factories import CustomerAccountFactory

    short = CustomerAccountFactory(organization=msp_org, estimated_balance=-30)
    api = api_for(msp_admin)
    body = {"customer_ids": [short.pk]}
    first = api.post("/api/v1/points/replenish/", body, **{"Idempotency-Key": "batch-1"})
    again = api.post("/api/v1/points/replenish/", body, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == 200, first.content
    assert first.json()["total"] == 30 and again.json() == first.json()
    assert Transfer.objects.filter(customer=short).count() == 1


def test_registration_with_a_key_registers_once(msp_admin, api_for):
    api = api_for(msp_admin)
    body = {
        "account_code": "once-only",
        "company_name": "一度",
        "email_domain": "once.example.jp",
        "contracted_users": 3,
    }
    first = api.post("/api/v1/customers/", body, **{"Idempotency-Key": "reg"})
    again = api.post("/api/v1/customers/", body, **{"Idempotency-Key": "reg"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_20_times_in_parallel_moves_points_once(live_server, msp_admin, msp_org, make_key):
    """Twenty concurrent requests through the threaded live server against PostgreSQL's locks."""
    import urllib.request

    from customers.tests.factories import CustomerAccountFactory
    from points.services import points_purchase

    points_purchase(actor=None, organization=msp_org, amount=10_000, order_reference="PO", idempotency_key="fund")
    customer = CustomerAccountFactory(organization=msp_org)
    _key, secret = make_key(msp_admin)
    url = f"{live_server.url}/api/v1/customers/{customer.pk}/points/"
    body = json.dumps({"operation": "add", "amount": 250}).encode()

    def send(_n):
        request = urllib.request.Request(  # noqa: S310 (the live server's http URL)
            url,
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {secret}",
                "Content-Type": "application/json",
                "Idempotency-Key": "parallel-1",
            },
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(send, range(20)))
    assert {status for status, _body in answers} == {200}
    assert len({body["transfer_id"] for _status, body in answers}) == 1
    assert Transfer.objects.filter(kind=TransferKind.ALLOCATE, customer=customer).count() == 1
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == 250
