"""Webhook delivery in the background. Tasks are thin: they take ids and call a service."""

from __future__ import annotations

from celery import shared_task

from msp_portal.context import acting

from .services import deliveries_retry_due, delivery_attempt


@shared_task(name="webhooks.tasks.send_delivery", acks_late=True, ignore_result=True)
def send_delivery(delivery_id: int, trigger: str = "") -> None:
    """The first attempt of a delivery (or a redelivery), enqueued after commit. A failure is
    recorded and rescheduled by the service; the scan below sends the retries."""
    with acting(channel="job"):
        delivery_attempt(delivery_id=delivery_id, trigger=trigger)


@shared_task(name="webhooks.tasks.retry_due_deliveries", acks_late=True, ignore_result=True)
def retry_due_deliveries() -> int:
    """Every minute from beat: send the deliveries whose next attempt is due."""
    with acting(channel="job"):
        return deliveries_retry_due()
