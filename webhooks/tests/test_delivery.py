"""Delivery end to end against a receiver on the loopback: signed per Standard Webhooks (the
receiver verifies with the standardwebhooks library), sent after commit, retried on the schedule
by the due-retry task, redelivered on request, and an endpoint failing for three days disabled
with an e-mail to its admins."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from audit.models import AuditEvent
from billing_jobs.tests.factories import active_customer, at
from customers.services import customer_change_contract
from webhooks import services
from webhooks.models import Attempt, Delivery, DeliveryState, DisabledReason, Endpoint, Message
from webhooks.tasks import retry_due_deliveries

pytestmark = pytest.mark.django_db

NOW = at(dt.date(2026, 11, 10), 12)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def customer(msp_org):
    return active_customer(msp_org, activated=NOW - dt.timedelta(days=30), users=20, account_code="acme-corp")


def change_users(actor, customer, users, capture):
    with capture(execute=True):
        customer_change_contract(actor=actor, customer=customer, contracted_users=users)


def test_the_receiver_verifies_the_signature_of_an_event_sent_after_commit(
    receiver, endpoint_for, msp_org, msp_admin, customer, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(msp_org, ["customer.contract_changed"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        customer_change_contract(actor=msp_admin, customer=customer, contracted_users=30)
    # Nothing is sent before the change commits.
    assert receiver.received == []
    for callback in callbacks:
        callback()
    [request] = receiver.received
    assert request.verified
    message = Message.objects.get()
    assert request.headers["webhook-id"] == message.event_id and message.event_id.startswith("msg_")
    assert request.headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.payload["type"] == "customer.contract_changed"
    data = request.payload["data"]
    assert data["customer"]["code"] == "acme-corp"
    assert data["customer"]["contracted_users"] == 30
    assert data["contracted_users"] == {"old": 20, "new": 30}
    assert endpoint.secret not in request.body.decode()
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempt_count, delivery.next_attempt_at) == (DeliveryState.SUCCEEDED, 1, None)
    attempt = Attempt.objects.get()
    assert (attempt.status_code, attempt.succeeded, attempt.response_excerpt) == (200, True, "ok")


def test_a_wrong_secret_fails_the_receivers_check(
    receiver, endpoint_for, msp_org, msp_admin, customer, django_capture_on_commit_callbacks
):
    endpoint_for(msp_org, ["customer.contract_changed"])
    receiver.secret = "whsec_" + "A" * 32
    change_users(msp_admin, customer, 30, django_capture_on_commit_callbacks)
    [request] = receiver.received
    assert not request.verified
    assert Attempt.objects.get().status_code == 400
    assert Delivery.objects.get().state == DeliveryState.PENDING


def test_a_failed_delivery_is_retried_by_the_due_retry_task_and_succeeds(
    receiver, endpoint_for, msp_org, msp_admin, customer, django_capture_on_commit_callbacks, _frozen
):
    endpoint = endpoint_for(msp_org, ["customer.contract_changed"])
    receiver.statuses = [503, 200]
    change_users(msp_admin, customer, 30, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.next_attempt_at == NOW + dt.timedelta(seconds=5)
    failed = Attempt.objects.get()
    assert failed.status_code == 503
    # The answer's excerpt is cut at one kilobyte.
    assert len(failed.response_excerpt) == 1024
    endpoint.refresh_from_db()
    assert endpoint.failing_since == NOW
    # Not due yet: the scan sends nothing.
    assert retry_due_deliveries() == 0
    _frozen.move_to(NOW + dt.timedelta(seconds=6))
    assert retry_due_deliveries() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == (DeliveryState.SUCCEEDED, 2)
    assert [request.verified for request in receiver.received] == [True, True]
    # The same message both times: the receiver can drop a duplicate by webhook-id.
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_the_schedule_ends_in_failure_within_a_day(receiver, endpoint_for, msp_org, msp_admin, customer, _frozen):
    endpoint_for(msp_org, ["customer.contract_changed"])
    receiver.statuses = [500]
    message = Message.objects.create(event_type="customer.contract_changed", organization=msp_org, payload={})
    delivery = Delivery.objects.create(endpoint=Endpoint.objects.get(), message=message, next_attempt_at=NOW)
    now = NOW
    while True:
        assert services.delivery_attempt(delivery_id=delivery.pk) is not None
        delivery.refresh_from_db()
        if delivery.state != DeliveryState.PENDING:
            break
        now = delivery.next_attempt_at
        _frozen.move_to(now)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempt_count == 8
    assert now - NOW < dt.timedelta(hours=24)


def test_a_redelivery_sends_the_same_message_again(
    receiver, endpoint_for, msp_org, msp_admin, customer, django_capture_on_commit_callbacks
):
    endpoint_for(msp_org, ["customer.contract_changed"])
    change_users(msp_admin, customer, 30, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_redeliver(actor=msp_admin, delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == (DeliveryState.SUCCEEDED, 2)
    assert len(receiver.verified()) == 2
    assert receiver.received[0].body == receiver.received[1].body
    assert AuditEvent.objects.filter(action="webhook_delivery.redeliver", actor=msp_admin).count() == 1
    assert list(Attempt.objects.order_by("pk").values_list("trigger", flat=True)) == ["", "redeliver"]


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_admins_are_told_each_in_their_language(
    receiver, endpoint_for, msp_org, msp_admin, english_admin, customer, django_capture_on_commit_callbacks, _frozen
):
    endpoint = endpoint_for(msp_org, ["customer.contract_changed"])
    receiver.statuses = [500]
    change_users(msp_admin, customer, 30, django_capture_on_commit_callbacks)
    _frozen.move_to(NOW + dt.timedelta(days=2, hours=23))
    change_users(msp_admin, customer, 31, django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert mail.outbox == []
    _frozen.move_to(NOW + dt.timedelta(days=3, minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        retry_due_deliveries()
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == DisabledReason.FAILING
    assert not Delivery.objects.filter(state=DeliveryState.PENDING).exists()
    assert AuditEvent.objects.filter(action="webhook_endpoint.disable", actor=None).count() == 1
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {msp_admin.email, english_admin.email}
    assert "無効" in by_address[msp_admin.email].subject
    assert "disabled" in by_address[english_admin.email].subject
    assert receiver.url in by_address[english_admin.email].body
    # A disabled endpoint receives nothing more.
    sent = len(receiver.received)
    change_users(msp_admin, customer, 32, django_capture_on_commit_callbacks)
    assert len(receiver.received) == sent


def test_a_test_event_reaches_the_endpoint_whatever_it_subscribes_to(
    receiver, endpoint_for, msp_org, msp_admin, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(msp_org, ["points.changed"])
    with django_capture_on_commit_callbacks(execute=True):
        services.endpoint_send_test(actor=msp_admin, endpoint=endpoint)
    [request] = receiver.verified()
    assert request.payload["type"] == "webhook.test"


def test_after_a_rotation_both_secrets_sign_for_a_day(
    receiver, endpoint_for, msp_org, msp_admin, django_capture_on_commit_callbacks, _frozen
):
    endpoint = endpoint_for(msp_org, ["points.changed"])
    old = endpoint.secret
    endpoint = services.endpoint_rotate_secret(actor=msp_admin, endpoint=endpoint)
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")
    receiver.secret = old
    with django_capture_on_commit_callbacks(execute=True):
        services.endpoint_send_test(actor=msp_admin, endpoint=endpoint)
    assert receiver.received[-1].verified
    assert len(receiver.received[-1].headers["webhook-signature"].split(" ")) == 2
    _frozen.move_to(NOW + dt.timedelta(hours=25))
    with django_capture_on_commit_callbacks(execute=True):
        services.endpoint_send_test(actor=msp_admin, endpoint=endpoint)
    assert not receiver.received[-1].verified
    receiver.secret = endpoint.secret
    with django_capture_on_commit_callbacks(execute=True):
        services.endpoint_send_test(actor=msp_admin, endpoint=endpoint)
    assert receiver.received[-1].verified
    rotation = AuditEvent.objects.get(action="webhook_endpoint.rotate_secret")
    assert old not in str(rotation.after) and endpoint.secret not in str(rotation.after)


def test_redirects_are_not_followed(settings, msp_org, msp_admin):
    """A 3xx is an answer like any other: recorded as a failure, its Location never requested."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    settings.PORTAL_WEBHOOK_ALLOW_LOCAL = True
    paths = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            paths.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = Endpoint.objects.create(
            organization=msp_org, url=f"http://127.0.0.1:{server.server_address[1]}/in", event_types=["points.changed"]
        )
        delivery = services.endpoint_send_test(actor=msp_admin, endpoint=endpoint)
        attempt = services.delivery_attempt(delivery_id=delivery.pk)
    finally:
        server.shutdown()
        server.server_close()
    assert paths == ["/in"]
    assert (attempt.status_code, attempt.succeeded) == (302, False)


def test_outside_debug_a_loopback_address_is_refused_at_send_time(settings, msp_org, msp_admin):
    settings.PORTAL_WEBHOOK_ALLOW_LOCAL = False
    endpoint = Endpoint.objects.create(
        organization=msp_org, url="https://127.0.0.1:9/in", event_types=["points.changed"]
    )
    delivery = services.endpoint_send_test(actor=msp_admin, endpoint=endpoint)
    attempt = services.delivery_attempt(delivery_id=delivery.pk)
    assert attempt.status_code is None
    assert "public address" in attempt.error or "公開" in attempt.error


def test_beat_runs_the_due_retry_scan_every_minute():
    from celery.schedules import crontab

    from msp_portal.celery import app

    entry = app.conf.beat_schedule["webhooks-retry-every-minute"]
    assert entry["task"] == retry_due_deliveries.name
    assert entry["schedule"] == crontab()
