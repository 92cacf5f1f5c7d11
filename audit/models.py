"""Append-only audit trail (DESIGN.md §10). Rows are only ever inserted."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only.")

    def delete(self):
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept as text too, so the trail reads the same if the user is renamed.
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    organization = models.ForeignKey(
        "accounts.Organization",
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    # The customer account the event concerns, so a customer's trail is one indexed query.
    customer = models.ForeignKey(
        "customers.CustomerAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, default="web")
    acting_as_customer = models.ForeignKey(
        "customers.CustomerAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_time"),
            models.Index(fields=["customer", "-created_at"], name="audit_customer_time"),
            models.Index(fields=["actor_label", "-created_at"], name="audit_actor_time"),
            # The object-id filter (the operator's, and an MSP's inside its own events).
            models.Index(fields=["object_id", "-created_at"], name="audit_object_time"),
            # An MSP's events filtered by the beginning of the action: a prefix range inside the
            # organization (pattern operators, so that LIKE 'prefix%' is served under any collation).
            models.Index(
                fields=["organization", "action", "-created_at"],
                name="audit_org_action_time",
                opclasses=["int8_ops", "varchar_pattern_ops", "timestamptz_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only.")
