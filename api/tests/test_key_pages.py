"""The API keys page: an organization's admins create (shown once), list and revoke keys;
nobody else reaches it; both changes ask for a recent re-authentication."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from api.models import ApiKey
from audit.models import AuditEvent
from msp_portal.permissions import REAUTHENTICATED_AT_SESSION_KEY

from .conftest import ApiClient


def _create(client, **data):
    expires = (timezone.localdate() + dt.timedelta(days=90)).isoformat()
    return client.post(
        "/api-keys/new/", {"name": "請求システム", "scopes": ["customers:read"], "expires_on": expires, **data}
    )


def test_an_admin_creates_a_key_that_is_shown_once_and_works(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    response = _create(client)
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    key = ApiKey.objects.get()
    assert key.organization == msp_admin.organization and key.scopes == ["customers:read"]
    assert AuditEvent.objects.filter(action="api_key.create", actor=msp_admin).count() == 1
    listing = client.get("/api-keys/").content.decode()
    assert key.prefix in listing and secret not in listing
    assert ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/").status_code == 200


def test_the_default_expiry_is_90_days(client_for, msp_admin):
    form = client_for(msp_admin).get("/api-keys/new/").context["form"]
    assert form.fields["expires_on"].initial == timezone.localdate() + dt.timedelta(days=90)


@pytest.mark.parametrize(
    "data",
    [
        {"name": ""},
        {"name": "x" * 51},
        {"scopes": []},
        {"scopes": ["approvals:write"]},  # the operator's scope
        {"scopes": ["everything"]},
        {"expires_on": "2000-01-01"},
        {"expires_on": "not a date"},
    ],
)
def test_bad_input_creates_nothing(data, client_for, msp_admin):
    response = _create(client_for(msp_admin), **data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not ApiKey.objects.exists()


def test_a_key_is_valid_for_at_most_a_year(client_for, msp_admin):
    too_late = (timezone.localdate() + dt.timedelta(days=366)).isoformat()
    response = _create(client_for(msp_admin), expires_on=too_late)
    assert response.context["form"].errors["expires_on"]
    assert not ApiKey.objects.exists()


def test_the_operators_keys_may_carry_approvals(client_for, operator_user):
    response = _create(client_for(operator_user), scopes=["approvals:write", "customers:read"])
    assert response.status_code == 200 and "secret" in response.context
    assert ApiKey.objects.get().scopes == ["approvals:write", "customers:read"]


def test_an_admin_revokes_a_key(client_for, msp_admin, make_key, customer):
    key, secret = make_key(msp_admin)
    client = client_for(msp_admin)
    assert client.get(f"/api-keys/{key.prefix}/revoke/").status_code == 200
    response = client.post(f"/api-keys/{key.prefix}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked and key.revoked_by == msp_admin
    assert ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/").status_code == 401


@pytest.mark.parametrize("persona", ["msp_sales", "msp_billing", "msp_viewer", "support_user"])
def test_other_roles_cannot_reach_the_page(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    assert client.get("/api-keys/").status_code == 403
    assert _create(client).status_code == 403
    assert not ApiKey.objects.exists()


def test_another_organizations_key_is_not_found(client_for, msp_admin, other_msp_admin, make_key):
    key, _secret = make_key(other_msp_admin)
    client = client_for(msp_admin)
    assert client.get(f"/api-keys/{key.prefix}/revoke/").status_code == 404
    assert client.post(f"/api-keys/{key.prefix}/revoke/").status_code == 404
    key.refresh_from_db()
    assert not key.revoked
    assert key.prefix not in client.get("/api-keys/").content.decode()


def test_the_list_shows_the_last_use(client_for, msp_admin, make_key, customer):
    _key, secret = make_key(msp_admin)
    ApiClient(secret).get(f"/api/v1/customers/{customer.pk}/")
    html = client_for(msp_admin).get("/api-keys/").content.decode()
    assert "127.0.0.1" in html


def test_creating_and_revoking_ask_for_a_recent_check(client_for, msp_admin, make_key):
    key, _secret = make_key(msp_admin)
    client = client_for(msp_admin)
    session = client.session
    session[REAUTHENTICATED_AT_SESSION_KEY] = time.time() - 3600
    session.save()
    for response in (_create(client), client.post(f"/api-keys/{key.prefix}/revoke/")):
        assert response.status_code == 303
        assert response["Location"].startswith("/accounts/reauthenticate/")
    key.refresh_from_db()
    assert not key.revoked and ApiKey.objects.count() == 1


def test_the_menu_shows_the_page_to_admins_only(client_for, msp_admin, msp_viewer):
    assert 'href="/api-keys/"' in client_for(msp_admin).get("/dashboard/").content.decode()
    assert 'href="/api-keys/"' not in client_for(msp_viewer).get("/dashboard/").content.decode()
