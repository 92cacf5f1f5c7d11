"""Background work for customer accounts. Tasks are thin: they take ids and call a service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from msp_portal.context import acting

from .provisioning import ProvisioningError
from .services import customer_provision, customer_provisioning_failed

# Seconds before retry n (0-based): 30 s, 1 min, 2 min ... capped at 30 min.
BACKOFF_BASE = 30
BACKOFF_MAX = 30 * 60


def backoff(retries: int) -> int:
    return min(BACKOFF_MAX, BACKOFF_BASE * 2**retries)


@shared_task(bind=True, name="accounts.tasks.provision_customer", acks_late=True, max_retries=None)
def provision_customer(self, customer_id: int) -> None:
    """Provision one customer account. A backend failure is recorded and retried with
    exponential backoff; after PORTAL_PROVISIONING_MAX_RETRIES retries the account becomes
    provisioning_failed for the operator to see and retry. Running twice is harmless: the
    service acts only on an account still in provisioning."""
    with acting(channel="job"):
        try:
            customer_provision(customer_id=customer_id)
        except ProvisioningError as exc:
            final = self.request.retries >= settings.PORTAL_PROVISIONING_MAX_RETRIES
            customer_provisioning_failed(customer_id=customer_id, error=str(exc), final=final)
            if final:
                return
            if self.request.is_eager:
                # Eager mode (tests, no broker): Celery re-raises Retry when eager exceptions
                # propagate, so the next attempt runs inline, as Celery's own eager retry would.
                self.apply(args=(customer_id,), retries=self.request.retries + 1)
                return
            raise self.retry(exc=exc, countdown=backoff(self.request.retries)) from exc
