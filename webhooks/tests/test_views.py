"""The webhook pages: they work, refuse the wrong method, check access (another MSP's endpoint
404, roles without webhooks.manage 403, nothing changed), ask for re-authentication before a
change, and answer bad input with a message."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from billing_jobs.tests.factories import at
from webhooks.models import Delivery, DeliveryState, Endpoint, Message

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 11, 10), 12)


@pytest.fixture(autouse=True)
def _frozen(settings):
    settings.PORTAL_WEBHOOK_ALLOW_LOCAL = False
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def endpoint(msp_org):
    return Endpoint.objects.create(
        organization=msp_org, url="https://hooks.example.com/in", event_types=["points.changed"]
    )


@pytest.fixture
def delivery(endpoint):
    message = Message.objects.create(
        event_type="points.changed", organization=endpoint.organization, payload={"type": "points.changed", "data": {}}
    )
    return Delivery.objects.create(endpoint=endpoint, message=message, state=DeliveryState.FAILED, attempt_count=8)


@pytest.fixture
def admin_client(client_for, msp_admin):
    return client_for(msp_admin)


VALID = {"url": "https://psa.example.com/hooks", "description": "PSA", "event_types": ["customer.registered"]}


def test_the_list_shows_the_organizations_endpoints_in_a_fixed_number_of_queries(admin_client, msp_org, other_msp_org):
    Endpoint.objects.create(
        organization=other_msp_org, url="https://other.example.com/", event_types=["points.changed"]
    )
    counts = []
    for total in (1, 4):
        while Endpoint.objects.filter(organization=msp_org).count() < total:
            Endpoint.objects.create(
                organization=msp_org, url=f"https://h{total}.example.com/", event_types=["points.changed"]
            )
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse("webhooks:endpoint_list"))
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert b"other.example.com" not in response.content


def test_an_admin_registers_an_endpoint_and_the_change_is_audited(admin_client, msp_org, msp_admin):
    response = admin_client.post(reverse("webhooks:endpoint_create"), VALID)
    endpoint = Endpoint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("webhooks:endpoint_detail", args=[endpoint.pk])
    assert (endpoint.organization, endpoint.url, endpoint.event_types) == (msp_org, VALID["url"], VALID["event_types"])
    assert endpoint.secret.startswith("whsec_")
    event = AuditEvent.objects.get(action="webhook_endpoint.create")
    assert (event.actor, event.organization) == (msp_admin, msp_org)
    assert endpoint.secret not in str(event.after)
    detail = admin_client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk]))
    assert endpoint.secret in detail.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**VALID, "url": "http://psa.example.com/hooks"}, "HTTPS"),
        ({**VALID, "url": "https://127.0.0.1/hooks"}, "公開アドレス"),
        ({**VALID, "url": "https://10.1.2.3/hooks"}, "公開アドレス"),
        ({**VALID, "url": "https://localhost/hooks"}, "公開アドレス"),
        ({**VALID, "url": "https://user:pw@psa.example.com/"}, "パスワード"),
        ({**VALID, "url": "javascript:alert(1)"}, "HTTPS"),
        ({**VALID, "url": ""}, "必須"),
        ({**VALID, "url": "https://psa.example.com/" + "a" * 600}, "500"),
        ({**VALID, "event_types": []}, "イベント種別を1つ以上"),
        ({**VALID, "event_types": ["customer.deleted"]}, "customer.deleted"),
        ({**VALID, "description": "x" * 201}, "200"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_registered(admin_client, data, message):
    response = admin_client.post(reverse("webhooks:endpoint_create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Endpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="webhook").exists()


def test_html_in_the_description_is_shown_as_text(admin_client):
    admin_client.post(reverse("webhooks:endpoint_create"), {**VALID, "description": "<script>alert(1)</script>"})
    response = admin_client.get(reverse("webhooks:endpoint_list"))
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;" in response.content


def test_the_checkboxes_are_labelled_in_japanese(admin_client):
    response = admin_client.get(reverse("webhooks:endpoint_create"))
    body = response.content.decode()
    assert 'value="customer.registered"' in body and "顧客アカウント登録" in body
    assert "月次課金処理の完了" in body


def test_an_admin_edits_rotates_disables_enables_and_deletes_an_endpoint(admin_client, endpoint):
    url = lambda name: reverse(f"webhooks:{name}", args=[endpoint.pk])  # noqa: E731
    response = admin_client.post(url("endpoint_edit"), {**VALID, "url": "https://new.example.com/in"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://new.example.com/in"
    old = endpoint.secret
    admin_client.post(url("endpoint_rotate_secret"))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    admin_client.post(url("endpoint_enable"))
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "manual")
    admin_client.post(url("endpoint_enable"))
    endpoint.refresh_from_db()
    assert endpoint.enabled
    admin_client.post(url("endpoint_delete"))
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is not None
    assert admin_client.get(url("endpoint_detail")).status_code == 404
    assert list(
        AuditEvent.objects.filter(action__startswith="webhook_endpoint.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "webhook_endpoint.update",
        "webhook_endpoint.rotate_secret",
        "webhook_endpoint.disable",
        "webhook_endpoint.enable",
        "webhook_endpoint.delete",
    ]


def test_the_delivery_page_shows_its_attempts_and_redeliver_queues_it_again(admin_client, endpoint, delivery):
    delivery.attempts.create(attempted_at=NOW, status_code=500, response_excerpt="upstream <b>down</b>")
    page = admin_client.get(reverse("webhooks:delivery_detail", args=[endpoint.pk, delivery.pk]))
    body = page.content.decode()
    assert "HTTP 500" in body and "upstream &lt;b&gt;down&lt;/b&gt;" in body
    assert delivery.message.event_id in body
    listing = admin_client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).content.decode()
    assert delivery.message.event_id in listing
    response = admin_client.post(reverse("webhooks:delivery_redeliver", args=[endpoint.pk, delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    # Sent after commit (not in this test's transaction): queued for now, so the scan sends it too.
    assert (delivery.state, delivery.next_attempt_at) == (DeliveryState.PENDING, NOW)
    assert AuditEvent.objects.filter(action="webhook_delivery.redeliver").count() == 1


def test_a_test_event_is_refused_on_a_disabled_endpoint(admin_client, endpoint):
    endpoint.enabled = False
    endpoint.save()
    response = admin_client.post(reverse("webhooks:endpoint_test", args=[endpoint.pk]))
    assert response.status_code == 200
    assert "有効にしてください" in response.content.decode()
    assert not Delivery.objects.exists()


def test_the_list_refuses_a_post(admin_client):
    assert admin_client.post(reverse("webhooks:endpoint_list")).status_code == 405
    assert admin_client.post(reverse("webhooks:endpoint_create").replace("new/", "")).status_code == 405


@pytest.mark.parametrize("persona", ["msp_sales", "msp_billing", "msp_viewer", "operator_viewer"])
def test_roles_without_webhooks_manage_are_refused_and_nothing_changes(request, client_for, persona, endpoint):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("webhooks:endpoint_list")).status_code == 403
    assert client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).status_code == 403
    assert client.post(reverse("webhooks:endpoint_delete", args=[endpoint.pk])).status_code == 403
    assert client.post(reverse("webhooks:endpoint_create"), VALID).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is None and Endpoint.objects.count() == 1


def test_another_msps_endpoint_is_not_found(client_for, other_msp_admin, endpoint, delivery):
    client = client_for(other_msp_admin)
    assert client.get(reverse("webhooks:endpoint_detail", args=[endpoint.pk])).status_code == 404
    assert client.post(reverse("webhooks:endpoint_edit", args=[endpoint.pk]), VALID).status_code == 404
    assert client.get(reverse("webhooks:delivery_detail", args=[endpoint.pk, delivery.pk])).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/in"


def test_a_delivery_of_another_endpoint_is_not_found_under_this_one(admin_client, endpoint, delivery, msp_org):
    other = Endpoint.objects.create(organization=msp_org, url="https://b.example.com/", event_types=["points.changed"])
    assert admin_client.get(reverse("webhooks:delivery_detail", args=[other.pk, delivery.pk])).status_code == 404


def test_the_privileged_msp_and_the_operator_see_the_childs_endpoint(client_for, pmsp_admin, operator_user, endpoint):
    for user in (pmsp_admin, operator_user):
        response = client_for(user).get(reverse("webhooks:endpoint_list"))
        assert endpoint.url in response.content.decode()


def test_a_change_asks_for_re_authentication_after_ten_minutes(admin_client, endpoint, _frozen):
    _frozen.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=django_settings.PORTAL_REAUTHENTICATION_SECONDS + 5))
    response = admin_client.post(reverse("webhooks:endpoint_delete", args=[endpoint.pk]))
    assert response.status_code == 303
    assert response["Location"].startswith(reverse("reauthenticate"))
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is None


def test_the_delivery_log_pages_by_keyset_and_shows_every_delivery_once(admin_client, endpoint, msp_org, _frozen):
    """Older pages follow the last row shown (ties in time broken by id), in the same number of
    queries as the first page."""
    ids = []
    for index in range(30):
        message = Message.objects.create(event_type="points.changed", organization=msp_org, payload={})
        # Pairs of deliveries share a time: the keyset must not skip or repeat either.
        created = NOW - dt.timedelta(minutes=index // 2)
        ids.append(Delivery.objects.create(endpoint=endpoint, message=message, created_at=created).pk)
    url = reverse("webhooks:endpoint_detail", args=[endpoint.pk])
    seen, counts, next_url = [], [], f"{url}?per_page=25"
    while next_url:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(next_url)
        counts.append(len(queries))
        table = response.context["table"]
        seen += [row.record.pk for row in table.rows]
        older = response.context["older"]
        next_url = f"{url}?per_page=25&before={older}" if older else None
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)) == 30
    assert len(counts) == 2 and counts[0] + 1 == counts[1]  # the second page looks its cursor up
    assert b"deliveries-newest" in response.content
    assert admin_client.get(f"{url}?before=junk").status_code == 200
