"""Authentication and tenant scope: invalid, expired and revoked keys answer 401; another MSP's
objects 404; answers are problem details in the request's language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from api.models import ApiKey
from api.services import api_key_revoke
from audit.models import AuditEvent
from customers.tests.factories import CustomerAccountFactory

from .conftest import ApiClient


def test_a_call_without_a_key_is_401(db, customer):
    response = ApiClient("x").client.get(f"/api/v1/customers/{customer.pk}/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("secret", ["garbage", "abc.def", "Bearer", "x" * 300])
def test_a_forged_key_is_401(secret, customer):
    assert ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/").status_code == 401


def test_a_key_with_a_wrong_secret_is_401(msp_admin, customer, make_key):
    key, secret = make_key(msp_admin)
    assert ApiClient(f"{key.prefix}.wrong-secret").get(f"/api/v1/customers/{customer.pk}/").status_code == 401
    assert ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/").status_code == 200


def test_an_expired_key_is_401(msp_admin, customer, make_key, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC), tick=False)
    _key, secret = make_key(msp_admin, days=1)
    api = ApiClient(secret)
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 200
    time_machine.move_to(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC), tick=False)
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 401


def test_a_revoked_key_is_401(msp_admin, customer, make_key):
    key, secret = make_key(msp_admin)
    api = ApiClient(secret)
    assert api.get(f"/api/v1/customers/{customer.pk}/").status_code == 200
    api_key_revoke(actor=msp_admin, api_key=key)
    response = api.get(f"/api/v1/customers/{customer.pk}/")
    assert response.status_code == 401
    assert AuditEvent.objects.filter(action="api_key.revoke", after__prefix=key.prefix).exists()


def test_a_key_whose_creator_is_deactivated_is_401(msp_admin, customer, make_key):
    _key, secret = make_key(msp_admin)
    msp_admin.is_active = False
    msp_admin.save()
    assert ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/").status_code == 401


def test_the_secret_is_stored_only_as_a_hash(msp_admin, make_key):
    key, secret = make_key(msp_admin)
    stored = ApiKey.objects.get(pk=key.pk)
    assert secret not in stored.hashed_key and secret not in stored.pk
    assert stored.hashed_key.startswith("sha512$$")


def test_use_records_the_last_time_and_address(msp_admin, customer, make_key):
    key, secret = make_key(msp_admin)
    ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/")
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_ip == "127.0.0.1"


OTHER_MSP_CALLS = [
    ("GET", "/api/v1/customers/{c}/", None),
    ("PATCH", "/api/v1/customers/{c}/", {"company_name": "乗っ取り"}),
    ("POST", "/api/v1/customers/{c}/contract/", {"contracted_users": 99}),
    ("POST", "/api/v1/customers/{c}/cancel/", {"agree": True}),
    ("POST", "/api/v1/customers/{c}/cancellation/", {"cancellation_date": "2999-01-01", "agree": True}),
    ("POST", "/api/v1/customers/{c}/points/", {"operation": "add", "amount": 1}),
    ("GET", "/api/v1/customers/{c}/ledger/", None),
    ("POST", "/api/v1/points/replenish/", {"customer_ids": ["{c}"]}),
    ("GET", "/api/v1/points/pools/{o}/history/", None),
]


@pytest.mark.parametrize(("method", "url", "body"), OTHER_MSP_CALLS)
def test_another_msps_customer_is_not_found(method, url, body, msp_admin, other_msp_org, make_key):
    stranger = CustomerAccountFactory(organization=other_msp_org)
    _key, secret = make_key(msp_admin)
    if body and "customer_ids" in body:
        body = {"customer_ids": [stranger.pk]}
    before = AuditEvent.objects.count()
    response = ApiClient(secret).call(
        method, url.format(c=stranger.pk, o=other_msp_org.pk), body, **{"Idempotency-Key": "k"}
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert AuditEvent.objects.count() == before


def test_the_list_shows_only_the_keys_organizations_customers(msp_admin, customer, other_msp_org, api_for):
    CustomerAccountFactory(organization=other_msp_org)
    ids = [row["id"] for row in api_for(msp_admin).get("/api/v1/customers/").json()["results"]]
    assert ids == [customer.pk]


def test_errors_are_problem_details_with_field_errors_in_the_requests_language(msp_admin, api_for):
    body = {"account_code": "A", "company_name": "X", "email_domain": "x@example.jp", "contracted_users": 0}
    english = api_for(msp_admin, **{"Accept-Language": "en"}).post("/api/v1/customers/", body)
    japanese = api_for(msp_admin, **{"Accept-Language": "ja"}).post("/api/v1/customers/", body)
    assert english.status_code == japanese.status_code == 400
    assert english["Content-Type"] == "application/problem+json"
    problem = english.json()
    assert problem["status"] == 400 and problem["type"] == "about:blank"
    fields = {error["field"] for error in problem["errors"]}
    assert "contracted_users" in fields
    assert english["Content-Language"] == "en" and japanese["Content-Language"] == "ja"
    assert japanese.json()["title"] != problem["title"]


def test_a_business_rule_refusal_is_409_and_changes_nothing(msp_admin, customer, api_for):
    """The pool is empty: adding points is refused with the page's own message."""
    api = api_for(msp_admin, **{"Accept-Language": "en"})
    before = AuditEvent.objects.count()
    response = api.post(
        f"/api/v1/customers/{customer.pk}/points/", {"operation": "add", "amount": 10}, **{"Idempotency-Key": "a"}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["missing"] == 10 and "missing" in body["detail"]
    assert AuditEvent.objects.count() == before


def test_cancel_now_requires_agree_true(msp_admin, customer, api_for):
    api = api_for(msp_admin)
    response = api.post(f"/api/v1/customers/{customer.pk}/cancel/", {"agree": False})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "agree"
    customer.refresh_from_db()
    assert customer.status == "active"


def test_changes_are_audited_with_the_key_as_the_actor(msp_admin, customer, make_key):
    key, secret = make_key(msp_admin, name="請求システム")
    response = ApiClient(secret).post(f"/api/v1/customers/{customer.pk}/contract/", {"contracted_users": 25})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="customer.contract_change")
    assert event.channel == "api"
    assert event.actor_label == f"API key 請求システム ({key.prefix})"
    assert event.actor == msp_admin and event.organization == msp_admin.organization
    assert event.ip == "127.0.0.1"


def test_a_page_size_out_of_range_is_400(msp_admin, api_for):
    assert api_for(msp_admin).get("/api/v1/customers/?page_size=0").status_code == 400
    assert api_for(msp_admin).get("/api/v1/customers/?page_size=1001").status_code == 400


def test_an_unknown_sort_and_a_damaged_cursor_are_400(msp_admin, api_for):
    api = api_for(msp_admin)
    assert api.get("/api/v1/customers/?sort=password").status_code == 400
    assert api.get("/api/v1/customers/?cursor=abc").status_code == 400


def test_key_expiry_is_at_most_a_year(msp_admin):
    from api.services import api_key_create
    from msp_portal.errors import DomainError

    with pytest.raises(DomainError):
        api_key_create(
            actor=msp_admin,
            name="too long",
            scopes=["customers:read"],
            expires_on=timezone.localdate() + dt.timedelta(days=366),
        )
    assert not ApiKey.objects.exists()
