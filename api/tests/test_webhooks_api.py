"""The webhooks:manage operations: the same services as the webhooks pages (their checks,
audit and secret), scoped to the key's organization."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from webhooks.models import Delivery, DeliveryState, Endpoint, Message

from .test_scopes import webhook_objects

BASE = "/api/v1/webhooks/endpoints/"


@pytest.fixture
def api(api_for, msp_admin):
    return api_for(msp_admin, ["webhooks:manage"])


def test_an_endpoint_is_registered_listed_changed_and_deleted(api, msp_admin):
    created = api.post(BASE, {"url": "https://psa.example.com/hooks", "event_types": ["customer.approved"]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    endpoint = Endpoint.objects.get(pk=body["id"])
    assert endpoint.organization == msp_admin.organization and endpoint.secret == body["secret"]
    # Reads never carry the secret.
    listed = api.get(BASE).json()
    assert [row["id"] for row in listed["results"]] == [endpoint.pk]
    assert "secret" not in listed["results"][0] and "secret" not in api.get(f"{BASE}{endpoint.pk}/").json()

    changed = api.call(
        "PATCH", f"{BASE}{endpoint.pk}/", {"event_types": ["customer.approved", "points.changed"], "enabled": False}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["event_types"] == ["customer.approved", "points.changed"]
    assert changed.json()["enabled"] is False
    rotated = api.post(f"{BASE}{endpoint.pk}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] not in ("", body["secret"])

    assert api.call("DELETE", f"{BASE}{endpoint.pk}/").status_code == 204
    assert api.get(f"{BASE}{endpoint.pk}/").status_code == 404
    events = AuditEvent.objects.filter(object_type="webhooks.Endpoint", object_id=str(endpoint.pk))
    assert {event.channel for event in events} == {"api"}
    assert set(events.values_list("action", flat=True)) >= {
        "webhook_endpoint.create",
        "webhook_endpoint.update",
        "webhook_endpoint.disable",
        "webhook_endpoint.rotate_secret",
        "webhook_endpoint.delete",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://psa.example.com/hooks", "event_types": ["customer.approved"]},
        {"url": "https://10.0.0.5/hooks", "event_types": ["customer.approved"]},
        {"url": "https://psa.example.com/hooks", "event_types": []},
        {"url": "https://psa.example.com/hooks", "event_types": ["customer.exploded"]},
        {"event_types": ["customer.approved"]},
    ],
)
def test_a_bad_endpoint_is_refused_with_a_problem_and_nothing_is_saved(api, body):
    response = api.post(BASE, body, **{"Accept-Language": "ja"})
    assert response.status_code in (400, 409, 422)
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["detail"]
    assert not Endpoint.objects.exists()


def test_another_msps_endpoint_and_delivery_are_not_found(api, other_msp_admin):
    ids = webhook_objects(other_msp_admin)
    for method, url in [
        ("GET", f"{BASE}{ids['w']}/"),
        ("PATCH", f"{BASE}{ids['w']}/"),
        ("DELETE", f"{BASE}{ids['w']}/"),
        ("POST", f"{BASE}{ids['w']}/rotate-secret/"),
        ("GET", f"{BASE}{ids['w']}/deliveries/"),
        ("POST", f"{BASE}{ids['w']}/deliveries/{ids['d']}/redeliver/"),
    ]:
        response = api.call(method, url, {} if method in ("POST", "PATCH") else None)
        assert response.status_code == 404, (method, url, response.status_code)
    assert Endpoint.objects.filter(deleted_at__isnull=True).count() == 2
    assert not AuditEvent.objects.filter(channel="api").exists()


def test_the_deliveries_page_by_cursor_and_a_redelivery_queues_the_message_again(api, msp_admin):
    ids = webhook_objects(msp_admin)
    endpoint = Endpoint.objects.get(pk=ids["w"])
    for number in range(4):
        message = Message.objects.create(
            event_type="customer.approved", organization=msp_admin.organization, payload={"n": number}
        )
        Delivery.objects.create(endpoint=endpoint, message=message, state=DeliveryState.SUCCEEDED, attempt_count=1)
    seen, url = [], f"{BASE}{endpoint.pk}/deliveries/?page_size=2"
    while url:
        page = api.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(Delivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 5

    redelivered = api.post(f"{BASE}{endpoint.pk}/deliveries/{ids['d']}/redeliver/")
    assert redelivered.status_code == 200, redelivered.content
    assert redelivered.json()["state"] == DeliveryState.PENDING
    assert AuditEvent.objects.filter(action="webhook_delivery.redeliver", channel="api").count() == 1


def test_a_key_without_the_scope_or_a_creator_without_the_role_cannot_manage(api_for, msp_admin, msp_sales):
    reader = api_for(msp_admin, ["customers:read"])
    assert reader.get(BASE).status_code == 403
    # Sales staff have no webhooks.manage capability: their key cannot exceed their role.
    sales = api_for(msp_sales, ["webhooks:manage"])
    refused = sales.post(BASE, {"url": "https://psa.example.com/h", "event_types": ["customer.approved"]})
    assert refused.status_code == 403
    assert not Endpoint.objects.exists()
