"""Webhooks (DESIGN.md §13): an organization's endpoints, the events published to them, and every
attempt to deliver each event to each endpoint.

A message is one event (`msg_…`, the Standard Webhooks `webhook-id`), written in the transaction
of the change it reports; a delivery is that message for one subscribed endpoint, with its state
and the time of its next attempt; an attempt is one HTTP request and what came back. Nothing is
deleted when an endpoint is: it is only marked deleted, so its delivery log stays readable in the
audit trail's terms.
"""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User

# The Standard Webhooks secret form: "whsec_" and the base64 of 24 random bytes (192 bits; the
# spec asks for 24 to 64).
SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix of every secret, not a secret)
SECRET_BYTES = 24
# How much of a receiver's answer an attempt keeps.
RESPONSE_EXCERPT_BYTES = 1024


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


class DisabledReason(models.TextChoices):
    MANUAL = "manual", _("Disabled by an administrator")
    FAILING = "failing", _("Disabled after failing continuously")


class Endpoint(models.Model):
    """Where an organization wants its events sent (HTTPS outside DEBUG), which event types, and
    the secret that signs them."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list)
    secret = models.CharField(max_length=100, default=new_secret)
    # After a rotation the old secret signs too, for a day, so receivers can switch over.
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(
        _("reason disabled"), max_length=10, choices=DisabledReason.choices, blank=True, default=""
    )
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    # The first failed attempt since the last success; cleared by a success. Three days of
    # failures in a row disable the endpoint.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # publish(): the live endpoints of an organization, one query per event.
            models.Index(
                fields=["organization"], name="webhooks_endpoint_live_org", condition=Q(deleted_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now) -> list[str]:
        secrets_ = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            secrets_.append(self.previous_secret)
        return secrets_

    def receives(self, event_type: str) -> bool:
        return event_type in self.event_types


class Message(models.Model):
    """One event as its receivers get it: `webhook-id` (`msg_…`), type, payload, time."""

    event_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    event_type = models.CharField(_("event type"), max_length=60)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    payload = models.JSONField()
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """A message for one endpoint: pending until a 2xx answer (succeeded) or the last attempt of
    the schedule (failed). `next_attempt_at` is when the due-retry scan picks it up."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deliveries")
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="deliveries")
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempt_count = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["endpoint", "message"], name="webhooks_delivery_once")]
        indexes = [
            # The delivery page: an endpoint's deliveries, newest first.
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhooks_delivery_page"),
            # The due-retry scan: pending deliveries by next attempt time, only those.
            models.Index(
                fields=["next_attempt_at"],
                name="webhooks_delivery_due",
                condition=Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message.event_id} → {self.endpoint_id}"


class Attempt(models.Model):
    """One HTTP request of a delivery and what came back (status or error, time taken, the
    answer's first kilobyte)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.PROTECT, related_name="attempts")
    attempted_at = models.DateTimeField(_("time"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    response_excerpt = models.TextField(_("response"), blank=True)
    succeeded = models.BooleanField(default=False)
    # Who asked for it: blank for the schedule, "redeliver" or "test" for a person's request.
    trigger = models.CharField(max_length=10, blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivery", "-attempted_at"], name="webhooks_attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status_code or self.error}"
