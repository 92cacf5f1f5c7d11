"""Concurrency on PostgreSQL: workers and the due-retry scan racing for one delivery send it once."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from webhooks import services
from webhooks.models import Attempt, Delivery, Message

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_workers_attempting_one_delivery_at_once_send_it_once(receiver, endpoint_for, msp_org):
    endpoint = endpoint_for(msp_org, ["points.changed"])
    message = Message.objects.create(event_type="points.changed", organization=msp_org, payload={"data": {}})
    delivery = Delivery.objects.create(endpoint=endpoint, message=message, next_attempt_at=timezone.now())
    barrier = threading.Barrier(8)
    results = []

    def worker():
        barrier.wait()
        try:
            results.append(services.delivery_attempt(delivery_id=delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert sum(result is not None for result in results) == 1
    assert len(receiver.verified()) == 1
    assert Attempt.objects.count() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempt_count) == ("succeeded", 1)
