import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from api.services import api_key_create
from customers.tests.factories import CustomerAccountFactory

ALL_MSP_SCOPES = ["customers:read", "customers:write", "points:write", "cancellations:write", "webhooks:manage"]


class ApiClient:
    """A client of the API with one key: JSON in, the response out."""

    def __init__(self, secret: str, **headers):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}", **headers}

    def call(self, method: str, url: str, body=None, **headers):
        kwargs = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method.lower())(url, **kwargs)

    def get(self, url, **headers):
        return self.call("GET", url, **headers)

    def post(self, url, body=None, **headers):
        return self.call("POST", url, body if body is not None else {}, **headers)


@pytest.fixture
def make_key(db):
    def make(user, scopes=ALL_MSP_SCOPES, *, days: int = 90, name: str = "test key"):
        return api_key_create(
            actor=user, name=name, scopes=scopes, expires_on=timezone.localdate() + dt.timedelta(days=days)
        )

    return make


@pytest.fixture
def api_for(make_key):
    """An API client with a key of `user` carrying `scopes`."""

    def make(user, scopes=ALL_MSP_SCOPES, **headers):
        _key, secret = make_key(user, scopes)
        return ApiClient(secret, **headers)

    return make


@pytest.fixture
def funded_pool(msp_org):
    from points.services import points_purchase

    points_purchase(actor=None, organization=msp_org, amount=10_000, order_reference="PO-1", idempotency_key="fund")
    return msp_org


@pytest.fixture
def customer(msp_org):
    return CustomerAccountFactory(organization=msp_org, company_name="株式会社サンプル", contracted_users=20)
